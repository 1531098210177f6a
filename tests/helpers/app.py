"""What most tests share: the test password, the app's test settings, emptying the database,
the buffered test client, the factory that makes members, boards and posts through the real
services, and reading pages and mail."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

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


def app_settings(database_url: str, instance_path) -> dict:
    """The settings every test app starts from (fixtures and modules add to them)."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_BACKEND": "memory",
        "BASE_URL": "https://kindred.example",
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
    }


class TemplateCodeForTheRun(BytecodeCache):
    """Compiled templates kept in memory for the whole run and shared by every test's app.

    Each test makes a new app, and compiling the templates again for each took about a
    fifth of the suite's time. Jinja checks each template's source against what was
    compiled, so an edited template is compiled again.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = TemplateCodeForTheRun()


class EnginesForTheRun:
    """One SQLAlchemy engine per distinct set of engine options, shared by every app
    the run builds, so that statements compiled for one test are not compiled again
    for the next (SQLAlchemy keeps compiled SQL per engine; compiling it again for each
    test's new engine took about a tenth of the suite's time).

    Tests stay apart: the app fixture still disposes of the pool after each test, and
    Kindred's listeners are on the Engine class, not on one engine. Flask-SQLAlchemy
    makes engines in `_make_engine`, which its documentation calls internal; were it
    to go, apps would get their own engines again and only speed would change.
    """

    def __init__(self) -> None:
        self._engines: dict[str, sa.Engine] = {}

    def wrap(self, make_engine):
        def shared(extension, bind_key, options, app):
            key = self._key(bind_key, options)
            if key not in self._engines:
                self._engines[key] = make_engine(extension, bind_key, options, app)
            return self._engines[key]

        return shared

    def dispose_all(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    @staticmethod
    def _key(bind_key, options) -> str:
        def shown(value):
            if isinstance(value, sa.URL):
                return value.render_as_string(hide_password=False)
            return repr(value)

        return repr((bind_key, sorted((name, shown(value)) for name, value in options.items())))


def empty_database() -> None:
    """Delete every row (children first), then put back what the migrations seed."""
    children_first = reversed(db.metadata.sorted_tables)
    if db.engine.dialect.name == "postgresql":
        # One round trip instead of one per table: a tenth of a test's time on PostgreSQL.
        # (TRUNCATE would be slower: it rewrites each table's files.)
        quote = db.engine.dialect.identifier_preparer.quote
        db.session.connection().exec_driver_sql(
            "; ".join(f"DELETE FROM {quote(table.name)}" for table in children_first)
        )
    else:
        for table in children_first:
            db.session.execute(table.delete())
    db.session.add_all(Helpline(**row) for row in helplines.default_rows())
    db.session.add_all(
        WatchedPhrase(phrase=phrase, phrase_key=phrase_key(phrase), action="crisis")
        for phrase in DEFAULT_CRISIS_PHRASES
    )
    db.session.add_all(
        ReasonTemplate(position=index, label=label, text=text)
        for index, (label, text) in enumerate(DEFAULT_REASON_TEMPLATES)
    )
    db.session.add(SiteText(key="moderation_hours", value=DEFAULT_MODERATION_HOURS))
    db.session.commit()


class BufferedClient(FlaskClient):
    """Reads each response to the end, as a browser does, so that work the app
    schedules for after the response (account mail) has run when a call returns."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


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

    def user(
        self,
        username: str | None = None,
        *,
        role: str = Role.MEMBER,
        verified: bool = True,
        email: str | None = None,
        trusted: bool = True,
        moderates: tuple = (),
        moderates_all: bool = False,
    ) -> User:
        """A member; `trusted` (the default) means their posts no longer wait for review.

        A moderator moderates the boards in `moderates` (Board objects), or every
        board with moderates_all.
        """
        self._count += 1
        username = username or f"member{self._count}"
        email = email or f"{username.lower()}@example.org"
        with self.app.test_request_context():
            user = accounts.create_user(
                username, email, TEST_PASSWORD, role=role, verified=verified
            )
            if trusted:
                user.approved_post_count = self.app.config["NEW_MEMBER_REVIEW_POSTS"]
            user.moderates_all_boards = moderates_all
            db.session.add_all(
                BoardModerator(user_id=user.id, board_id=board.id) for board in moderates
            )
            db.session.commit()
            return _detached(user)

    def board(self, slug: str = "general", name: str | None = None, *, is_public: bool = True):
        with self.app.test_request_context():
            board = admin.create_board(
                slug, name or slug.title(), f"About {slug}", is_public=is_public
            )
            return _detached(board)

    def topic(
        self,
        author: User,
        board,
        title: str = "A topic",
        body: str = "Hello there",
        content_warning: str | None = None,
    ):
        with self.app.test_request_context():
            author, board = db.session.get(User, author.id), db.session.get(Board, board.id)
            topic = posting.create_topic(author, board, title, body, content_warning).topic
            return _detached(topic)

    def reply(self, author: User, topic, body: str = "A reply"):
        with self.app.test_request_context():
            author, topic = db.session.get(User, author.id), db.session.get(Topic, topic.id)
            post = posting.create_reply(author, topic, body).post
            return _detached(post)


def log_in(client, login: str, password: str = TEST_PASSWORD):
    return client.post("/login", data={"login": login, "password": password})


def page_text(response) -> str:
    """The response body as a reader sees its characters (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


LINK = re.compile(r"https?://\S+")


def links_in(message) -> list[str]:
    return LINK.findall(message.get_content())
