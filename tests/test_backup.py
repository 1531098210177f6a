"""`flask forum backup PATH`: an online copy of the SQLite database, and restoring it.

Backups are for the embedded SQLite database, so these tests make one of their own
(migrated like the suite's) whichever database the rest of the suite runs on.
"""

from __future__ import annotations

import shutil
import stat
import threading

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from forum import create_app
from forum.extensions import db
from forum.models import Post, Topic, User
from forum.services import posting
from tests.helpers.app import Factory


def _app(database_url: str):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_BACKEND": "memory",
            "BASE_URL": "https://kindred.example",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )


@pytest.fixture
def live_app(tmp_path):
    app = _app(f"sqlite:///{tmp_path / 'live' / 'kindred.db'}")
    (tmp_path / "live").mkdir()
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


class Writer(threading.Thread):
    """A member replying as fast as the posting service lets them, until told to stop."""

    def __init__(self, app, author_id: int, topic_id: int):
        super().__init__(daemon=True)
        self.app, self.author_id, self.topic_id = app, author_id, topic_id
        self.written = 0
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.progress = threading.Condition()

    def run(self):
        with self.app.test_request_context():
            author = db.session.get(User, self.author_id)
            topic = db.session.get(Topic, self.topic_id)
            while not self.stop.is_set():
                try:
                    posting.create_reply(author, topic, f"Reply number {self.written}")
                except BaseException as error:  # the test reports it
                    self.errors.append(error)
                    return
                with self.progress:
                    self.written += 1
                    self.progress.notify_all()
            db.session.remove()

    def wait_for(self, count: int) -> None:
        with self.progress:
            assert self.progress.wait_for(
                lambda: self.written >= count or self.errors, timeout=60
            ), "the writer stalled"
        assert not self.errors, self.errors


def test_a_backup_taken_while_members_write_restores_to_a_consistent_forum(live_app, tmp_path):
    make = Factory(live_app)
    board = make.board("anxiety")
    author = make.user("writer")
    topic = make.topic(author, board, "A busy thread")
    writer = Writer(live_app, author.id, topic.id)
    writer.start()
    try:
        writer.wait_for(10)
        backup_path = tmp_path / "kindred-backup.db"
        result = live_app.test_cli_runner().invoke(args=["forum", "backup", str(backup_path)])
        assert result.exit_code == 0, result.output
        assert f"Backup written to {backup_path}" in result.output
        assert "integrity check passed" in result.output
        assert stat.S_IMODE(backup_path.stat().st_mode) == 0o600  # it holds email addresses
        # The member went on writing after the copy was taken.
        writer.wait_for(writer.written + 10)
    finally:
        writer.stop.set()
        writer.join()
    assert not writer.errors, writer.errors
    assert not list(tmp_path.glob("*.partial"))  # no temporary file left behind

    # Restore as the README says: the copy goes into place, the app opens it.
    restored = tmp_path / "restored" / "kindred.db"
    restored.parent.mkdir()
    shutil.copy(backup_path, restored)
    app = _app(f"sqlite:///{restored}")
    try:
        check = app.test_cli_runner().invoke(args=["forum", "check"])
        assert check.exit_code == 0, check.output
        assert check.output == "The database is consistent.\n"
        with app.app_context():
            replies = db.session.scalar(sa.select(sa.func.count()).select_from(Post)) - 1
            assert db.session.get(Topic, topic.id).post_count == replies + 1
        # Every reply in the copy is whole, and the copy stops before the last ones written.
        assert 10 <= replies < writer.written
        page = app.test_client().get(f"/t/{topic.id}")
        assert page.status_code == 200 and "A busy thread" in page.text
    finally:
        with app.app_context():
            db.engine.dispose()


def test_backup_never_overwrites_without_being_asked(live_app, tmp_path):
    runner = live_app.test_cli_runner()
    earlier = tmp_path / "earlier.db"
    earlier.write_bytes(b"last night's backup")
    result = runner.invoke(args=["forum", "backup", str(earlier)])
    assert result.exit_code == 1
    assert "exists already; choose a new name, or add --overwrite" in result.output
    assert earlier.read_bytes() == b"last night's backup"
    result = runner.invoke(args=["forum", "backup", "--overwrite", str(earlier)])
    assert result.exit_code == 0, result.output
    assert earlier.read_bytes().startswith(b"SQLite format 3")

    live = tmp_path / "live" / "kindred.db"
    result = runner.invoke(args=["forum", "backup", "--overwrite", str(live)])
    assert result.exit_code == 1 and "the live database itself" in result.output
    result = runner.invoke(args=["forum", "backup", str(tmp_path / "missing" / "b.db")])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_backup_on_postgresql_points_at_pg_dump():
    # Refused before connecting, so no server is needed; the password is not repeated.
    app = _app("postgresql+psycopg://kindred:s3cret@db.example:5432/kindred")
    result = app.test_cli_runner().invoke(args=["forum", "backup", "kindred.db"])
    assert result.exit_code == 1
    assert "forum backup copies SQLite databases; this one is postgresql" in result.output
    assert (
        "pg_dump -Fc -f kindred.dump 'postgresql://kindred:***@db.example:5432/kindred'"
        in result.output
    )
    assert "pg_restore" in result.output and "s3cret" not in result.output
