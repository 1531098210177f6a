"""What an operator relies on: migrations, the CLI, settings."""

from __future__ import annotations

import json
import os
import stat

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from forum import create_app, search
from forum.config import load_or_create_secret_key
from forum.extensions import db
from forum.models import AuditEntry, Board, Helpline, Post, ReviewItem, Role, Topic, User


def test_migrations_and_models_agree(app):
    """The suite's database was built by the migrations: autogenerate must find nothing."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": search.include_object}
        )
        assert compare_metadata(context, db.metadata) == []


def test_the_migrations_seed_the_helplines(client):
    page = client.get("/help").text
    assert "Samaritans" in page and "116 123" in page
    assert "988" in page
    assert "not a crisis or clinical service" in page
    assert "Your local service" in page  # the placeholder operators replace


def test_create_user_with_password_from_stdin(runner, app):
    result = runner.invoke(
        args=[
            "forum",
            "create-user",
            "Ada",
            "ada@example.org",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin 'Ada'" in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.role == Role.ADMIN and user.is_verified
    login = app.test_client().post(
        "/login", data={"login": "ada", "password": "a long enough password"}
    )
    assert login.status_code == 302


def test_create_user_asks_for_the_password_twice(runner, app):
    result = runner.invoke(
        args=["forum", "create-user", "Bob", "bo@example.org"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User.role)) == Role.MEMBER


def test_create_user_explains_refusals(runner, make):
    make.user("taken")
    result = runner.invoke(
        args=["forum", "create-user", "TAKEN", "x@example.org", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 1
    assert "That username is taken" in result.output
    short = runner.invoke(
        args=["forum", "create-user", "fresh", "y@example.org", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "password of 10" in short.output


def test_create_board(runner, client):
    result = runner.invoke(args=["forum", "create-board", "grief", "Grief", "Living with loss."])
    assert result.exit_code == 0, result.output
    page = client.get("/").text
    assert "Grief" in page and "Living with loss." in page
    again = runner.invoke(args=["forum", "create-board", "grief", "Grief", "again"])
    assert again.exit_code == 1 and "exists already" in again.output


def test_demo_fills_an_empty_database_once_and_prints_logins(runner, app):
    result = runner.invoke(args=["forum", "demo"])
    assert result.exit_code == 0, result.output
    assert "admin" in result.output and "kindred-demo-password" in result.output
    with app.app_context():
        names = set(db.session.scalars(sa.select(Board.name)))
        assert {"Anxiety", "Grief", "Caregivers", "Living far from home"} <= names
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) >= 8
        # Counters agree with the rows: they count published topics only.
        for board in db.session.scalars(sa.select(Board)):
            topics = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Topic)
                .where(Topic.board_id == board.id, Topic.status == "published")
            )
            assert board.topic_count == topics
        # The demo's new member has a post waiting in the review queue.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewItem)) == 1
    second = runner.invoke(args=["forum", "demo"])
    assert second.exit_code == 0 and "not added" in second.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Helpline)) >= 5


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = load_or_create_secret_key(tmp_path)
    assert len(first) >= 32
    assert load_or_create_secret_key(tmp_path) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'kindred.db'}"
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert app.config["MAIL_BACKEND"] == "console"
    with app.app_context():
        db.create_all()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        db.engine.dispose()


def test_postgres_urls_are_given_the_installed_driver(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/kindred")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/kindred"


def test_a_moderator_made_on_the_command_line_moderates_every_board(runner, app, make):
    board = make.board("grief")
    result = runner.invoke(
        args=[
            "forum",
            "create-user",
            "Morgan",
            "mo@example.org",
            "--role",
            "moderator",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    client.post("/login", data={"login": "morgan", "password": "a long enough password"})
    page = client.get(f"/review?board={board.id}")
    assert page.status_code == 200
    assert "Grief" in page.text  # offered as a filter: a board this moderator looks after


def test_a_board_made_on_the_command_line_is_in_the_audit_log(runner, app):
    result = runner.invoke(args=["forum", "create-board", "grief", "Grief", "Living with loss"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry))
        assert (entry.action, entry.actor_id, entry.actor_name) == (
            "board.create",
            None,
            "(operator)",
        )


def test_upgrading_from_part_one_keeps_moderators_and_regular_members_as_they_were(tmp_path):
    """Moderators keep moderating every board; members who had posted are trusted."""
    from flask_migrate import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
        }
    )
    with app.app_context():
        upgrade(revision="0001")
        now = "2026-01-01 00:00:00"
        for number, role in enumerate(("moderator", "member", "member"), start=1):
            db.session.execute(
                sa.text(
                    "INSERT INTO users (id, username, username_key, email, password_hash, role, "
                    "session_token, created_at) VALUES (:id, :name, :name, :email, 'x', :role, "
                    ":token, :now)"
                ),
                {
                    "id": number,
                    "name": f"user{number}",
                    "role": role,
                    "email": f"u{number}@example.org",
                    "token": f"t{number}",
                    "now": now,
                },
            )
        db.session.execute(
            sa.text(
                "INSERT INTO boards (id, slug, name, description, position, is_public, topic_count,"
                " post_count, created_at) VALUES (1, 'b', 'B', '', 0, 1, 1, 1, :now)"
            ),
            {"now": now},
        )
        db.session.execute(
            sa.text(
                "INSERT INTO topics (id, board_id, author_id, title, is_pinned, is_locked, "
                "post_count, created_at, last_post_at, revision) "
                "VALUES (1, 1, 2, 'T', 0, 0, 1, :now, :now, 0)"
            ),
            {"now": now},
        )
        db.session.execute(
            sa.text(
                "INSERT INTO posts (id, topic_id, author_id, status, body_source, body_html, "
                "created_at) VALUES (1, 1, 2, 'published', 'Hi', '<p>Hi</p>', :now)"
            ),
            {"now": now},
        )
        db.session.commit()
        upgrade()
        users = {user.username: user for user in db.session.scalars(sa.select(User))}
        assert users["user1"].moderates_all_boards
        assert users["user2"].approved_post_count == 3  # posted before: trusted as before
        assert users["user3"].approved_post_count == 0
        assert db.session.scalar(sa.select(Topic.status)) == "published"
        # Rebuilding tables on SQLite must not have run their ON DELETE rules.
        assert db.session.scalar(sa.select(Post.author_id)) == 2
        db.engine.dispose()


def test_mail_waiting_across_the_outbox_bodies_migration_keeps_its_bytes(tmp_path):
    """0009 moves each message out of its outbox row; up and down again, every message
    waiting (and every row's state) is as it was queued, byte for byte."""
    from flask_migrate import downgrade, upgrade

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
        }
    )
    messages = {  # CRLF line ends as sent; one digest-sized (SQLite's overflow pages);
        # one with bytes that are not UTF-8 (an 8-bit body is sent as it is)
        1: b"To: a@example.org\r\nSubject: Reset\r\n\r\nA link.\r\n",
        2: b"To: b@example.org\r\nSubject: Digest\r\n\r\n" + b"News line.\r\n" * 3500,
        3: b"To: c@example.org\r\nSubject: 8bit\r\n\r\n\xff\xfe\x00\xe9t\xe9\r\n",
    }
    rows = "SELECT id, recipient, attempts, claimed_at, sent_at FROM outbox ORDER BY id"
    with app.app_context():
        upgrade(revision="0008")
        for outbox_id, message in messages.items():
            db.session.execute(
                sa.text(
                    "INSERT INTO outbox (id, user_id, kind, recipient, message, created_at,"
                    " attempts, claimed_at, sent_at) VALUES (:id, NULL, 'digest', :to, :message,"
                    " :now, :tries, :claimed, NULL)"
                ),
                {
                    "id": outbox_id,
                    "to": f"m{outbox_id}@example.org",
                    "message": message,
                    "now": "2026-01-01 00:00:00",
                    "tries": outbox_id - 1,
                    "claimed": "2026-01-01 00:05:00" if outbox_id == 2 else None,
                },
            )
        db.session.commit()
        before = db.session.execute(sa.text(rows)).all()
        db.session.remove()

        upgrade(revision="0009")
        assert "message" not in {
            column["name"] for column in sa.inspect(db.engine).get_columns("outbox")
        }
        assert (
            dict(db.session.execute(sa.text("SELECT outbox_id, message FROM outbox_bodies")).all())
            == messages
        )
        assert db.session.execute(sa.text(rows)).all() == before
        db.session.remove()

        downgrade(revision="0008")
        assert "outbox_bodies" not in sa.inspect(db.engine).get_table_names()
        assert dict(db.session.execute(sa.text("SELECT id, message FROM outbox")).all()) == messages
        assert db.session.execute(sa.text(rows)).all() == before
        db.session.remove()
        db.engine.dispose()


def test_the_audit_log_keeps_every_entry_across_the_json_columns_migration(tmp_path):
    """0011 makes before and after JSON columns; up and down again, every entry reads
    as it was written, text for text (accents, quotes, nesting and the empty {})."""
    from flask_migrate import downgrade, upgrade

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
        }
    )
    written = {  # id: (before, after), as forum.services.audit wrote them
        1: ('{"role": "member"}', '{"role": "moderator", "board_ids": [1, 2]}'),
        2: ('{"value": "Ouvert 9h–17h, \\"sauf\\" fériés"}', "{}"),
        3: ("{}", '{"post": {"id": 7, "status": "hidden"}, "edited_at": null}'),
    }
    rows = "SELECT id, before, after FROM audit_log ORDER BY id"
    with app.app_context():
        upgrade(revision="0010")
        for entry_id, (before, after) in written.items():
            db.session.execute(
                sa.text(
                    "INSERT INTO audit_log (id, actor_id, actor_name, action, target_type,"
                    " target_id, before, after, reason, created_at) VALUES (:id, NULL,"
                    " '(operator)', 'site.update', 'site', NULL, :before, :after, '', :now)"
                ),
                {"id": entry_id, "before": before, "after": after, "now": "2026-01-01 00:00:00"},
            )
        db.session.commit()
        db.session.remove()

        upgrade(revision="0011")
        assert audit_columns_are(sa.JSON)
        entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
        assert {entry.id: (entry.before, entry.after) for entry in entries} == {
            entry_id: (json.loads(before), json.loads(after))
            for entry_id, (before, after) in written.items()
        }
        assert {row.id: (row.before, row.after) for row in db.session.execute(sa.text(rows))} == (
            written
        )
        db.session.remove()

        downgrade(revision="0010")
        assert audit_columns_are(sa.Text)
        assert {row.id: (row.before, row.after) for row in db.session.execute(sa.text(rows))} == (
            written
        )
        db.session.remove()
        db.engine.dispose()


def audit_columns_are(kind: type[sa.types.TypeEngine]) -> bool:
    types = {
        column["name"]: column["type"] for column in sa.inspect(db.engine).get_columns("audit_log")
    }
    return isinstance(types["before"], kind) and isinstance(types["after"], kind)
