"""Supportive reactions in a real browser, with JavaScript on and off.

A member sends a reaction to someone's reply: with JavaScript the button turns in
place (no page load), without it the plain form posts and comes back to the post.
The reply's author then logs in and sees how many reactions it got; the member who
sent one does not see any count. axe-core audits the topic page each time.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import log_in

pytestmark = pytest.mark.browser

TITLE = "Sleep has been hard since the move"
REPLY = "Some nights are better than others; the quiet ones are the hardest."
COUNTS = "Support for your post"


def the_reply(page: Page):
    return page.get_by_role("article", name="willow").filter(has_text=REPLY)


def reactions_of(page: Page):
    return the_reply(page).get_by_role("group", name="Send support to willow")


@pytest.fixture
def topic(make):
    author = make.user("willow")
    topic = make.topic(author, make.board("sleep"), TITLE, "How do you all cope with it?")
    make.reply(author, topic, REPLY)
    make.user("river")
    return topic


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_member_reacts_and_only_the_author_sees_the_count(
    javascript, live_server, topic, browse, audit
):
    page = browse(javascript=javascript)
    log_in(page, live_server.url, "river")
    page.goto(f"{live_server.url}/t/{topic.id}")
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    buttons = reactions_of(page)
    expect(buttons.get_by_role("button")).to_have_count(4)
    send = buttons.get_by_role("button", name="Thinking of you")
    expect(send).to_have_attribute("aria-pressed", "false")
    if javascript:
        page.evaluate("window.stillHere = true")  # gone if the page were loaded again
    send.click()

    send = reactions_of(page).get_by_role("button", name="Thinking of you")
    expect(send).to_have_attribute("aria-pressed", "true")
    expect(the_reply(page)).to_contain_text("You sent: Thinking of you.")
    if javascript:
        assert page.evaluate("window.stillHere") is True
        expect(page.get_by_text("You sent “Thinking of you”")).to_have_count(0)
    else:
        expect(page.get_by_role("status")).to_contain_text("You sent “Thinking of you”")
        assert re.search(rf"/t/{topic.id}#p\d+$", page.url), page.url  # back at the post
    expect(page.get_by_text(COUNTS)).to_have_count(0)
    audit(page)

    # The same button takes it back, and sends it again.
    send.click()
    expect(reactions_of(page).get_by_role("button", name="Thinking of you")).to_have_attribute(
        "aria-pressed", "false"
    )
    reactions_of(page).get_by_role("button", name="Me too").click()
    expect(reactions_of(page).get_by_role("button", name="Me too")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.reload()
    expect(reactions_of(page).get_by_role("button", name="Me too")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(reactions_of(page).get_by_role("button", name="Thinking of you")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(page.get_by_text(COUNTS)).to_have_count(0)

    author = browse(javascript=javascript)
    log_in(author, live_server.url, "willow")
    author.goto(f"{live_server.url}/t/{topic.id}")
    expect(the_reply(author).get_by_text(COUNTS)).to_contain_text("Me too: 1")
    expect(the_reply(author).get_by_text(COUNTS)).not_to_contain_text("Thinking of you")
    # No buttons on one's own posts.
    expect(author.get_by_role("button", name="Me too")).to_have_count(0)
    audit(author)

    visitor = browse(javascript=javascript)
    visitor.goto(f"{live_server.url}/t/{topic.id}")
    expect(visitor.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    expect(visitor.get_by_role("button", name="Me too")).to_have_count(0)
    expect(visitor.get_by_text(COUNTS)).to_have_count(0)
