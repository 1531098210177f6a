"""Email digests: what they hold, when they go (timezones, daylight saving), and that
each member gets each period's digest exactly once, however the sender is run."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from forum import mail
from forum.content import clean_single_line, render_post
from forum.digests import build, run
from forum.extensions import db
from forum.models import (
    DigestDelivery,
    MailSettings,
    OutboxMessage,
    Post,
    PostStatus,
    Topic,
    User,
    utcnow,
)
from forum.services import mail_settings, post_state, posting
from tests.helpers.digests import digests_to, follow_board, parts, send, subscribe
from tests.helpers.html_oracle import PAYLOADS, check_page
from tests.helpers.moderation import decide, item_for
from tests.helpers.smtp import SmtpServer, running_smtp_server, smtp_settings

# --- helpers ----------------------------------------------------------------------------------


def set_status(app, post_id: int, status: str) -> None:
    with app.app_context():
        post_state.change_status(db.session.get(Post, post_id), status)
        db.session.commit()


def deliveries(app, user) -> list[tuple[str, str]]:
    with app.app_context():
        return list(
            db.session.execute(
                sa.select(DigestDelivery.period, DigestDelivery.status)
                .where(DigestDelivery.user_id == user.id)
                .order_by(DigestDelivery.id)
            )
        )


# --- what a digest holds ------------------------------------------------------------------------


def test_a_digest_brings_what_is_new_in_followed_boards_and_nothing_unpublished(make, app):
    board, elsewhere = make.board("general", "General"), make.board("other", "Other")
    reader = make.user("reader")
    writer, friend = make.user("writer"), make.user("friend")
    newcomer = make.user("newcomer", trusted=False)
    follow_board(app, reader, board)

    talk = make.topic(writer, board, "Feeling low today", "Some words about a hard week")
    make.reply(friend, talk, "You are not alone in this")
    make.reply(reader, talk, "My own reply is not news to me")
    hidden = make.reply(friend, talk, "A hidden reply must not travel")
    rejected = make.reply(friend, talk, "A rejected reply must not travel")
    deleted = make.reply(friend, talk, "A deleted reply must not travel")
    for post, status in (
        (hidden, PostStatus.HIDDEN),
        (rejected, PostStatus.REJECTED),
        (deleted, PostStatus.DELETED),
    ):
        set_status(app, post.id, status)
    waiting = make.topic(newcomer, board, "A waiting topic", "Pending words must not travel")
    warned = make.topic(
        writer, board, "A hard day", "Graphic words behind a warning", content_warning="self-harm"
    )
    with app.test_request_context():
        posting.create_reply(
            db.session.get(User, friend.id),
            db.session.get(Topic, warned.id),
            "Graphic words in a reply too",
            content_warning="self-harm",
        )
    lonely = make.topic(friend, board, "Anyone else awake at night?", "Nobody answered yet")
    make.topic(writer, elsewhere, "Not in a followed board", "Elsewhere words")
    with app.app_context():
        assert (
            db.session.scalar(sa.select(Post.status).where(Post.topic_id == waiting.id))
            == PostStatus.PENDING
        )
    subscribe(app, reader, due_now=True)

    report = send(app)

    assert (report.sent, report.empty, report.failed) == (1, 0, 0)
    [message] = digests_to("reader@example.org")
    assert message["Subject"] == "Your daily digest from Kindred"
    text, html = parts(message)
    for body in (text, html):
        assert "Feeling low today" in body and "You are not alone in this" in body
        assert "Some words about a hard week" in body
        for absent in (
            "My own reply",
            "hidden reply",
            "rejected reply",
            "deleted reply",
            "A waiting topic",
            "Pending words",
            "Graphic words",
            "Not in a followed board",
            "Elsewhere words",
        ):
            assert absent not in body, absent
        assert "A hard day" in body and "Content warning: self-harm" in body
        assert "Waiting for a first reply" in body and "Anyone else awake at night?" in body
    assert f"https://kindred.example/t/{talk.id}" in text
    assert f'href="https://kindred.example/t/{lonely.id}"' in html
    links = re.findall(r"https?://[^\s\"'<>]+", text + html)
    assert links and all(link.startswith("https://kindred.example/") for link in links)
    # No popularity counts: no "N replies", "N likes", "N views".
    assert not re.search(r"\b\d+ (replies|likes|views|reactions)\b", text + html)


def test_a_content_warned_topic_waiting_for_a_first_reply_carries_its_label(make, app):
    board = make.board("general", "General")
    reader, writer = make.user("reader"), make.user("writer")
    follow_board(app, reader, board)
    warned = make.topic(
        writer,
        board,
        "A night I want to talk about",
        "Words behind a warning",
        content_warning="suicide",
    )
    make.topic(writer, board, "Anyone up for a walk?", "No warning on this one")
    subscribe(app, reader, due_now=True)

    send(app)

    [message] = digests_to("reader@example.org")
    text, html = parts(message)
    assert "Waiting for a first reply" in text and "Waiting for a first reply" in html
    assert (
        f"[Content warning: suicide] A night I want to talk about, in General: "
        f"https://kindred.example/t/{warned.id}"
    ) in text
    assert (
        f'<li>Content warning: suicide. <a href="https://kindred.example/t/{warned.id}">'
        "A night I want to talk about</a>, in General</li>"
    ) in html
    for body in (text, html):
        assert "Words behind a warning" not in body
        assert body.count("Content warning:") == 1  # the other topic has none
        assert "Anyone up for a walk?" in body


def test_a_digest_carries_one_click_unsubscribe_headers_and_link(make, app):
    board = make.board()
    reader, writer = make.user("reader"), make.user("writer")
    follow_board(app, reader, board)
    make.topic(writer, board, "Hello", "Hello everyone")
    subscribe(app, reader, due_now=True)
    send(app)

    [message] = digests_to("reader@example.org")
    unsubscribe = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert unsubscribe[0].startswith("https://kindred.example/mail/unsubscribe/")
    assert unsubscribe[1].startswith("mailto:")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(message)
    assert unsubscribe[0] in text and unsubscribe[0] in html
    with app.app_context():
        settings, kind = mail_settings.read_unsubscribe_token(unsubscribe[0].rsplit("/", 1)[1])
        assert (settings.user_id, kind) == (reader.id, "digest")


def test_nothing_new_means_no_email_but_the_period_is_recorded(make, app):
    board = make.board()
    reader = make.user("reader")
    follow_board(app, reader, board)
    subscribe(app, reader, due_now=True)

    report = send(app)

    assert (report.members, report.sent, report.empty) == (1, 0, 1)
    assert digests_to("reader@example.org") == []
    assert [status for _, status in deliveries(app, reader)] == ["empty"]


def test_the_next_digest_covers_only_what_came_after_the_last(make, app):
    board = make.board()
    reader, writer = make.user("reader"), make.user("writer")
    follow_board(app, reader, board)
    first = make.topic(writer, board, "First topic", "First words")
    subscribe(app, reader, due_now=True)
    send(app)
    second = make.topic(writer, board, "Second topic", "Second words")
    make.reply(writer, first, "A later reply to the first")
    with app.app_context():
        next_due = db.session.get(MailSettings, reader.id).next_digest_at
    assert next_due > utcnow()
    assert send(app, now=next_due - timedelta(minutes=1)).members == 0  # not yet

    send(app, now=next_due + timedelta(minutes=1))

    earlier, later = digests_to("reader@example.org")
    text, _ = parts(later)
    assert "Second topic" in text and "A later reply to the first" in text
    assert "First words" not in text
    assert f"/t/{second.id}" in text


def test_members_who_cannot_be_mailed_get_no_digest(make, app):
    board = make.board()
    writer = make.user("writer")
    unverified = make.user("unverified", verified=False)
    banned = make.user("banned")
    for member in (unverified, banned):
        follow_board(app, member, board)
        subscribe(app, member, due_now=True)
    with app.app_context():
        db.session.get(User, banned.id).banned_at = utcnow()
        db.session.commit()
    make.topic(writer, board, "Hello", "Hello everyone")

    report = send(app)

    assert (report.members, report.sent, report.skipped) == (2, 0, 2)
    assert mail.outbox == [] or not [m for m in mail.outbox if "digest" in m["Subject"]]


def test_a_post_edited_between_two_batches_of_a_run_shows_its_new_words(make, app):
    """The run-wide cache keeps excerpts from batch to batch, but never past an edit."""
    board = make.board()
    writer, early, late = make.user("writer"), make.user("early"), make.user("late")
    topic = make.topic(writer, board, "Evenings", "Hello everyone")
    reply = make.reply(writer, topic, "The first version of my words")
    for member in (early, late):
        follow_board(app, member, board)
    cache, now = build.RunCache(), utcnow()

    def excerpts_for(member) -> list[str]:
        with app.app_context():
            [digest] = build.build_digests(
                [build.Member(member.id, member.username, now - timedelta(hours=1), utcnow())],
                cache,
            )
            return [post.excerpt for topic in digest.topics for post in topic.posts]

    assert "The first version of my words" in excerpts_for(early)
    with app.app_context():
        posting.edit_post(
            db.session.get(User, writer.id),
            db.session.get(Post, reply.id),
            "Rewritten after a night's sleep",
        )
    assert "Rewritten after a night's sleep" in excerpts_for(late)
    assert "The first version of my words" not in excerpts_for(late)


def test_a_batch_loads_its_content_in_a_fixed_number_of_queries(make, app):
    boards = [make.board(f"board{n}", f"Board {n}") for n in range(3)]
    writer = make.user("writer")
    for board in boards:
        for n in range(3):
            topic = make.topic(writer, board, f"Topic {n} in {board.slug}", "Words")
            make.reply(writer, topic, "More words")

    def statements_for(member_count: int) -> int:
        members = [make.user() for _ in range(member_count)]
        for index, member in enumerate(members):
            follow_board(app, member, boards[index % 3])
        now = utcnow()
        statements = []

        def count(conn, cursor, statement, *rest):
            statements.append(statement)

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                digests = build.build_digests(
                    [
                        build.Member(member.id, member.username, now - timedelta(hours=1), now)
                        for member in members
                    ]
                )
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        assert all(digest.topics for digest in digests)
        return len(statements)

    assert statements_for(2) == statements_for(30)


# --- when digests go ------------------------------------------------------------------------------


def run_clock(app, start: datetime, hours: int, step_minutes: int = 15) -> list[datetime]:
    """Run the sender every `step_minutes` like cron; return the times a digest was recorded."""
    recorded, moment = [], start
    while moment < start + timedelta(hours=hours):
        report = send(app, now=moment)
        if report.sent or report.empty:
            recorded.append(moment)
        moment += timedelta(minutes=step_minutes)
    return recorded


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "hour", "expected_utc", "expected_periods"),
    [
        # 11 pm in Los Angeles (UTC-8 in November) is 07:00 UTC the next day.
        (
            "America/Los_Angeles",
            23,
            ["2026-11-27T07:00", "2026-11-28T07:00"],
            ["2026-11-26", "2026-11-27"],
        ),
        # Midnight in Auckland (UTC+13 in November) is 11:00 UTC the day before. Chosen at
        # 21:00 there, after that day's midnight: that day's digest goes with the next run.
        (
            "Pacific/Auckland",
            0,
            ["2026-11-26T08:15", "2026-11-26T11:00", "2026-11-27T11:00"],
            ["2026-11-26", "2026-11-27", "2026-11-28"],
        ),
        # Chosen at 08:00 with the hour 08:00: the hour has come, so today's goes at once.
        (
            "UTC",
            8,
            ["2026-11-26T08:15", "2026-11-27T08:00", "2026-11-28T08:00"],
            ["2026-11-26", "2026-11-27", "2026-11-28"],
        ),
    ],
)
def test_a_daily_digest_goes_once_a_day_at_the_members_hour_in_their_zone(
    make, app, zone, hour, expected_utc, expected_periods
):
    reader = make.user("reader")
    start = at("2026-11-26T08:00")
    subscribe(app, reader, hour=hour, zone=zone, now=start)

    sent_at = run_clock(app, start + timedelta(minutes=15), hours=48)

    assert sent_at == [at(moment) for moment in expected_utc]
    assert [period for period, _ in deliveries(app, reader)] == expected_periods


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # Chosen at noon, after that day's 01:00: that day's digest goes with the next run.
        # Spring forward (29 March 2026): 01:00 does not exist in London that day; the
        # digest goes at the first moment after the gap (02:00 BST = 01:00 UTC).
        (
            "2026-03-27T12:00",
            ["2026-03-27T12:15", "2026-03-28T01:00", "2026-03-29T01:00", "2026-03-30T00:00"],
        ),
        # Fall back (25 October 2026): 01:00 happens twice; the digest goes the first time.
        (
            "2026-10-23T12:00",
            ["2026-10-23T12:15", "2026-10-24T00:00", "2026-10-25T00:00", "2026-10-26T01:00"],
        ),
    ],
)
def test_daylight_saving_changes_neither_skip_nor_double_a_digest(make, app, start, expected_utc):
    reader = make.user("reader")
    subscribe(app, reader, hour=1, zone="Europe/London", now=at(start))

    sent_at = run_clock(app, at(start) + timedelta(minutes=15), hours=3 * 24)

    assert sent_at == [at(moment) for moment in expected_utc]
    periods = [period for period, _ in deliveries(app, reader)]
    assert len(periods) == len(set(periods)) == 4


def test_a_weekly_digest_goes_on_the_chosen_day(make, app):
    reader = make.user("reader")
    start = at("2026-11-26T12:00")  # a Thursday
    subscribe(app, reader, digest="weekly", weekday=0, hour=9, zone="Europe/Paris", now=start)

    sent_at = run_clock(app, start, hours=15 * 24, step_minutes=60)

    # This week's Monday had passed and no digest had gone this week: it goes at once.
    # Then Mondays at 09:00 in Paris (UTC+1 in winter).
    assert sent_at == [start, at("2026-11-30T08:00"), at("2026-12-07T08:00")]
    assert [period for period, _ in deliveries(app, reader)] == ["2026-W48", "2026-W49", "2026-W50"]


def test_a_paused_member_gets_no_digest_until_the_pause_ends(make, app):
    reader = make.user("reader")
    start = at("2026-11-26T12:00")
    subscribe(app, reader, hour=8, now=start)
    with app.app_context():
        settings = db.session.get(MailSettings, reader.id)
        settings.paused_until = start + timedelta(days=14)
        mail_settings.reschedule(settings, start)
        db.session.commit()

    sent_at = run_clock(app, start, hours=16 * 24, step_minutes=60)

    assert sent_at == [at("2026-12-11T08:00"), at("2026-12-12T08:00")]


def test_changing_the_hour_after_todays_digest_does_not_send_a_second_one(make, app):
    reader = make.user("reader")
    start = at("2026-11-26T07:00")
    subscribe(app, reader, hour=8, now=start)
    assert run_clock(app, start, hours=2) == [at("2026-11-26T08:00")]
    with app.app_context():
        settings = db.session.get(MailSettings, reader.id)
        settings.digest_hour = 20
        mail_settings.reschedule(settings, at("2026-11-26T09:00"))
        db.session.commit()

    report = send(app, now=at("2026-11-26T20:15"))

    assert (report.members, report.skipped, report.sent + report.empty) == (1, 1, 0)
    assert [period for period, _ in deliveries(app, reader)] == ["2026-11-26"]
    assert run_clock(app, at("2026-11-26T21:00"), hours=24) == [at("2026-11-27T20:00")]


def date_the_news(app, topic, reply, written) -> None:
    """Put a topic and its reply on the test's clock, the reply at `written`."""
    with app.app_context():
        for post in db.session.scalars(sa.select(Post).where(Post.topic_id == topic.id)):
            post.published_at = post.created_at = written - timedelta(days=3)
        db.session.get(Post, reply.id).published_at = written
        dated = db.session.get(Topic, topic.id)
        dated.created_at, dated.last_post_at = written - timedelta(days=3), written
        db.session.commit()


def test_a_daily_digest_chosen_after_todays_hour_goes_today(make, app):
    """README: a digest is sent once the member's hour has passed and they have not had
    this period's digest; choosing at 15:00 with the hour 09:00 is such a case."""
    board = make.board()
    reader, writer = make.user("reader"), make.user("writer")
    follow_board(app, reader, board)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    reply = make.reply(writer, topic, "Written after the digest was chosen")
    subscribe(app, reader, hour=9, zone="Europe/Paris", now=at("2026-11-26T14:00"))
    date_the_news(app, topic, reply, at("2026-11-26T14:05"))

    sent_at = run_clock(app, at("2026-11-26T14:15"), hours=24)

    assert sent_at == [at("2026-11-26T14:15"), at("2026-11-27T08:00")]
    assert [period for period, _ in deliveries(app, reader)] == ["2026-11-26", "2026-11-27"]
    [first] = digests_to("reader@example.org")  # the second had nothing new
    assert "Written after the digest was chosen" in parts(first)[0]


def test_a_digest_that_goes_at_once_holds_the_day_before_it_was_chosen(make, app):
    """Sent at once, the first digest holds what today's 09:00 digest would have: the
    news of the day before that hour, not only what came after the member chose."""
    board = make.board()
    reader, writer = make.user("reader"), make.user("writer")
    follow_board(app, reader, board)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    reply = make.reply(writer, topic, "Written at noon, before the digest was chosen")
    date_the_news(app, topic, reply, at("2026-11-26T11:00"))
    subscribe(app, reader, hour=9, zone="Europe/Paris", now=at("2026-11-26T14:00"))

    assert run_clock(app, at("2026-11-26T14:15"), hours=1) == [at("2026-11-26T14:15")]
    [first] = digests_to("reader@example.org")
    assert "Written at noon, before the digest was chosen" in parts(first)[0]


def test_a_digest_chosen_before_todays_hour_waits_for_it(make, app):
    reader = make.user("reader")
    subscribe(app, reader, hour=9, now=at("2026-11-26T08:59"))

    assert run_clock(app, at("2026-11-26T08:45"), hours=2) == [at("2026-11-26T09:00")]


def test_a_weekly_digest_chosen_before_this_weeks_day_waits_for_it(make, app):
    reader = make.user("reader")
    start = at("2026-11-24T12:00")  # a Tuesday; Friday's digest is still to come this week
    subscribe(app, reader, digest="weekly", weekday=4, hour=9, now=start)

    assert run_clock(app, start, hours=4 * 24, step_minutes=60) == [at("2026-11-27T09:00")]


def test_an_earlier_hour_after_todays_digest_waits_for_tomorrow(make, app):
    reader = make.user("reader")
    start = at("2026-11-26T07:00")
    subscribe(app, reader, hour=8, now=start)
    assert run_clock(app, start, hours=2) == [at("2026-11-26T08:00")]
    with app.app_context():
        settings = db.session.get(MailSettings, reader.id)
        settings.digest_hour = 6
        mail_settings.reschedule(settings, at("2026-11-26T09:00"))
        db.session.commit()

    assert run_clock(app, at("2026-11-26T09:00"), hours=24) == [at("2026-11-27T06:00")]


def test_less_often_after_todays_daily_digest_sends_no_weekly_one_at_once(make, app):
    """A daily digest this week counts as this week's: moving to weekly on a Thursday
    after Monday's day has passed waits for next Monday."""
    reader = make.user("reader")
    start = at("2026-11-26T07:00")  # a Thursday
    subscribe(app, reader, hour=8, now=start)
    assert run_clock(app, start, hours=2) == [at("2026-11-26T08:00")]
    with app.app_context():
        settings = db.session.get(MailSettings, reader.id)
        settings.digest = "weekly"
        mail_settings.reschedule(settings, at("2026-11-26T09:00"))
        db.session.commit()

    sent_at = run_clock(app, at("2026-11-26T09:00"), hours=5 * 24, step_minutes=60)

    assert sent_at == [at("2026-11-30T08:00")]


def test_a_late_digest_for_yesterday_is_not_todays(make, app):
    """Yesterday's digest, sent after midnight by a late run, is not this period's: a
    member who saves their settings once today's hour has passed still gets today's."""
    reader = make.user("reader")
    subscribe(app, reader, hour=8, now=at("2026-11-24T07:00"))
    assert run_clock(app, at("2026-11-25T01:00"), hours=1) == [at("2026-11-25T01:00")]
    with app.app_context():
        settings = db.session.get(MailSettings, reader.id)
        mail_settings.reschedule(settings, at("2026-11-25T08:05"))
        db.session.commit()

    assert run_clock(app, at("2026-11-25T08:15"), hours=24) == [
        at("2026-11-25T08:15"),
        at("2026-11-26T08:00"),
    ]
    assert [period for period, _ in deliveries(app, reader)] == [
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
    ]


def test_a_late_run_does_not_stop_the_next_periods_digest(make, app):
    reader = make.user("reader")
    subscribe(app, reader, hour=8, now=at("2026-11-24T07:00"))

    sent_at = run_clock(app, at("2026-11-25T01:00"), hours=8)

    assert sent_at == [at("2026-11-25T01:00"), at("2026-11-25T08:00")]
    assert [period for period, _ in deliveries(app, reader)] == ["2026-11-24", "2026-11-25"]


# --- exactly once ---------------------------------------------------------------------------


def many_readers(make, app, board, count: int) -> list[User]:
    readers = [make.user(f"reader{n}") for n in range(count)]
    for reader in readers:
        follow_board(app, reader, board)
        subscribe(app, reader, due_now=True)
    return readers


def test_running_twice_sends_nothing_twice(make, app):
    board = make.board()
    writer = make.user("writer")
    readers = many_readers(make, app, board, 5)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    make.reply(writer, topic, "And welcome")

    first, second = send(app, batch_size=2), send(app, batch_size=2)

    assert (first.members, first.sent, second.members) == (5, 5, 0)
    for reader in readers:
        assert len(digests_to(f"{reader.username}@example.org")) == 1


def test_a_crash_halfway_leaves_the_rest_for_the_next_run(make, app, monkeypatch):
    board = make.board()
    writer = make.user("writer")
    readers = many_readers(make, app, board, 6)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    make.reply(writer, topic, "And welcome")
    real_build, batches = build.build_digests, []

    def crash_on_the_second_batch(members, cache=None):
        batches.append(members)
        if len(batches) == 2:
            raise RuntimeError("the process died here")
        return real_build(members, cache)

    monkeypatch.setattr(run, "build_digests", crash_on_the_second_batch)
    with pytest.raises(RuntimeError):
        send(app, batch_size=2)
    assert len([m for m in mail.outbox if "digest" in m["Subject"]]) == 2

    monkeypatch.setattr(run, "build_digests", real_build)
    report = send(app, batch_size=2)

    assert report.sent == 4
    for reader in readers:
        assert len(digests_to(f"{reader.username}@example.org")) == 1, reader.username


def test_two_senders_at_once_send_each_digest_once(make, app):
    board = make.board()
    writer = make.user("writer")
    readers = many_readers(make, app, board, 24)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    make.reply(writer, topic, "And welcome")
    now, reports, errors = utcnow(), [], []
    barrier = threading.Barrier(2)

    def sender():
        try:
            with app.app_context():
                barrier.wait()
                reports.append(run.send_due(now, batch_size=3))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(report.sent for report in reports) == 24
    for reader in readers:
        assert len(digests_to(f"{reader.username}@example.org")) == 1, reader.username
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.kind == "digest")
            )
            == 24
        )


def test_dry_run_and_limit_from_the_command_line(make, app):
    board = make.board()
    writer = make.user("writer")
    readers = many_readers(make, app, board, 3)
    make.topic(writer, board, "Hello", "Hello everyone")
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["digests", "send", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 members due: would send 3" in dry.output
    for reader in readers:
        assert f"{reader.username}: daily digest for" in dry.output
    assert mail.outbox == []

    limited = runner.invoke(args=["digests", "send", "--limit", "2"])
    assert limited.exit_code == 0, limited.output
    assert "2 members due: sent 2" in limited.output
    rest = runner.invoke(args=["digests", "send"])
    assert "1 members due: sent 1" in rest.output
    assert sorted(m["To"].addresses[0].username for m in mail.outbox) == sorted(
        reader.username for reader in readers
    )


def test_old_digest_records_are_forgotten(make, app):
    reader = make.user("reader")
    subscribe(app, reader, due_now=True)
    send(app)
    with app.app_context():
        run.prune(utcnow() + timedelta(days=30))
        assert len(deliveries(app, reader)) == 1
        run.prune(utcnow() + timedelta(days=36))
        assert deliveries(app, reader) == []


# --- hostile text ---------------------------------------------------------------------------------


def test_every_xss_payload_as_titles_and_posts_in_a_real_digest_passes_the_oracle(app):
    """The digest templates with every payload as a topic title, a username and a post
    (its excerpt comes from the sanitiser's stored HTML), checked like the pages."""
    failures = []
    now = utcnow()
    member = build.Member(1, "fern", now - timedelta(days=1), now)
    with app.app_context():
        for start in range(0, len(PAYLOADS), 50):
            chunk = PAYLOADS[start : start + 50]
            topics = [
                build.DigestTopic(
                    index,
                    clean_single_line(payload.text)[:150] or "untitled",
                    "General",
                    "general",
                    f"https://example.org/t/{index}",
                    is_new=True,
                    posts=[
                        build.DigestPost(
                            index,
                            payload.text[:30],
                            now,
                            build.excerpt_of(render_post(payload.text)),
                            None,
                            f"https://example.org/p/{index}",
                        )
                    ],
                )
                for index, payload in enumerate(chunk, start + 1)
            ]
            digest = build.Digest(member, topics, topics[:5])
            message = run._message(digest, _member_stub(), _settings_stub())
            markup = parts(message)[1]
            if problems := check_page(markup).problems:
                failures.append(f"payloads {start}-{start + 49}: {problems[:3]}")
    assert not failures, "\n".join(failures[:8])


def _member_stub() -> User:
    return User(id=1, username="fern", email="fern@example.org")


def _settings_stub() -> MailSettings:
    return MailSettings(user_id=1, digest="daily", timezone="UTC", version=1)


def test_a_mail_server_dropping_the_connection_halfway_loses_and_doubles_nothing(make, app):
    board = make.board()
    writer = make.user("writer")
    readers = many_readers(make, app, board, 6)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    make.reply(writer, topic, "And welcome")
    with running_smtp_server() as server:
        app.config.update(smtp_settings(server))
        server.answer_at[3] = SmtpServer.DROP

        report = send(app, batch_size=3)

        assert (report.members, report.sent) == (6, 6)
        assert server.connections >= 2  # the rest went on a new connection
        for reader in readers:
            assert len(server.to(f"{reader.username}@example.org")) == 1, reader.username


def test_digests_built_while_the_mail_server_is_down_go_on_the_next_run(make, app):
    board = make.board()
    writer = make.user("writer")
    readers = many_readers(make, app, board, 4)
    make.reply(writer, make.topic(writer, board, "Hello", "Hello everyone"), "Welcome")
    down = SmtpServer()  # nothing listens on its port
    app.config.update(smtp_settings(down, SMTP_TIMEOUT=2))

    first = send(app)

    assert (first.members, first.sent) == (4, 4)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
            == 4
        )
    with running_smtp_server() as server:
        app.config.update(smtp_settings(server))
        second = send(app)  # the next cron run: nobody is due, the outbox sends the rest
        assert second.members == 0
        for reader in readers:
            assert len(server.to(f"{reader.username}@example.org")) == 1, reader.username


# --- news is never lost between two digests ---------------------------------------------------


def test_a_reply_approved_after_waiting_is_news_in_the_next_digest(make, app):
    board = make.board()
    reader, writer = make.user("reader"), make.user("writer")
    newcomer = make.user("newcomer", trusted=False)
    moderator = make.user("keeper", role="moderator", moderates=(board,))
    follow_board(app, reader, board)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    make.reply(writer, topic, "Welcome all")
    held = make.reply(newcomer, topic, "A first reply that waited for a moderator")
    subscribe(app, reader, due_now=True)
    send(app)
    [first] = digests_to("reader@example.org")
    assert "waited for a moderator" not in first.as_string()

    decide(app, moderator, item_for(app, held.id).id, "approve")
    with app.app_context():
        next_due = db.session.get(MailSettings, reader.id).next_digest_at
    send(app, now=next_due + timedelta(minutes=1))

    _, second = digests_to("reader@example.org")
    assert "A first reply that waited for a moderator" in parts(second)[0]


def test_quoted_words_stay_out_of_excerpts(make, app):
    board = make.board()
    reader, writer, friend = make.user("reader"), make.user("writer"), make.user("friend")
    follow_board(app, reader, board)
    topic = make.topic(
        writer, board, "A hard day", "Words behind a warning", content_warning="self-harm"
    )
    with app.test_request_context():
        quoted = db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id))
        posting.create_reply(
            db.session.get(User, friend.id),
            db.session.get(Topic, topic.id),
            "> Words behind a warning\n\nSending you a hug",
            quote_of=quoted,
        )
    subscribe(app, reader, due_now=True)
    send(app)

    [message] = digests_to("reader@example.org")
    text, html = parts(message)
    for body in (text, html):
        assert "Sending you a hug" in body
        assert "Words behind a warning" not in body


def test_a_25_hour_day_loses_no_news(make, app):
    """London falls back on 25 October 2026: the day from one 08:00 digest to the next
    is 25 hours long, and a reply written in its first hour is in the second digest."""
    board = make.board()
    reader, writer = make.user("reader"), make.user("writer")
    follow_board(app, reader, board)
    topic = make.topic(writer, board, "Hello", "Hello everyone")
    subscribe(app, reader, hour=8, zone="Europe/London", now=at("2026-10-24T06:00"))
    assert run_clock(app, at("2026-10-24T06:00"), hours=2) == [at("2026-10-24T07:00")]
    reply = make.reply(writer, topic, "Written half an hour after the digest")
    with app.app_context():  # the test's clock is a month back: date what was written
        for post in db.session.scalars(sa.select(Post).where(Post.topic_id == topic.id)):
            post.published_at = post.created_at = at("2026-10-20T12:00")
        db.session.get(Post, reply.id).published_at = at("2026-10-24T07:30")
        written = db.session.get(Topic, topic.id)
        written.created_at, written.last_post_at = at("2026-10-20T12:00"), at("2026-10-24T07:30")
        db.session.commit()

    assert run_clock(app, at("2026-10-24T08:00"), hours=26) == [at("2026-10-25T08:00")]

    [second] = digests_to("reader@example.org")  # the first had nothing new: no mail
    assert "Written half an hour after the digest" in parts(second)[0]


def test_a_digest_that_could_not_be_built_keeps_its_news_for_the_next(make, app, monkeypatch):
    board = make.board()
    reader, writer = make.user("reader"), make.user("writer")
    follow_board(app, reader, board)
    make.reply(writer, make.topic(writer, board, "Hello", "Hello everyone"), "Kept for later")
    subscribe(app, reader, due_now=True)
    real_message = run._message

    def broken(*args):
        raise ValueError("a template bug")

    monkeypatch.setattr(run, "_message", broken)
    assert send(app).failed == 1
    monkeypatch.setattr(run, "_message", real_message)
    with app.app_context():
        next_due = db.session.get(MailSettings, reader.id).next_digest_at
    send(app, now=next_due + timedelta(minutes=1))

    [message] = digests_to("reader@example.org")
    assert "Kept for later" in parts(message)[0]
