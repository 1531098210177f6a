"""Several `flask digests send` processes at once, as operators scale out: on
PostgreSQL they split the due members with SELECT ... FOR UPDATE SKIP LOCKED; on
SQLite they queue for the write lock. Either way every member gets exactly one
digest, through a real SMTP server. And a sender killed halfway leaves exactly the
rest to the next run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from forum import outbox
from forum.digests import run
from forum.extensions import db
from forum.models import DigestDelivery, Follow, MailSettings, OutboxMessage, User, utcnow
from tests.helpers.smtp import running_smtp_server, smtp_settings

# They start processes (gunicorn, senders, load) and want both cores: one worker runs them.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]

REPO = Path(__file__).resolve().parent.parent
MEMBERS = 2000
PROCESSES = 4


def add_due_members(app, board_id: int, count: int) -> None:
    """Members with a daily digest due now, following the board (bulk, as a big forum has)."""
    now = utcnow()
    with app.app_context():
        db.session.execute(
            sa.insert(User),
            [
                {
                    "username": f"due{n}",
                    "username_key": f"due{n}",
                    "email": f"due{n}@example.org",
                    "email_verified_at": now,
                    "password_hash": "x",
                    "role": "member",
                    "session_token": f"token-{n}",
                    "created_at": now,
                    "moderates_all_boards": False,
                    "approved_post_count": 3,
                    "rejected_post_count": 0,
                }
                for n in range(count)
            ],
        )
        ids = list(db.session.scalars(sa.select(User.id).where(User.username.like("due%"))))
        db.session.execute(
            sa.insert(MailSettings),
            [
                {
                    "user_id": user_id,
                    "digest": "daily",
                    "digest_hour": 8,
                    "digest_weekday": 0,
                    "timezone": "UTC",
                    "notify_reply": True,
                    "notify_quote": True,
                    "notify_moderation": True,
                    "version": 1,
                    "next_digest_at": now - timedelta(minutes=1),
                    "digest_covered_until": now - timedelta(hours=2),
                }
                for user_id in ids
            ],
        )
        db.session.execute(
            sa.insert(Follow),
            [
                {"user_id": user_id, "board_id": board_id, "following": True, "created_at": now}
                for user_id in ids
            ],
        )
        db.session.commit()


def forum_with_news(make, app, members: int) -> None:
    board = make.board()
    writer = make.user("writer")
    topic = make.topic(writer, board, "Hello all", "Glad to find this place")
    make.reply(writer, topic, "Welcome, everyone")
    add_due_members(app, board.id, members)


def sender_environment(app, server, instance: Path, **settings: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "processes-test-key",
        "BASE_URL": "https://kindred.example",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(server.port),
        "SMTP_STARTTLS": "0",
        **settings,
    }


def test_four_sender_processes_give_every_member_exactly_one_digest(make, app, tmp_path):
    forum_with_news(make, app, MEMBERS)
    with running_smtp_server() as server:
        env = sender_environment(app, server, tmp_path)
        senders = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "wsgi",
                    "digests",
                    "send",
                    "--batch-size",
                    "50",
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        outputs = [sender.communicate(timeout=600) for sender in senders]

    for sender, (_, err) in zip(senders, outputs, strict=True):
        assert sender.returncode == 0, err[-3000:]
    # Each prints "N members due: sent S, nothing new for E, skipped K, failed F."
    sent_per_process = [int(out.rsplit(": sent ", 1)[1].split(",")[0]) for out, _ in outputs]
    assert sum(sent_per_process) == MEMBERS
    recipients = [address for received in server.received for address in received.recipients]
    assert len(recipients) == MEMBERS
    assert len(set(recipients)) == MEMBERS
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestDelivery)) == MEMBERS
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
            == 0
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert sum(1 for sent in sent_per_process if sent) >= 2, sent_per_process  # shared


def test_a_sender_killed_halfway_leaves_exactly_the_rest_to_the_next_run(make, app, tmp_path):
    members = 300
    forum_with_news(make, app, members)
    with running_smtp_server() as server:
        # One connection, and the server holds the 120th message without answering: the
        # kill comes while nothing else is in flight, with batches recorded, one being
        # built, and mail recorded but not yet sent.
        server.hold_at = 120
        sender = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "wsgi",
                "digests",
                "send",
                "--batch-size",
                "50",
            ],
            cwd=REPO,
            env=sender_environment(app, server, tmp_path, SMTP_CONNECTIONS="1"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            held = server.holding.wait(timeout=120)
        finally:
            sender.kill()
            _, err = sender.communicate(timeout=30)
        assert held, err[-3000:]
        assert len(server.received) == 119

        # The next run comes after the killed sender's claim on the held message has
        # gone stale (the one message whose fate it could not record).
        app.config.update(smtp_settings(server))
        with app.app_context():
            report = run.send_due(now=utcnow() + outbox.CLAIM_EXPIRES + timedelta(minutes=1))
        assert report.failed == 0

    recipients = [address for received in server.received for address in received.recipients]
    assert sorted(recipients) == sorted(f"due{n}@example.org" for n in range(members))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestDelivery)) == members
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
            == 0
        )
