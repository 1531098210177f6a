"""A full page of a topic stays light: under 60 KB with its CSS, no other host, and no
script but, for members, the site's own small reactions script (progressive enhancement:
the buttons are plain forms without it).

Measured in the browser, from an empty cache: every response the page caused
is collected and the sizes of their bodies summed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import log_in

BUDGET = 60 * 1024
POSTS = 20

# About what members write: a few sentences to a few paragraphs, some Markdown.
PARAGRAPH = (
    "I have been reading this board for a while before posting. Some days are "
    "easier than others, and it helps to know that other people get the same "
    "*heavy, foggy* mornings. What has worked for me is keeping the first hour "
    "simple: tea, a few minutes by the window, no phone. "
)


def post_body(number: int) -> str:
    paragraphs = [PARAGRAPH] * (1 + number % 3)
    return f"Post {number}. **Thank you** for sharing.\n\n" + "\n\n".join(paragraphs)


@pytest.mark.browser
@pytest.mark.parametrize("as_member", [False, True], ids=["visitor", "member"])
def test_topic_page_with_twenty_posts_is_light(as_member, live_server, make, browse, new_context):
    board = make.board("general", "General")
    members = [make.user(f"member_{n}") for n in range(4)]
    topic = make.topic(members[0], board, "Small things that make mornings easier", post_body(0))
    for number in range(1, POSTS):
        make.reply(members[number % len(members)], topic, post_body(number))

    if as_member:
        # Log in in one context, then measure in a fresh one with only its cookies,
        # so the stylesheet comes from the server again and not from the cache.
        login_page = browse()
        log_in(login_page, live_server.url, members[0].username)
        page = new_context(storage_state=login_page.context.storage_state()).new_page()
    else:
        page = browse()

    requests, responses = [], []
    page.on("request", lambda request: requests.append(request))
    page.on("response", lambda response: responses.append(response))
    page.goto(f"{live_server.url}/t/{topic.id}", wait_until="networkidle")

    expect(page.get_by_role("article")).to_have_count(POSTS)
    if as_member:
        expect(page.get_by_role("heading", name="Reply", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Edit your post")).to_have_count(5)

    assert requests, "no requests were seen"
    for request in requests:
        assert urlsplit(request.url).netloc == live_server.host, f"request to {request.url}"
    scripts = [urlsplit(r.url).path for r in requests if r.resource_type == "script"]
    assert scripts == (["/static/js/reactions.js"] if as_member else [])
    assert page.locator("script:not([src])").count() == 0

    # Every response carries a body except redirects (none are expected here).
    sizes = [
        (response.url, len(response.body()))
        for response in responses
        if not 300 <= response.status < 400
    ]
    assert len(sizes) == len(responses), [(r.url, r.status) for r in responses]
    by_type = {response.request.resource_type for response in responses}
    assert {"document", "stylesheet"} <= by_type, sizes
    assert all(
        response.status == 200
        for response in responses
        if response.request.resource_type in ("document", "stylesheet")
    )
    total = sum(size for _, size in sizes)
    print(
        f"topic page with {POSTS} posts ({'member' if as_member else 'visitor'}): "
        f"{total} bytes: {sizes}"
    )
    assert total < BUDGET, f"{total} bytes is over the {BUDGET}-byte budget: {sizes}"
