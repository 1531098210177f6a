"""A member takes their data and leaves, in a real browser, with JavaScript on and off.

Download my data (the ZIP opened and read) -> Delete my account (keep my posts) ->
logged out, mailed the date -> the erasure runs with a clock 15 days on -> the login
is refused with the answer any wrong login gets. Every page is audited with axe-core.
"""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from forum.extensions import db
from forum.models import utcnow
from forum.services import leaving
from tests.helpers.app import TEST_PASSWORD
from tests.helpers.browser import log_in

MEMBER, EMAIL = "quiet_heron", "quiet_heron@example.org"


def heading(page: Page, name: str):
    return page.get_by_role("heading", level=1, name=name, exact=True)


def erase_accounts(app, now) -> int:
    with app.app_context():
        erased = leaving.erase_due(now).erased
        db.session.remove()
        return erased


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_member_downloads_their_data_deletes_the_account_and_cannot_log_in_after(
    javascript, live_server, mailbox, make, browse, audit, tmp_path
):
    app = live_server.app
    board = make.board("general", "General")
    member = make.user(MEMBER, email=EMAIL)
    topic = make.topic(member, board, "Winter evenings", "Lighting a candle at *five*.")
    page = browse(javascript=javascript)
    log_in(page, live_server.url, MEMBER)

    # The account page: download the ZIP and read it.
    page.get_by_role("link", name=f"Account ({MEMBER})").click()
    expect(heading(page, "Your account")).to_be_visible()
    audit(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    download = download_info.value
    assert download.suggested_filename.startswith("kindred-data-")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("kindred-data.json"))
        posts_md = archive.read("posts.md").decode("utf-8")
    assert data["account"]["username"] == MEMBER and data["account"]["email"] == EMAIL
    assert [post["markdown"] for post in data["posts"]] == ["Lighting a candle at *five*."]
    assert "## Winter evenings" in posts_md

    # Delete the account, keeping the posts.
    page.get_by_role("link", name="Delete my account").click()
    expect(heading(page, "Delete your account")).to_be_visible()
    audit(page)
    page.get_by_label("Keep my posts").check()
    page.get_by_label("Your password").fill("not the password")
    page.get_by_role("button", name="Delete my account in 14 days").click()
    expect(
        page.get_by_text("That isn't your password. Please type it again.", exact=True)
    ).to_be_visible()
    expect(page.get_by_label("Keep my posts")).to_be_checked()  # the choice is kept
    audit(page)
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Delete my account in 14 days").click()
    expect(heading(page, "Your account will be deleted")).to_be_visible()
    expect(page.get_by_role("link", name="Log in", exact=True).first).to_be_visible()
    audit(page)
    mailed = mailbox.wait_for(EMAIL)
    assert "Log in before then and the deletion is cancelled" in mailed.get_content()

    # Not yet: 13 days on, nothing happens. 15 days on, the account is erased.
    assert erase_accounts(app, utcnow() + timedelta(days=13)) == 0
    assert erase_accounts(app, utcnow() + timedelta(days=15)) == 1

    for login in (MEMBER, EMAIL):
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Username or email address").fill(login)
        page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(
            page.get_by_text(
                "That username or email and password don't match an account.", exact=True
            )
        ).to_be_visible()
    audit(page)

    # The kept post is still there, by "a former member".
    page.goto(f"{live_server.url}/t/{topic.id}")
    expect(page.get_by_text("Lighting a candle at")).to_be_visible()
    expect(page.get_by_text(MEMBER)).to_have_count(0)
    audit(page)
