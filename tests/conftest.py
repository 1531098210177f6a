"""Fixtures shared by the whole suite.

The database is migrated once per run with the real migrations (so the tests
exercise them), then emptied between tests. Set DATABASE_URL to a PostgreSQL
URL to run everything against PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import html
import os
import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask.testing import FlaskClient

from forum import create_app, mail
from forum.extensions import db
from forum.models import (
    Board,
    BoardModerator,
    Helpline,
    ReasonTemplate,
    Role,
    SiteText,
    Topic,
    User,
    WatchedPhrase,
)
from forum.moderation_defaults import (
    DEFAULT_CRISIS_PHRASES,
    DEFAULT_MODERATION_HOURS,
    DEFAULT_REASON_TEMPLATES,
)
from forum.safety import phrase_key
from forum.services import accounts, admin, helplines, posting

TEST_PASSWORD = "correct horse battery staple"


def pytest_report_header(config):
    return f"database: {_database_url_for_display()}"


def _database_url_for_display() -> str:
    return os.environ.get("DATABASE_URL") or "SQLite (temporary file)"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kindred-test.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # a clean schema, so a second run starts clean
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _config(database_url: str, instance_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_BACKEND": "memory",
        "BASE_URL": "https://kindred.example",
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
    }


@pytest.fixture(scope="session")
def migrated_database(database_url, tmp_path_factory) -> str:
    """Run the real migrations once; tests then share the schema."""
    from flask_migrate import upgrade

    app = create_app(_config(database_url, None))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Argon2 at production cost would dominate the suite's run time."""
    production = accounts.password_hasher
    accounts.password_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts.password_hasher = production


def empty_database() -> None:
    """Delete every row (children first), then put back what the migrations seed."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.add_all(Helpline(**row) for row in helplines.default_rows())
    db.session.add_all(WatchedPhrase(phrase=phrase, phrase_key=phrase_key(phrase),
                                     action="crisis") for phrase in DEFAULT_CRISIS_PHRASES)
    db.session.add_all(ReasonTemplate(position=index, label=label, text=text)
                       for index, (label, text) in enumerate(DEFAULT_REASON_TEMPLATES))
    db.session.add(SiteText(key="moderation_hours", value=DEFAULT_MODERATION_HOURS))
    db.session.commit()


@pytest.fixture
def app_config(migrated_database) -> dict:
    """Override in a test module (or mutate) to change settings for that test's app."""
    return _config(migrated_database, None)


class BufferedClient(FlaskClient):
    """Reads each response to the end, as a browser does, so that work the app
    schedules for after the response (account mail) has run when a call returns."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = BufferedClient
    mail.outbox.clear()
    with app.app_context():
        empty_database()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for calling services directly."""
    with app.test_request_context():
        yield


def _detached(instance):
    """Load every column, then let the object outlive its session (for tests to read)."""
    db.session.refresh(instance)
    db.session.expunge(instance)
    return instance


class Factory:
    """Makes users, boards and posts through the real services."""

    def __init__(self, app):
        self.app = app
        self._count = 0

    def user(self, username: str | None = None, *, role: str = Role.MEMBER,
             verified: bool = True, email: str | None = None, trusted: bool = True,
             moderates: tuple = (), moderates_all: bool = False) -> User:
        """A member; `trusted` (the default) means their posts no longer wait for review.

        A moderator moderates the boards in `moderates` (Board objects), or every
        board with moderates_all.
        """
        self._count += 1
        username = username or f"member{self._count}"
        email = email or f"{username.lower()}@example.org"
        with self.app.test_request_context():
            user = accounts.create_user(username, email, TEST_PASSWORD, role=role,
                                        verified=verified)
            if trusted:
                user.approved_post_count = self.app.config["NEW_MEMBER_REVIEW_POSTS"]
            user.moderates_all_boards = moderates_all
            db.session.add_all(BoardModerator(user_id=user.id, board_id=board.id)
                               for board in moderates)
            db.session.commit()
            return _detached(user)

    def board(self, slug: str = "general", name: str | None = None, *, is_public: bool = True):
        with self.app.test_request_context():
            board = admin.create_board(slug, name or slug.title(), f"About {slug}",
                                         is_public=is_public)
            return _detached(board)

    def topic(self, author: User, board, title: str = "A topic", body: str = "Hello there",
              content_warning: str | None = None):
        with self.app.test_request_context():
            author, board = db.session.get(User, author.id), db.session.get(Board, board.id)
            topic = posting.create_topic(author, board, title, body, content_warning).topic
            return _detached(topic)

    def reply(self, author: User, topic, body: str = "A reply"):
        with self.app.test_request_context():
            author, topic = db.session.get(User, author.id), db.session.get(Topic, topic.id)
            post = posting.create_reply(author, topic, body).post
            return _detached(post)


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


def log_in(client, login: str, password: str = TEST_PASSWORD):
    return client.post("/login", data={"login": login, "password": password})


@pytest.fixture
def auth(client):
    class Auth:
        def login(self, user_or_name, password: str = TEST_PASSWORD):
            name = getattr(user_or_name, "username", user_or_name)
            response = log_in(client, name, password)
            assert response.status_code == 302, "login failed"
            return response

        def logout(self):
            return client.post("/logout")

    return Auth()


def page_text(response) -> str:
    """The response body as a reader sees its characters (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


LINK = re.compile(r"https?://\S+")


def links_in(message) -> list[str]:
    return LINK.findall(message.get_content())
