"""The outbox against a real SMTP server that refuses, stalls and hangs up: every message
is sent once, none is lost, a batch uses one connection, and several senders at once
(threads here; on PostgreSQL too with DATABASE_URL) never send a message twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import mail, outbox
from forum.extensions import db
from forum.models import MailKind, Notice, OutboxBody, OutboxMessage, User, utcnow
from forum.services import mail_settings, notices, transaction
from tests.helpers.moderation import act, item_for, new_client
from tests.helpers.smtp import SmtpServer, running_smtp_server, smtp_settings


@pytest.fixture
def smtp():
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def sending_to(app, smtp):
    app.config.update(smtp_settings(smtp))
    return smtp


def queue_messages(app, count: int, *, user_id=None) -> list[int]:
    """`count` messages in the outbox, to m0@example.org, m1@…; their row ids."""
    with app.app_context(), transaction():
        rows = [
            outbox.queue(
                mail.build_message(
                    f"m{n}@example.org",
                    f"Message {n}",
                    "reset_password",
                    username=f"m{n}",
                    minutes=60,
                    link="https://kindred.example/",
                ),
                user_id=user_id,
                kind=MailKind.MODERATION,
            )
            for n in range(count)
        ]
        db.session.flush()
        return [row.id for row in rows]


def send_waiting(app, limit=None, **options) -> outbox.SendReport:
    with app.app_context():
        return outbox.send_waiting(limit, **options)


def rows(app) -> list[OutboxMessage]:
    with app.app_context():
        found = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for row in found:
            db.session.expunge(row)
        return found


def subjects(server: SmtpServer) -> list[str]:
    return [message["Subject"] for message in server.messages]


def assert_each_sent_once(server: SmtpServer, count: int) -> None:
    assert sorted(subjects(server), key=lambda s: int(s.split()[-1])) == [
        f"Message {n}" for n in range(count)
    ]
    assert len({message["Message-ID"] for message in server.messages}) == count


# --- the good day ----------------------------------------------------------------------


def test_a_batch_goes_over_one_connection_in_order(app, sending_to):
    queue_messages(app, 5)
    report = send_waiting(app)
    assert report == outbox.SendReport(sent=5, failed=0, left=0)
    assert subjects(sending_to) == [f"Message {n}" for n in range(5)]
    assert sending_to.connections == 1
    assert [received.recipients for received in sending_to.received] == [
        [f"m{n}@example.org"] for n in range(5)
    ]
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows(app))


def test_the_message_arrives_as_it_was_built(app, sending_to):
    with app.app_context():
        built = mail.build_message(
            ("Fern", "fern@example.org"),
            "Hello “there”",
            "notice",
            unsubscribe_url="https://kindred.example/mail/unsubscribe/t",
            username="Fern",
            message="Ünïcode\n\nand more",
            link="",
            kind="approved",
            mail_kind="moderation",
            notices_url="https://kindred.example/notices",
        )
        with transaction():
            outbox.queue(built, user_id=None, kind=MailKind.MODERATION)
    send_waiting(app)
    [received] = sending_to.messages
    for header in (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ):
        assert received[header] == built[header], header
    # Lines end in CRLF on the wire, as RFC 5322 has them.
    assert (
        received.get_body(("plain",)).get_content().replace("\r\n", "\n")
        == built.get_body(("plain",)).get_content()
    )
    assert "Ünïcode" in received.get_body(("html",)).get_content()


def test_nothing_waiting_means_no_connection(app, sending_to):
    assert send_waiting(app) == outbox.SendReport(sent=0, failed=0, left=0)
    assert sending_to.connections == 0


def test_a_limit_leaves_the_rest_for_the_next_run(app, sending_to):
    queue_messages(app, 5)
    assert send_waiting(app, limit=2) == outbox.SendReport(sent=2, failed=0, left=3)
    assert send_waiting(app) == outbox.SendReport(sent=3, failed=0, left=0)
    assert_each_sent_once(sending_to, 5)


def test_a_rolled_back_transaction_leaves_nothing_to_send(app, sending_to):
    with app.app_context(), pytest.raises(RuntimeError), transaction():
        outbox.queue(
            mail.build_message(
                "a@example.org", "Never", "reset_password", username="a", minutes=60, link="x"
            ),
            user_id=None,
            kind=MailKind.MODERATION,
        )
        raise RuntimeError("the change failed")
    assert rows(app) == []
    assert send_waiting(app).sent == 0 and sending_to.messages == []


def test_the_mail_command_sends_and_prints_the_counts(app, runner, sending_to):
    queue_messages(app, 3)
    sending_to.refuse_recipient["m1@example.org"] = "550 no such mailbox"
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 2, failed 1, waiting 0." in result.output
    assert sorted(subjects(sending_to)) == ["Message 0", "Message 2"]  # several connections


# --- a server that is unwell --------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "451 4.3.0 try again later",
        "421 4.7.0 closing, too busy",
        "452 4.3.1 insufficient storage",
        SmtpServer.DROP,
    ],
)
def test_a_temporary_failure_at_the_third_message_leaves_the_rest_for_later(
    app, sending_to, answer
):
    queue_messages(app, 6)
    sending_to.answer_at[3] = answer

    report = send_waiting(app)
    assert report == outbox.SendReport(sent=2, failed=0, left=4)
    assert subjects(sending_to) == ["Message 0", "Message 1"]
    third = rows(app)[2]
    assert third.sent_at is None and third.failed_at is None and third.claimed_at is None
    assert third.attempts == 1
    expected = "SMTPServerDisconnected" if answer == SmtpServer.DROP else answer[:3]
    assert third.last_error.startswith(expected), third.last_error

    assert send_waiting(app) == outbox.SendReport(sent=4, failed=0, left=0)
    assert_each_sent_once(sending_to, 6)
    assert all(row.sent_at is not None for row in rows(app))


def test_a_temporary_refusal_of_one_recipient_waits_without_holding_up_the_others(app, sending_to):
    queue_messages(app, 3)
    sending_to.refuse_recipient["m1@example.org"] = "450 4.2.1 mailbox busy"
    assert send_waiting(app) == outbox.SendReport(sent=2, failed=0, left=1)
    assert subjects(sending_to) == ["Message 0", "Message 2"]
    assert sending_to.connections == 1
    del sending_to.refuse_recipient["m1@example.org"]
    assert send_waiting(app) == outbox.SendReport(sent=1, failed=0, left=0)
    assert_each_sent_once(sending_to, 3)


def test_a_recipient_refused_for_days_is_given_up(app, sending_to):
    queue_messages(app, 2)
    sending_to.refuse_recipient["m1@example.org"] = "452 4.2.2 mailbox full"
    assert send_waiting(app) == outbox.SendReport(sent=1, failed=0, left=1)
    later = utcnow() + outbox.RETRY_FOR - timedelta(hours=1)
    assert send_waiting(app, now=later) == outbox.SendReport(sent=0, failed=0, left=1)
    days_later = utcnow() + outbox.RETRY_FOR + timedelta(hours=1)
    assert send_waiting(app, now=days_later) == outbox.SendReport(sent=0, failed=1, left=0)
    given_up = rows(app)[1]
    assert given_up.failed_at is not None and given_up.last_error.startswith("452")
    assert given_up.attempts == 3


def test_a_permanent_refusal_fails_that_message_only(app, sending_to):
    queue_messages(app, 4)
    sending_to.refuse_recipient["m1@example.org"] = "550 5.1.1 m1@example.org: no such user"
    sending_to.answer_at[3] = "554 5.6.0 message refused"  # the fourth DATA: message 3

    assert send_waiting(app) == outbox.SendReport(sent=2, failed=2, left=0)
    assert subjects(sending_to) == ["Message 0", "Message 2"]
    assert sending_to.connections == 1  # the batch went on after each refusal
    refused = [row for row in rows(app) if row.failed_at is not None]
    assert [row.recipient for row in refused] == ["m1@example.org", "m3@example.org"]
    assert refused[0].last_error.startswith("550")
    assert "m1@example.org" not in refused[0].last_error  # no addresses in errors and logs
    assert refused[1].last_error.startswith("554")
    assert all(row.sent_at is None for row in refused)

    assert send_waiting(app) == outbox.SendReport(sent=0, failed=0, left=0)  # none again
    assert len(sending_to.messages) == 2


def test_a_server_that_is_down_loses_nothing(app):
    server = SmtpServer()  # not started: nothing listens on its port
    app.config.update(smtp_settings(server, SMTP_TIMEOUT=2))
    queue_messages(app, 3)
    assert send_waiting(app) == outbox.SendReport(sent=0, failed=0, left=3)
    first, *others = rows(app)
    assert first.attempts == 1 and "Connection" in first.last_error
    assert all(row.attempts == 0 for row in others)  # never tried

    with running_smtp_server() as started:
        app.config.update(smtp_settings(started))
        assert send_waiting(app) == outbox.SendReport(sent=3, failed=0, left=0)
        assert_each_sent_once(started, 3)


def test_a_refused_login_fails_no_message(app, sending_to):
    """Our account, not the message: everything waits until the setting is put right."""
    app.config.update(SMTP_USERNAME="kindred", SMTP_PASSWORD="wrong")  # no AUTH offered
    queue_messages(app, 2)
    assert send_waiting(app) == outbox.SendReport(sent=0, failed=0, left=2)
    assert all(row.failed_at is None for row in rows(app))


# --- senders that die, and several at once -------------------------------------------------


def test_a_claim_left_by_a_sender_that_died_is_taken_again_only_once_stale(app, sending_to):
    ids = queue_messages(app, 2)
    now = utcnow()
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == ids[0])
            .values(claimed_at=now - timedelta(minutes=11))
        )
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == ids[1])
            .values(claimed_at=now - timedelta(minutes=5))
        )
        db.session.commit()
    # The second is still being sent by someone else: left alone, counted as waiting.
    assert send_waiting(app, now=now) == outbox.SendReport(sent=1, failed=0, left=1)
    assert subjects(sending_to) == ["Message 0"]
    later = now + timedelta(minutes=6)
    assert send_waiting(app, now=later) == outbox.SendReport(sent=1, failed=0, left=0)
    assert subjects(sending_to) == ["Message 0", "Message 1"]
    assert rows(app)[1].sent_at == later


def test_two_senders_at_once_send_each_message_once(app, sending_to, monkeypatch):
    count = 40
    # Each claims a page at a time and keeps only a few claimed ahead: both find work.
    monkeypatch.setattr(outbox, "_PAGE", 5)
    monkeypatch.setattr(outbox.Sending, "BACKLOG", 5)
    queue_messages(app, count)
    sending_to.delay = 0.005  # long enough for the two to interleave
    reports, errors = [], []
    start = threading.Barrier(2)

    def sender():
        try:
            with app.app_context():
                start.wait()
                reports.append(outbox.send_waiting())
        except BaseException as error:  # noqa: B036 (handed to the test's thread)
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(report.sent for report in reports) == count
    assert all(report.sent > 0 for report in reports), reports  # both did some of the work
    assert_each_sent_once(sending_to, count)
    assert sending_to.connections == 2


def test_several_connections_share_a_batch_and_send_each_message_once(app, sending_to):
    queue_messages(app, 30)
    sending_to.delay = 0.005  # each answer takes a while: every connection gets work

    assert send_waiting(app, connections=4) == outbox.SendReport(sent=30, failed=0, left=0)
    assert_each_sent_once(sending_to, 30)
    assert sending_to.connections == 4
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows(app))


@pytest.mark.parametrize("answer", ["421 4.7.0 closing, too busy", SmtpServer.DROP])
def test_with_several_connections_a_failing_server_loses_nothing_and_repeats_nothing(
    app, sending_to, answer
):
    queue_messages(app, 20)
    sending_to.delay = 0.005
    sending_to.answer_at[7] = answer

    first = send_waiting(app, connections=4)
    assert first.sent >= 6 and first.sent + first.left == 20 and first.failed == 0
    assert all(row.claimed_at is None for row in rows(app) if row.sent_at is None)
    assert sum(row.attempts for row in rows(app)) == first.sent + 1  # the refused one

    assert send_waiting(app, connections=4).sent == first.left
    assert_each_sent_once(sending_to, 20)


# --- notices go through the outbox ---------------------------------------------------------


def _notify(app, user, **options):
    with app.test_request_context(), transaction():
        notices.notify(
            db.session.get(User, user.id),
            "hidden",
            "A moderator hid your post",
            "A moderator hid your post.",
            **options,
        )


def test_a_notice_is_sent_as_soon_as_its_transaction_commits(app, make, sending_to):
    fern = make.user("quietfern")
    _notify(app, fern)
    [message] = sending_to.to("quietfern@example.org")
    assert message["Subject"] == "A moderator hid your post"
    [row] = rows(app)
    assert row.sent_at is not None and row.user_id == fern.id and row.kind == "moderation"


def test_a_notice_the_server_refuses_now_waits_and_the_page_still_works(app, make, sending_to):
    board = make.board("general")
    newcomer = make.user("quietfern", trusted=False)
    post = make.reply(newcomer, make.topic(make.user("elm"), board, "Evenings"), "Words")
    browser = new_client(app, make.user("warden", role="moderator", moderates=(board,)))
    sending_to.answer_at[1] = "451 4.3.0 try again later"

    response = act(browser, item_for(app, post.id).id, "approve")
    assert response.status_code == 302
    assert sending_to.messages == []
    with app.app_context():
        assert db.session.scalar(sa.select(Notice.kind)) == "approved"
    waiting = rows(app)  # the approval, and a reply notice to the topic's author
    assert waiting and all(row.sent_at is None for row in waiting)
    assert send_waiting(app) == outbox.SendReport(sent=len(waiting), failed=0, left=0)
    [message] = sending_to.to("quietfern@example.org")
    assert message["Subject"] == "Your post is now visible"


def test_a_notice_sends_only_its_own_mail_not_the_backlog(app, make, sending_to):
    queue_messages(app, 3)  # e.g. digests waiting for `flask digests send`
    _notify(app, make.user("quietfern"))
    assert len(sending_to.messages) == 1
    assert send_waiting(app) == outbox.SendReport(sent=3, failed=0, left=0)


def test_a_rolled_back_notice_sends_nothing(app, make, sending_to):
    fern = make.user("quietfern")
    with app.test_request_context(), pytest.raises(RuntimeError), transaction():
        notices.notify(db.session.get(User, fern.id), "hidden", "Never", "Never happened.")
        raise RuntimeError("the moderation action failed")
    assert sending_to.messages == [] and rows(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0


def test_a_member_who_turned_a_kind_off_gets_the_notice_but_no_mail(app, make, sending_to):
    fern = make.user("quietfern")
    with app.app_context(), transaction():
        mail_settings.settings_for(db.session.get(User, fern.id)).notify_moderation = False
    _notify(app, fern)
    _notify(app, fern, mail_kind=MailKind.REPLY)
    assert [m["List-Id"] for m in sending_to.messages] == [
        "Kindred reply <reply.kindred.kindred.example>"
    ]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 2


def test_an_unverified_member_gets_no_notice_mail(app, make, sending_to):
    _notify(app, make.user("quietfern", verified=False))
    assert sending_to.messages == [] and rows(app) == []


def test_old_sent_and_failed_mail_is_deleted_and_waiting_mail_kept(app, sending_to):
    queue_messages(app, 3)
    sending_to.refuse_recipient["m1@example.org"] = "550 no such mailbox"
    send_waiting(app)
    queue_messages(app, 1)  # still waiting
    with app.app_context():
        assert outbox.prune(utcnow() + timedelta(days=6)) == 0
        assert outbox.prune(utcnow() + timedelta(days=8)) == 2  # the two sent
        assert len(rows(app)) == 2
        assert outbox.prune(utcnow() + timedelta(days=31)) == 1  # the failed one
        # The messages' bytes went with their rows; the waiting one's are still there.
        assert db.session.scalars(sa.select(OutboxBody.outbox_id)).all() == [
            row.id for row in rows(app)
        ]
    [left] = rows(app)
    assert left.sent_at is None and left.failed_at is None


# --- the member's wishes when the message's turn comes -------------------------------------------


def notice_waiting_for(app, make, username: str, mail_kind=MailKind.REPLY):
    """A notice mail for a new member, queued while the mail server is down."""
    member = make.user(username)
    app.config.update(smtp_settings(SmtpServer(), SMTP_TIMEOUT=2))  # nobody listens
    with app.test_request_context():
        notices.notify(
            db.session.get(User, member.id),
            "reply",
            "New reply",
            "Someone replied",
            mail_kind=mail_kind,
        )
        db.session.commit()
    assert [row.sent_at for row in rows(app)] == [None]
    return member


@pytest.mark.parametrize("change", ["stopped", "paused", "banned", "new address"])
def test_waiting_mail_is_not_sent_to_a_member_who_said_stop_meanwhile(app, make, smtp, change):
    member = notice_waiting_for(app, make, "fern")
    with app.app_context():
        user = db.session.get(User, member.id)
        settings = mail_settings.settings_for(user)
        if change == "stopped":
            settings.notify_reply = False
        elif change == "paused":
            settings.paused_until = utcnow() + timedelta(days=14)
        elif change == "banned":
            user.banned_at = utcnow()
        else:
            user.email = "fern.new@example.org"
        db.session.commit()
    app.config.update(smtp_settings(smtp))

    report = send_waiting(app)

    assert report == outbox.SendReport(sent=0, failed=0, left=0, dropped=1)
    assert smtp.messages == []
    [row] = rows(app)
    assert row.failed_at is not None and row.last_error.startswith("not sent")


def test_waiting_mail_still_goes_to_a_member_who_changed_nothing(app, make, smtp):
    notice_waiting_for(app, make, "fern")
    app.config.update(smtp_settings(smtp))
    assert send_waiting(app) == outbox.SendReport(sent=1, failed=0, left=0)
    assert [message["To"].addresses[0].addr_spec for message in smtp.messages] == [
        "fern@example.org"
    ]
