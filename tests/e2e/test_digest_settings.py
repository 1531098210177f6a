"""A member chooses a daily digest in a real browser, gets one over SMTP, pauses their
mail from the link in it without logging in, and no digest comes for two weeks.

Digests are sent by forum.digests.run.send_due with a controllable clock; the news in
each simulated day is a reply timestamped inside that day. Every page on the way is
audited with axe-core, with JavaScript on and off.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from forum.digests.run import send_due
from forum.extensions import db
from forum.models import MailSettings, Post, Topic, utcnow
from tests.helpers.browser import log_in
from tests.helpers.moderation import update

MEMBER = "quiet_heron"
MEMBER_EMAIL = "quiet_heron@example.org"


def heading(page: Page, name: str):
    return page.get_by_role("heading", level=1, name=name, exact=True)


def digests_received(mailbox) -> list:
    with mailbox._lock:
        return [
            message
            for recipients, message in mailbox.messages
            if MEMBER_EMAIL in recipients and "digest" in message["Subject"]
        ]


def news_at(app, make, author, topic, when: datetime) -> None:
    """A reply that, as far as the digest can tell, was written at `when`."""
    post = make.reply(author, topic, f"Checking in on {when:%A}")
    update(app, Post, post.id, created_at=when, published_at=when)
    update(app, Topic, topic.id, last_post_at=when)


def send_digests(app, now: datetime) -> None:
    with app.app_context():
        send_due(now=now)
        db.session.remove()


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_member_chooses_a_digest_gets_one_and_pauses_it_from_the_mail(
    javascript, live_server, mailbox, make, browse, audit
):
    app = live_server.app
    board = make.board("general", "General")
    fern = make.user("fern")
    topic = make.topic(fern, board, "Getting through Sundays")
    member = make.user(MEMBER)

    # The browser is in Berlin: with JavaScript, the settings page suggests that zone.
    page = browse(javascript=javascript, timezone_id="Europe/Berlin")
    log_in(page, live_server.url, MEMBER)
    page.goto(f"{live_server.url}/b/general")
    page.get_by_role("button", name="Follow this board").click()
    expect(page.get_by_role("status")).to_contain_text("You follow General now")
    expect(page.get_by_role("button", name="Unfollow this board")).to_be_visible()
    audit(page)

    page.get_by_role("navigation", name="Site").get_by_role(
        "link", name=f"Account ({MEMBER})"
    ).click()
    page.get_by_role("link", name="Mail settings").click()
    expect(heading(page, "Mail settings")).to_be_visible()
    digest = page.get_by_role("group", name="Email digest")
    expect(digest.get_by_role("radio", name="None")).to_be_checked()
    timezone = page.get_by_label("Your timezone")
    expect(timezone).to_have_value("Europe/Berlin" if javascript else "UTC")
    expect(page.get_by_role("list").filter(has_text="Board: General")).to_be_visible()
    audit(page)

    digest.get_by_role("radio", name="Daily").check()
    page.get_by_label("Hour of the day").select_option(label="07:00")
    timezone.select_option("Europe/Berlin")
    page.get_by_role("button", name="Save mail settings").click()
    expect(page.get_by_role("status")).to_contain_text("Your mail settings are saved.")
    expect(digest.get_by_role("radio", name="Daily")).to_be_checked()
    next_digest = re.compile(r"Your next digest is due .*, 07:00 \(Europe/Berlin\)")
    expect(page.get_by_text(next_digest)).to_be_visible()
    audit(page)

    with app.app_context():
        first_due = db.session.get(MailSettings, member.id).next_digest_at
    # Something new for the first digest: Fern's reply, written just now.
    make.reply(fern, topic, "Sunday went better than I feared")
    # Once today's 07:00 in Berlin has passed the first digest is due at once (none has
    # come today): it goes with the next run, not at the next 07:00.
    send_digests(app, max(first_due, utcnow()) + timedelta(minutes=1))
    [message] = digests_received(mailbox)
    assert message["Subject"] == "Your daily digest from Kindred"
    assert "Getting through Sundays" in message.get_body(("plain",)).get_content()
    text = message.get_body(("plain",)).get_content()
    [link] = set(re.findall(r"https?://\S+/mail/unsubscribe/[\w.-]+", text))
    assert link.startswith(live_server.url)
    assert f"<{link}>" in message["List-Unsubscribe"]

    # The link from the mail, opened where nobody is logged in.
    mail_page = browse(javascript=javascript)
    mail_page.goto(link)
    expect(heading(mail_page, "Your mail from Kindred")).to_be_visible()
    expect(mail_page.get_by_role("main")).to_contain_text("This link is for the daily digest")
    audit(mail_page)
    mail_page.get_by_role("button", name="Pause for two weeks").click()
    expect(heading(mail_page, "Done: your mail is changed")).to_be_visible()
    expect(mail_page.get_by_role("main")).to_contain_text("paused until")
    audit(mail_page)

    # Two weeks of news, a day at a time: no digest while the pause lasts.
    for day in range(1, 14):
        due = first_due + timedelta(days=day)
        news_at(app, make, fern, topic, due - timedelta(hours=1))
        send_digests(app, due + timedelta(minutes=1))
        assert len(digests_received(mailbox)) == 1, f"a digest came on day {day} of the pause"
    # The pause over, the digests come again by themselves.
    due = first_due + timedelta(days=15)
    news_at(app, make, fern, topic, due - timedelta(hours=1))
    send_digests(app, due + timedelta(minutes=1))
    assert len(digests_received(mailbox)) == 2

    # The settings page says so too, in the member's zone.
    page.goto(f"{live_server.url}/settings/mail")
    paused = re.compile(r"^Mail paused until .*\(Europe\/Berlin\)$")
    expect(page.get_by_role("heading", name=paused)).to_be_visible()
    audit(page)
    page.get_by_role("button", name="Resume now").click()
    expect(page.get_by_role("status")).to_contain_text("Your mail is back on.")
    assert len(audit.audited) == 6
