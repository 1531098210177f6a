"""A new member's first visit, in a real browser, with JavaScript on and off.

Join -> confirm the address from the mail (delivered to a real SMTP server) ->
log in -> start a topic (previewing it first) -> reply quoting the first post
-> edit the reply -> see that it is marked as edited. Every page on the way is
audited with axe-core. Elements are found by role and accessible name, the way
a screen-reader user finds them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.app import TEST_PASSWORD, links_in

USERNAME = "quiet_heron"
EMAIL = "quiet.heron@example.org"
TITLE = "Finding my feet after a bad winter"
FIRST_POST = "The dark mornings were **hard** this year.\n\nWhat helped you get going again?"
REPLY = "Short walks at lunchtime helped me more than I expected."
EDIT = "Edit: and getting outside before ten, even for five minutes."


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """This walk is about posting, quoting and editing, so the new member's posts go out
    at once; waiting for review is walked in test_moderation.py."""
    return {**app_config, "NEW_MEMBER_REVIEW_POSTS": 0}


def heading(page: Page, name: str):
    return page.get_by_role("heading", level=1, name=name, exact=True)


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_new_member_joins_posts_quotes_and_edits(
    javascript, live_server, mailbox, make, browse, audit
):
    make.board("general", "General")
    page = browse(javascript=javascript)
    site_nav = page.get_by_role("navigation", name="Site")

    # The front page, then the form to join.
    page.goto(f"{live_server.url}/")
    expect(heading(page, "Boards")).to_be_visible()
    audit(page)
    site_nav.get_by_role("link", name="Join").click()
    expect(heading(page, "Join Kindred")).to_be_visible()
    audit(page)

    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_label("Password again").fill(TEST_PASSWORD)
    page.get_by_label("I have read the community guidelines").check()
    page.get_by_role("button", name="Create account").click()
    expect(heading(page, "Check your email")).to_be_visible()
    audit(page)

    # The confirmation mail, as the SMTP server received it.
    message = mailbox.wait_for(EMAIL)
    assert message["To"] == EMAIL
    assert message["Subject"] == "Confirm your email address"
    assert message.get_content_type() == "text/plain"
    assert USERNAME in message.get_body(preferencelist=("plain",)).get_content()
    verify_links = [link for link in links_in(message) if "/verify/" in link]
    assert len(verify_links) == 1, links_in(message)
    assert verify_links[0].startswith(f"{live_server.url}/verify/")
    page.goto(verify_links[0])
    expect(heading(page, "Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("your email address is confirmed")
    audit(page)

    page.get_by_label("Username or email address").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(site_nav.get_by_role("link", name=f"Account ({USERNAME})")).to_be_visible()
    expect(heading(page, "Boards")).to_be_visible()
    audit(page)

    # A new topic, previewed before it is posted.
    page.get_by_role("link", name="General", exact=True).click()
    expect(heading(page, "General")).to_be_visible()
    audit(page)
    page.get_by_role("link", name="Start a new topic").click()
    expect(heading(page, "Start a topic in General")).to_be_visible()
    audit(page)
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Your message").fill(FIRST_POST)
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("It is not posted yet")
    expect(preview.get_by_role("strong")).to_have_text("hard")  # the Markdown was rendered
    expect(page.get_by_label("Title")).to_have_value(TITLE)  # nothing typed was lost
    expect(page.get_by_label("Your message")).to_have_value(FIRST_POST)
    audit(page)
    page.get_by_role("button", name="Start topic").click()

    expect(heading(page, TITLE)).to_be_visible()
    posts = page.get_by_role("article", name=USERNAME, exact=True)
    expect(posts).to_have_count(1)
    expect(posts.first).to_contain_text("What helped you get going again?")
    audit(page)

    # A reply that quotes the first post.
    posts.first.get_by_role("link", name="Quote this post in a reply").click()
    expect(heading(page, f"Reply to “{TITLE}”")).to_be_visible()
    reply_box = page.get_by_label("Your reply")
    expect(reply_box).to_have_value(
        re.compile(
            rf"^> \*\*{USERNAME}\*\* wrote:\n>\n> The dark mornings were \*\*hard\*\* this year\."
        )
    )
    audit(page)
    reply_box.fill(reply_box.input_value() + REPLY)
    page.get_by_role("button", name="Post reply").click()

    expect(heading(page, TITLE)).to_be_visible()
    expect(posts).to_have_count(2)
    first, reply = posts.nth(0), posts.nth(1)
    quoted = reply.get_by_role("blockquote")
    expect(quoted).to_contain_text(f"{USERNAME} wrote:")
    expect(quoted).to_contain_text("The dark mornings were hard this year.")
    expect(reply).to_contain_text(REPLY)
    expect(reply).not_to_contain_text("(edited")
    audit(page)

    # Editing the reply leaves a visible mark.
    reply.get_by_role("link", name="Edit your post").click()
    expect(heading(page, "Edit your post")).to_be_visible()
    audit(page)
    body = page.get_by_label("Your message")
    expect(body).to_have_value(re.compile(re.escape(REPLY) + r"\s*$"))
    body.fill(f"{body.input_value()}\n\n{EDIT}")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("status")).to_contain_text("Your changes are saved.")
    expect(posts).to_have_count(2)
    expect(reply).to_contain_text(EDIT)
    expect(reply.get_by_text(re.compile(r"^\(edited "))).to_be_visible()
    expect(first).not_to_contain_text("(edited")
    audit(page)

    assert len(audit.audited) == 13
    assert len(mailbox.messages) == 1
