"""A member blocks someone from their post's author line, sees that post collapsed with a
way to show it anyway, mutes a word, and finds the profile and privacy pages accessible:
in a real browser, with JavaScript on and off, every page audited with axe-core.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import log_in


def heading(page: Page, name: str):
    return page.get_by_role("heading", level=1, name=name, exact=True)


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_block_a_member_and_show_their_post_anyway(javascript, live_server, make, browse, audit):
    board = make.board("general", "General")
    fern, thorn, willow = make.user("fern"), make.user("thorn"), make.user("willow")
    topic = make.topic(fern, board, "Getting through Sundays", "Sundays are long for me")
    theirs = make.reply(thorn, topic, "Words from thorn that fern would rather not see")
    make.reply(willow, topic, "Another hospital story")

    page = browse(javascript=javascript)
    log_in(page, live_server.url, fern.username)
    page.goto(f"{live_server.url}/t/{topic.id}")
    post = page.locator(f"#p{theirs.id}")
    expect(post.get_by_text("Words from thorn")).to_be_visible()
    post.get_by_role("button", name="Block thorn").click()

    # Back on the same post: collapsed, and the member is told what happened (thorn is not).
    expect(page.get_by_text("You blocked thorn.")).to_be_visible()
    post = page.locator(f"#p{theirs.id}")
    expect(post.get_by_text("You blocked this member")).to_be_visible()
    expect(post.get_by_text("Words from thorn")).to_be_hidden()
    expect(post.get_by_role("button", name="Unblock thorn")).to_be_visible()
    audit(page)
    post.get_by_text("You blocked this member").click()  # a <details>: no script needed
    expect(post.get_by_text("Words from thorn")).to_be_visible()
    audit(page)

    # Mute a word in the privacy settings; a duplicate is refused beside the field.
    page.goto(f"{live_server.url}/account")
    page.get_by_role("link", name="Privacy and what you see").click()
    expect(heading(page, "Privacy and what you see")).to_be_visible()
    expect(page.get_by_text("thorn")).to_be_visible()
    page.get_by_label("Word or phrase to mute").fill("Hospital")
    page.get_by_role("button", name="Mute this word").click()
    expect(page.get_by_text("You muted “Hospital”.")).to_be_visible()
    page.get_by_label("Word or phrase to mute").fill("HOSPITAL")
    page.get_by_role("button", name="Mute this word").click()
    field = page.get_by_label("Word or phrase to mute")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("HOSPITAL")
    expect(page.locator("#phrase-error")).to_have_text("You already muted “Hospital”.")
    audit(page)

    page.goto(f"{live_server.url}/t/{topic.id}")
    expect(page.get_by_text("This post mentions “Hospital”, which you muted")).to_be_visible()
    expect(page.get_by_text("Another hospital story")).to_be_hidden()

    # thorn's profile, as fern sees it: unblock from there.
    page.goto(f"{live_server.url}/u/thorn")
    expect(heading(page, "thorn")).to_be_visible()
    expect(page.get_by_text("You blocked thorn.")).to_be_visible()
    audit(page)
    page.get_by_role("button", name="Unblock thorn").click()
    expect(page.get_by_text("You unblocked thorn.")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent posts")).to_be_visible()
    expect(page.get_by_role("link", name="Getting through Sundays").first).to_be_visible()
    audit(page)
