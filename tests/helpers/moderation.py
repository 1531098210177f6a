"""Helpers shared by the moderation tests (test_moderation*.py, test_safety.py).

Each helper opens its own app context and hands back plain values or
detached rows, so tests can mix page requests and direct checks freely.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from forum.extensions import db
from forum.models import (
    AuditEntry,
    Board,
    Notice,
    Post,
    PostStatus,
    ReviewItem,
    Topic,
    User,
    WatchedPhrase,
)
from forum.safety import phrase_key
from forum.services import moderation
from tests.helpers.app import log_in

#: Every action a moderator can take on a review item, as the tests name them.
EVERY_ACTION = (
    "approve",
    "approve_edited",
    "reject",
    "hide",
    "delete",
    "dismiss",
    "lock",
    "unlock",
    "move",
    "suspend",
    "ban",
)


def new_client(app, user=None):
    """A second browser: its own cookies, logged in as `user` if given."""
    browser = app.test_client()
    if user is not None:
        response = log_in(browser, user.username)
        assert response.status_code == 302, "login failed"
    return browser


def detached(app, model, ident):
    with app.app_context():
        row = db.session.get(model, ident)
        if row is None:
            return None
        db.session.refresh(row)
        db.session.expunge(row)
        return row


def first_post_id(app, topic_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.min(Post.id)).where(Post.topic_id == topic_id))


def latest_post_id(app) -> int | None:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(Post.id)))


def post_status(app, post_id: int) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Post.status).where(Post.id == post_id))


def item_for(app, post_id: int) -> ReviewItem | None:
    """The post's review item (detached), or None."""
    with app.app_context():
        item_id = db.session.scalar(sa.select(ReviewItem.id).where(ReviewItem.post_id == post_id))
    return detached(app, ReviewItem, item_id) if item_id else None


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def update(app, model, ident, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id == ident).values(**values))
        db.session.commit()


def watch(app, phrase: str, action: str) -> None:
    with app.app_context():
        db.session.add(WatchedPhrase(phrase=phrase, phrase_key=phrase_key(phrase), action=action))
        db.session.commit()


def report(app, reporter, post_id: int, category: str = "spam", note: str = "") -> int:
    """A member reports a post through the service; the item's id."""
    with app.test_request_context():
        item = moderation.report(
            db.session.get(User, reporter.id), db.session.get(Post, post_id), category, note
        )
        return item.id


def decide(app, moderator, item_id: int, action: str, **options):
    """A moderator acts on an item as it stands now, through the service; the message."""
    with app.test_request_context():
        item = db.session.get(ReviewItem, item_id)
        return moderation.decide(
            db.session.get(User, moderator.id), item, item.version, action, **options
        ).message


def version_on(response) -> int:
    """The item version a moderator's page carries in its action form."""
    match = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', response.text)
    assert match, "no version field on the page"
    return int(match.group(1))


def act(browser, item_id: int, action: str, version: int | None = None, **fields):
    """Press an action button on the item page, as the moderator saw it (its version)."""
    if version is None:
        version = version_on(browser.get(f"/review/{item_id}"))
    data = {"action": action, "version": str(version), "template": "", "reason": ""}
    data.update({key: str(value) for key, value in fields.items()})
    return browser.post(f"/review/{item_id}", data=data)


def field_error(response, field_id: str) -> str:
    """The message shown beside a form field (empty when there is none)."""
    match = re.search(
        rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', response.text, re.S
    )
    return match.group(1).strip() if match else ""


def queue_item_ids(response) -> list[int]:
    """The items listed in a queue page, in the order shown."""
    return [int(item_id) for item_id in re.findall(r'<a href="/review/(\d+)">', response.text)]


def notices_of(app, user) -> list[Notice]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def audit_entries(app, **where) -> list[AuditEntry]:
    with app.app_context():
        query = sa.select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        rows = db.session.scalars(query).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def stored_and_recounted_counters(app) -> tuple[dict, dict]:
    """Every counter as stored, and as recounted from the rows.

    Board.topic_count = its published topics; Board.post_count = the published
    posts in those topics; Topic.post_count = the topic's published posts.
    """
    with app.app_context():
        stored, recounted = {}, {}
        for board in db.session.scalars(sa.select(Board)):
            stored[f"board {board.slug}"] = (board.topic_count, board.post_count)
            topics = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Topic)
                .where(Topic.board_id == board.id, Topic.status == PostStatus.PUBLISHED)
            )
            posts = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Post)
                .join(Topic, Topic.id == Post.topic_id)
                .where(
                    Topic.board_id == board.id,
                    Topic.status == PostStatus.PUBLISHED,
                    Post.status == PostStatus.PUBLISHED,
                )
            )
            recounted[f"board {board.slug}"] = (topics, posts)
        for topic in db.session.scalars(sa.select(Topic)):
            stored[f"topic {topic.id}"] = topic.post_count
            recounted[f"topic {topic.id}"] = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Post)
                .where(Post.topic_id == topic.id, Post.status == PostStatus.PUBLISHED)
            )
        return stored, recounted


def assert_counters_right(app) -> None:
    stored, recounted = stored_and_recounted_counters(app)
    assert stored == recounted
