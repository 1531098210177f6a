"""Searching in a real browser: with and without JavaScript, axe-clean."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import log_in


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_search_finds_a_published_post_but_not_a_pending_one(
    javascript, live_server, make, browse, audit
):
    board = make.board("sleep", "Sleep and rest")
    member = make.user("night_owl")
    newcomer = make.user("newcomer", trusted=False)
    make.topic(member, board, "Lavender before bed", "A lavender pillow spray helps me")
    make.topic(newcomer, board, "Lavender fields", "Lavender waiting for a moderator")

    page = browse(javascript=javascript)
    page.goto(f"{live_server.url}/")
    # The header's box, by its label.
    site_search = page.get_by_role("search", name="Site search")
    site_search.get_by_role("searchbox", name="Search posts").fill("lavender")
    site_search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()
    results = page.get_by_role("list").filter(has=page.get_by_role("heading", level=3))
    expect(results.get_by_role("listitem")).to_have_count(1)
    expect(results.get_by_role("link", name="Lavender before bed")).to_be_visible()
    expect(page.get_by_text("Lavender fields")).to_have_count(0)
    audit(page)

    # The page's own form: narrow to a board; a member sees the same.
    log_in(page, live_server.url, member.username)
    page.goto(f"{live_server.url}/search")
    form = page.get_by_role("search", name="Search posts")
    form.get_by_label("Words to look for").fill("spray")
    form.get_by_label("Board").select_option(label="Sleep and rest")
    form.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=2, name="Results in Sleep and rest")).to_be_visible()
    link = page.get_by_role("link", name="Lavender before bed")
    expect(link).to_be_visible()
    audit(page)
    link.click()
    expect(page.get_by_role("heading", level=1, name="Lavender before bed")).to_be_visible()
