"""A member's mail choices: the settings page, the choice at sign-up, and the page a
mailed link opens (with RFC 8058's one-click POST), which needs no login."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from forum import mail
from forum.digests import run, schedule
from forum.extensions import db
from forum.models import MailKind, MailSettings, Topic, User, utcnow
from forum.services import mail_settings, posting
from tests.helpers.app import TEST_PASSWORD, app_settings, page_text
from tests.helpers.moderation import field_error

SAVE = {
    "digest": "daily",
    "digest_hour": "7",
    "digest_weekday": "0",
    "timezone": "Asia/Tokyo",
    "notify_reply": "y",
    "notify_quote": "y",
    "notify_moderation": "y",
    "submit": "Save mail settings",
}


def settings_of(app, user) -> MailSettings | None:
    with app.app_context():
        settings = db.session.get(MailSettings, user.id)
        if settings is not None:
            db.session.expunge(settings)
        return settings


def choose(app, user, **values) -> MailSettings:
    """Give a member settings as a test needs them (as if chosen some time ago)."""
    with app.app_context():
        settings = mail_settings.settings_for(db.session.get(User, user.id))
        for name, value in values.items():
            setattr(settings, name, value)
        mail_settings.reschedule(settings)
        db.session.commit()
        db.session.refresh(settings)
        db.session.expunge(settings)
        return settings


def link_for(app, user, kind: MailKind) -> str:
    with app.app_context():
        settings = mail_settings.settings_for(db.session.get(User, user.id))
        db.session.commit()
        return f"/mail/unsubscribe/{mail_settings.unsubscribe_token(settings, kind)}"


def visible_text(response) -> str:
    """The words a reader sees: tags dropped, runs of white space made one space."""
    return " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())


def button_names(response) -> list[str]:
    return re.findall(
        r'<button type="submit" name="choice" value="[a-z_]+"[^>]*>([^<]+)</button>', response.text
    )


# --- the settings page -----------------------------------------------------------------------


def on_the_clock(monkeypatch, moment: datetime) -> datetime:
    """The mail settings service's clock, fixed at `moment` (the page asks it too)."""
    monkeypatch.setattr(mail_settings, "utcnow", lambda: moment)
    return moment


def test_a_member_chooses_a_daily_digest_in_their_own_timezone(
    client, make, auth, app, monkeypatch
):
    river = make.user("river")
    auth.login(river)
    page = client.get("/settings/mail")
    assert page.status_code == 200
    assert re.search(
        r'<input checked id="digest-0" name="digest" type="radio" value="none">', page.text
    )
    # 05:00 in Tokyo: today's 07:00 is still to come.
    before = on_the_clock(monkeypatch, datetime(2026, 12, 4, 20, 0, tzinfo=UTC))
    response = client.post("/settings/mail", data=SAVE, follow_redirects=True)
    assert "Your mail settings are saved." in page_text(response)
    saved = settings_of(app, river)
    assert (saved.digest, saved.digest_hour, saved.timezone) == ("daily", 7, "Asia/Tokyo")
    assert saved.version == 2  # links mailed before the change no longer work
    expected = schedule.next_due("daily", 7, 0, "Asia/Tokyo", before)
    assert saved.next_digest_at == expected
    # The next digest's time is shown in the member's zone.
    local = expected.astimezone(schedule.zone("Asia/Tokyo"))
    assert f"{local:%A %-d %B %Y}, 07:00 (Asia/Tokyo)" in visible_text(response)
    assert re.search(
        r'<input checked id="digest-1" name="digest" type="radio" value="daily">', response.text
    )


def test_a_digest_chosen_after_todays_hour_is_due_now_and_the_page_says_so(
    client, make, auth, app, monkeypatch
):
    """README: a digest goes once the member's hour has passed and they have not had
    this period's; choosing daily at 07:00 when it is noon in Tokyo is such a case."""
    river = make.user("river")
    auth.login(river)
    on_the_clock(monkeypatch, datetime(2026, 12, 4, 3, 0, tzinfo=UTC))  # 12:00 in Tokyo

    response = client.post("/settings/mail", data=SAVE, follow_redirects=True)

    # Today's 07:00 in Tokyo: due, so the next run sends it.
    assert settings_of(app, river).next_digest_at == datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    shown = visible_text(response)
    assert "Your next digest is due now, for Friday 4 December 2026, 07:00 (Asia/Tokyo)" in shown
    assert "that time has passed and you have had no digest today" in shown
    with app.app_context():
        assert run.count_due(datetime(2026, 12, 4, 3, 15, tzinfo=UTC)) == 1


def test_a_digest_already_had_today_is_next_due_tomorrow(client, make, auth, app, monkeypatch):
    river = make.user("river")
    auth.login(river)
    on_the_clock(monkeypatch, datetime(2026, 12, 4, 3, 0, tzinfo=UTC))  # 12:00 in Tokyo
    client.post("/settings/mail", data=SAVE)
    with app.app_context():
        run.send_due(datetime(2026, 12, 4, 3, 15, tzinfo=UTC))

    response = client.post(
        "/settings/mail", data={**SAVE, "digest_hour": "6"}, follow_redirects=True
    )

    assert settings_of(app, river).next_digest_at == datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
    assert "Your next digest is due Saturday 5 December 2026, 06:00 (Asia/Tokyo)" in (
        visible_text(response)
    )


def test_notices_by_mail_can_each_be_turned_off(client, make, auth, app):
    river = make.user("river")
    auth.login(river)
    client.post("/settings/mail", data={**SAVE, "notify_quote": "", "notify_moderation": ""})
    saved = settings_of(app, river)
    assert (saved.notify_reply, saved.notify_quote, saved.notify_moderation) == (True, False, False)
    with app.app_context():
        member = db.session.get(User, river.id)
        assert mail_settings.wants_mail(member, MailKind.REPLY)
        assert not mail_settings.wants_mail(member, MailKind.QUOTE)
        assert not mail_settings.wants_mail(member, MailKind.MODERATION)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus_Mons", "Choose your timezone from the list"),
        ("digest_hour", "25", "Choose an hour from the list"),
        ("digest_hour", "seven", "Choose an hour from the list"),
        ("digest_weekday", "9", "Choose a day of the week from the list"),
        ("digest", "hourly", "Choose no digest, a daily digest or a weekly one"),
    ],
)
def test_bad_input_is_explained_beside_its_field_and_the_rest_is_kept(
    client, make, auth, app, field, value, message
):
    river = make.user("river")
    auth.login(river)
    response = client.post("/settings/mail", data={**SAVE, field: value, "notify_quote": ""})
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert settings_of(app, river) is None  # nothing saved
    kept = {
        name: re.search(rf'<(?:input|select)[^>]*id="{name}"[^>]*>', response.text)[0]
        for name in ("notify_quote", "notify_reply")
    }
    assert "checked" not in kept["notify_quote"] and "checked" in kept["notify_reply"]
    if field != "timezone":
        assert '<option selected value="Asia/Tokyo">' in response.text
    if field != "digest":
        assert 'checked id="digest-1"' in response.text


def test_the_page_suggests_the_browsers_timezone_only_until_one_is_chosen(client, make, auth, app):
    river = make.user("river")
    auth.login(river)
    page = client.get("/settings/mail").text
    assert re.search(r'<select[^>]*data-suggest-browser-timezone[^>]*id="timezone"', page)
    # The script is a file of our own (the CSP allows no inline script).
    assert re.search(r'<script src="/static/js/timezone\.js\?v=[0-9a-f]{12}" defer></script>', page)
    assert "<script>" not in page
    client.post("/settings/mail", data={**SAVE, "timezone": "UTC"})
    assert "data-suggest-browser-timezone" not in client.get("/settings/mail").text


def test_a_paused_member_sees_until_when_in_their_zone_and_can_resume(client, make, auth, app):
    river = make.user("river")
    choose(
        app,
        river,
        digest="daily",
        timezone="America/New_York",
        paused_until=datetime(2030, 1, 1, tzinfo=UTC),
    )
    version = settings_of(app, river).version
    auth.login(river)
    page = visible_text(client.get("/settings/mail"))
    assert "Mail paused until Monday 31 December 2029, 19:00 (America/New York)" in page
    response = client.post("/settings/mail/resume", follow_redirects=True)
    assert "Your mail is back on." in page_text(response)
    assert "Mail paused until" not in page_text(response)
    saved = settings_of(app, river)
    assert saved.paused_until is None and saved.version == version + 1
    assert saved.next_digest_at < datetime(2030, 1, 1, tzinfo=UTC)


def test_the_account_page_links_to_the_mail_settings(client, make, auth):
    auth.login(make.user("river"))
    assert '<a href="/settings/mail">Mail settings</a>' in client.get("/account").text


# --- sign-up ---------------------------------------------------------------------------------

JOIN = {
    "username": "river",
    "email": "river@example.org",
    "password": TEST_PASSWORD,
    "confirm": TEST_PASSWORD,
    "accept_guidelines": "y",
}


def new_member(app, username: str = "river") -> User | None:
    with app.app_context():
        return db.session.scalar(sa.select(User).where(User.username == username))


def test_the_join_form_offers_the_digest_plainly_none_by_default(client):
    page = client.get("/register").text
    assert "<legend>Email digest</legend>" in page
    labels = re.findall(
        r'name="digest" type="radio" value="(\w+)"> <label for="digest-\d">(\w+)', page
    )
    assert labels == [("none", "None"), ("daily", "Daily"), ("weekly", "Weekly")]
    assert re.search(r'<input checked id="digest-0" name="digest" type="radio" value="none">', page)
    assert re.search(r'<select[^>]*data-suggest-browser-timezone[^>]*id="timezone"', page)


def test_the_digest_chosen_at_sign_up_is_stored_with_the_account(client, app):
    response = client.post(
        "/register", data={**JOIN, "digest": "weekly", "timezone": "Europe/Lisbon"}
    )
    assert response.status_code == 302
    member = new_member(app)
    saved = settings_of(app, member)
    assert (saved.digest, saved.timezone, saved.digest_weekday, saved.digest_hour) == (
        "weekly",
        "Europe/Lisbon",
        0,
        8,
    )
    assert saved.next_digest_at is not None


def test_joining_without_choosing_means_no_digest(client, app):
    client.post("/register", data=JOIN)
    saved = settings_of(app, new_member(app))
    assert (saved.digest, saved.timezone, saved.next_digest_at) == ("none", "UTC", None)


def test_an_unknown_timezone_at_sign_up_is_explained_and_nothing_is_made(client, app):
    response = client.post(
        "/register", data={**JOIN, "digest": "daily", "timezone": "Atlantis/Capital"}
    )
    assert response.status_code == 400
    assert "Choose your timezone from the list" in field_error(response, "timezone")
    assert 'value="river"' in response.text and 'checked id="digest-1"' in response.text
    # What the member chose is kept, not replaced by the browser's suggestion.
    assert "data-suggest-browser-timezone" not in response.text
    assert new_member(app) is None


def test_signing_up_with_a_known_address_changes_nobodys_settings(client, make, app):
    river = make.user("river", email="river@example.org")
    client.post("/register", data={**JOIN, "username": "river2", "digest": "daily"})
    assert settings_of(app, river) is None
    assert new_member(app, "river2") is None


# --- the unsubscribe page --------------------------------------------------------------------


def test_the_page_names_the_mail_and_offers_three_calm_choices(client, make, app):
    river = make.user("river")
    choose(app, river, digest="daily")
    response = client.get(link_for(app, river, MailKind.DIGEST))
    assert response.status_code == 200
    text = page_text(response)
    assert "This link is for the daily digest, sent to your account." in text
    assert button_names(response) == ["Less often", "Pause for two weeks", "Stop"]
    # Nothing that says whose account it is.
    assert "river" not in text.lower()
    assert response.headers["Cache-Control"] == "no-store"


def test_a_weekly_digest_has_no_less_often(client, make, app):
    river = make.user("river")
    choose(app, river, digest="weekly")
    response = client.get(link_for(app, river, MailKind.DIGEST))
    assert "the weekly digest" in page_text(response)
    assert button_names(response) == ["Pause for two weeks", "Stop"]


def test_less_often_turns_a_daily_digest_weekly(client, make, app):
    river = make.user("river")
    choose(app, river, digest="daily", digest_weekday=2, digest_hour=18, timezone="Europe/Paris")
    response = client.post(link_for(app, river, MailKind.DIGEST), data={"choice": "less_often"})
    assert response.status_code == 200
    assert "a weekly digest instead, on Wednesdays at 18:00 (Europe/Paris)" in visible_text(
        response
    )
    saved = settings_of(app, river)
    assert saved.digest == "weekly"
    assert saved.next_digest_at.astimezone(schedule.zone("Europe/Paris")).weekday() == 2


def test_less_often_for_a_notice_puts_it_in_a_weekly_digest(client, make, app):
    river = make.user("river")
    choose(app, river)
    link = link_for(app, river, MailKind.REPLY)
    page = client.get(link)
    assert "mail when someone replies to your topic" in page_text(page)
    assert button_names(page)[0] == "Get these in a weekly digest instead"
    client.post(link, data={"choice": "less_often"})
    saved = settings_of(app, river)
    assert (saved.notify_reply, saved.notify_quote, saved.digest) == (False, True, "weekly")


def test_less_often_for_a_notice_keeps_a_daily_digest_daily(client, make, app):
    river = make.user("river")
    choose(app, river, digest="daily")
    link = link_for(app, river, MailKind.QUOTE)
    assert button_names(client.get(link))[0] == "Get these in your daily digest instead"
    client.post(link, data={"choice": "less_often"})
    saved = settings_of(app, river)
    assert (saved.notify_quote, saved.digest) == (False, "daily")


def test_moderation_mail_offers_no_digest_it_is_not_in(client, make, app):
    river = make.user("river")
    choose(app, river, digest="daily")
    link = link_for(app, river, MailKind.MODERATION)
    assert button_names(client.get(link)) == ["Pause for two weeks", "Stop"]
    response = client.post(link, data={"choice": "less_often"})
    assert response.status_code == 400
    assert "choose pause or stop" in page_text(response)
    assert settings_of(app, river).notify_moderation is True


def test_pause_stops_every_digest_and_notice_mail_for_two_weeks(client, make, app):
    river = make.user("river")
    choose(app, river, digest="daily", timezone="Asia/Tokyo")
    link = link_for(app, river, MailKind.REPLY)
    before = utcnow()
    response = client.post(link, data={"choice": "pause"})
    assert response.status_code == 200
    saved = settings_of(app, river)
    assert before + timedelta(days=14) <= saved.paused_until <= utcnow() + timedelta(days=14)
    local = saved.paused_until.astimezone(schedule.zone("Asia/Tokyo"))
    assert f"paused until {local:%A %-d %B %Y, %H:%M} (Asia/Tokyo)" in visible_text(response)
    assert saved.next_digest_at > saved.paused_until
    with app.app_context():
        member = db.session.get(User, river.id)
        assert not any(mail_settings.wants_mail(member, kind) for kind in MailKind)
        after = saved.paused_until + timedelta(seconds=1)
        assert all(mail_settings.wants_mail(member, kind, now=after) for kind in MailKind)
    # The link has done its job.
    assert client.get(link).status_code == 404


@pytest.mark.parametrize("kind", list(MailKind))
def test_stop_stops_that_kind_of_mail_only(client, make, app, kind):
    river = make.user("river")
    choose(app, river, digest="daily")
    response = client.post(link_for(app, river, kind), data={"choice": "stop"})
    assert response.status_code == 200
    assert "You won't get" in page_text(response)
    with app.app_context():
        member = db.session.get(User, river.id)
        assert [other for other in MailKind if mail_settings.wants_mail(member, other)] == [
            other for other in MailKind if other != kind
        ]
        if kind == MailKind.DIGEST:
            assert db.session.get(MailSettings, river.id).next_digest_at is None


def test_a_change_retires_that_kinds_links_and_only_those(client, make, app, auth):
    river = make.user("river")
    choose(app, river, digest="daily")
    old_digest_link = link_for(app, river, MailKind.DIGEST)
    old_reply_link = link_for(app, river, MailKind.REPLY)
    old_quote_link = link_for(app, river, MailKind.QUOTE)
    client.post(old_digest_link, data={"choice": "less_often"})  # daily -> weekly
    assert client.get(old_digest_link).status_code == 404
    # Other kinds' links in older mail still work: the member can stop those too.
    assert client.get(old_reply_link).status_code == 200
    assert client.post(old_reply_link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert settings_of(app, river).notify_reply is False
    assert client.get(old_reply_link).status_code == 404  # its own change retired it
    auth.login(river)
    client.post("/settings/mail", data=SAVE)  # the reply notices back on, Tokyo time...
    assert client.get(link_for(app, river, MailKind.QUOTE)).status_code == 200
    assert client.get(old_quote_link).status_code == 200  # ...quotes untouched
    newer_digest = link_for(app, river, MailKind.DIGEST)
    client.post("/settings/mail", data={**SAVE, "digest_hour": "9"})
    assert client.get(newer_digest).status_code == 404


def forged_tokens(app, river) -> dict[str, str]:
    with app.app_context():
        settings = mail_settings.settings_for(db.session.get(User, river.id))
        db.session.commit()
        real = mail_settings.unsubscribe_token(settings, MailKind.DIGEST)
        signer = URLSafeSerializer(app.config["SECRET_KEY"], salt="kindred.unsubscribe")
        return {
            "another key": URLSafeSerializer("not-the-key", salt="kindred.unsubscribe").dumps(
                [river.id, "digest", settings.link_versions.get("digest", 0)]
            ),
            "mangled": real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB"),
            "retired": signer.dumps(
                [river.id, "digest", settings.link_versions.get("digest", 0) - 1]
            ),
            "nobody": signer.dumps([river.id + 1000, "digest", 1]),
            "unknown kind": signer.dumps([river.id, "everything", 0]),
            "not a list": signer.dumps({"user": river.id}),
            "rubbish": "x",
        }


def test_links_already_in_mailboxes_keep_working(client, make, app):
    """Kindred's tokens skip itsdangerous' attempt to compress them: links made
    before, by URLSafeSerializer itself, are the same and still open the page."""
    river = make.user("river")
    choose(app, river, digest="daily")
    with app.app_context():
        settings = mail_settings.settings_for(db.session.get(User, river.id))
        db.session.commit()
        payload = [river.id, "digest", settings.link_versions.get("digest", 0)]
        before = URLSafeSerializer(app.config["SECRET_KEY"], salt="kindred.unsubscribe").dumps(
            payload
        )
        assert mail_settings.unsubscribe_token(settings, MailKind.DIGEST) == before
    response = client.post(f"/mail/unsubscribe/{before}", data={"choice": "stop"})
    assert response.status_code == 200
    assert settings_of(app, river).digest == "none"


def test_every_bad_link_gets_the_same_calm_page(client, make, app):
    river = make.user("river")
    choose(app, river, digest="daily")
    bodies = set()
    for name, token in forged_tokens(app, river).items():
        for method, data in (
            ("GET", None),
            ("POST", {"choice": "stop"}),
            ("POST", {"List-Unsubscribe": "One-Click"}),
        ):
            response = client.open(f"/mail/unsubscribe/{token}", method=method, data=data)
            assert response.status_code == 404, (name, method)
            bodies.add(page_text(response))
    assert len(bodies) == 1
    [body] = bodies
    assert "This link no longer works" in body and "mail settings" in body
    assert settings_of(app, river).digest == "daily"


# --- one-click (RFC 8058) and the form's own protection -------------------------------------


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, migrated_database):
        return {**app_settings(migrated_database, None), "WTF_CSRF_ENABLED": True}

    def test_one_click_stops_that_mail_at_once_without_a_session_or_token(self, app, make):
        river, fern = make.user("river"), make.user("fern")
        for member in (river, fern):
            choose(app, member, digest="daily")
        client = app.test_client()  # a mail provider's server: no cookies
        link = link_for(app, river, MailKind.DIGEST)
        response = client.post(link, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert "You won't get the daily digest any more." in page_text(response)
        assert settings_of(app, river).digest == "none"
        assert settings_of(app, fern).digest == "daily"  # only that member
        assert settings_of(app, river).notify_reply is True  # only that kind
        # Sent as multipart/form-data, as RFC 8058 also allows.
        fern_link = link_for(app, fern, MailKind.REPLY)
        response = client.post(
            fern_link, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
        )
        assert response.status_code == 200 and settings_of(app, fern).notify_reply is False

    def test_the_pages_buttons_need_the_form_token(self, app, make):
        river = make.user("river")
        choose(app, river, digest="daily")
        client = app.test_client()
        link = link_for(app, river, MailKind.DIGEST)
        assert client.post(link, data={"choice": "stop"}).status_code == 400
        assert settings_of(app, river).digest == "daily"
        page = client.get(link).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        response = client.post(link, data={"choice": "stop", "csrf_token": token})
        assert response.status_code == 200
        assert settings_of(app, river).digest == "none"


def test_a_notice_mail_carries_a_one_click_link_that_stops_that_kind(app, client, make):
    board = make.board()
    fern, river = make.user("fern"), make.user("river")
    topic = make.topic(fern, board, "Sundays")
    make.reply(river, topic, "Me too")
    [message] = [m for m in mail.outbox if m["To"].addresses[0].addr_spec == "fern@example.org"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.search(r"<(https://[^>]+)>", message["List-Unsubscribe"])[1]
    assert url.startswith("https://kindred.example/mail/unsubscribe/")
    response = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "mail when someone replies to your topic" in page_text(response)
    mail.outbox.clear()
    with app.test_request_context():
        posting.create_reply(
            db.session.get(User, river.id), db.session.get(Topic, topic.id), "And again"
        )
    assert mail.outbox == []  # the notice is on the site; no mail
    assert settings_of(app, fern).notify_quote is True


class TestRateLimits:
    @pytest.fixture
    def app_config(self, migrated_database):
        return {
            **app_settings(migrated_database, None),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }

    def test_the_page_is_limited_per_address(self, client, make, app):
        river = make.user("river")
        link = link_for(app, river, MailKind.DIGEST)
        statuses = [client.get(link).status_code for _ in range(21)]
        assert statuses == [200] * 20 + [429]

    def test_one_click_is_limited_per_link_not_per_address(self, client, make, app):
        river, fern = make.user("river"), make.user("fern")
        link = link_for(app, river, MailKind.DIGEST)
        one_click = {"List-Unsubscribe": "One-Click"}
        statuses = [client.post(link, data=one_click).status_code for _ in range(6)]
        # Stopping what is stopped changes nothing (the link stays good, the answer the
        # same), until the repeats are turned away.
        assert statuses == [200, 200, 200, 200, 200, 429]
        # Many members' one-clicks come from one mail provider's address.
        assert client.post(link_for(app, fern, MailKind.DIGEST), data=one_click).status_code == 200
