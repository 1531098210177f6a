"""Keeping the index current: session hooks note what changed, index it before the commit.

The hooks note every post and topic whose searchable state a flush or a bulk UPDATE
changes, and re-index them just before the commit, in the same transaction. No service
can forget, and a rolled-back change leaves the index as it was. forum.session_hooks
attaches them (attach_listeners()), with the statements that make the index along
with db.create_all().
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..extensions import db
from ..listeners import Listener, attach_once
from ..models import Post, Topic
from .indexing import PENDING_POSTS, PENDING_TOPICS, forget_pending, index_posts, index_topics
from .schema import create_with_metadata, drop_with_metadata

_POST_FIELDS = {"status", "body_html", "topic_id", "author_id"}
_TOPIC_FIELDS = {"status", "title", "board_id"}


def _changed(instance, fields: set[str]) -> bool:
    state = sa.inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _note_flushed_changes(session: Session, flush_context) -> None:
    posts = session.info.setdefault(PENDING_POSTS, set())
    topics = session.info.setdefault(PENDING_TOPICS, set())
    for instance in session.new:
        if isinstance(instance, Post):
            posts.add(instance.id)
    for instance in session.dirty:
        if isinstance(instance, Post) and _changed(instance, _POST_FIELDS):
            posts.add(instance.id)
        elif isinstance(instance, Topic) and _changed(instance, _TOPIC_FIELDS):
            topics.add(instance.id)
    # Deleted posts: the trigger (SQLite) or the foreign key (PostgreSQL) drops their entry.


def _set_columns(statement) -> set[str] | None:
    """The columns an UPDATE sets, or None when that cannot be told."""
    values = getattr(statement, "_values", None) or getattr(statement, "_ordered_values", None)
    if not values:
        return None
    items = values.items() if hasattr(values, "items") else values
    names = set()
    for key, _value in items:
        name = key if isinstance(key, str) else getattr(key, "key", None)
        if name is None:
            return None
        names.add(name)
    return names


def _note_bulk_updates(state) -> None:
    """A bulk UPDATE of posts or topics bypasses the flush: note the rows it will touch."""
    if not state.is_update:
        return
    statement = state.statement
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    if name not in ("posts", "topics"):
        return
    fields = _POST_FIELDS if name == "posts" else _TOPIC_FIELDS
    columns = _set_columns(statement)
    if columns is not None and not columns & fields:
        return
    model = Post if name == "posts" else Topic
    query = sa.select(model.id)
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    ids = set(state.session.scalars(query))
    state.session.info.setdefault(
        PENDING_POSTS if name == "posts" else PENDING_TOPICS, set()
    ).update(ids)


def _index_before_commit(session: Session) -> None:
    if (
        not session.info.get(PENDING_POSTS)
        and not session.info.get(PENDING_TOPICS)
        and not session.dirty
        and not session.new
    ):
        return
    session.flush()
    posts, topics = session.info.pop(PENDING_POSTS, set()), session.info.pop(PENDING_TOPICS, set())
    if not posts and not topics:
        return
    if posts:
        index_posts(session, posts)
    if topics:
        index_topics(session, topics)


def _forget_after_rollback(session: Session) -> None:
    forget_pending(session)


LISTENERS: tuple[Listener, ...] = (
    # db.create_all() (some tests, scratch databases) makes the index too.
    (db.metadata, "after_create", create_with_metadata),
    (db.metadata, "before_drop", drop_with_metadata),
    (Session, "after_flush", _note_flushed_changes),
    (Session, "do_orm_execute", _note_bulk_updates),
    (Session, "before_commit", _index_before_commit),
    (Session, "after_rollback", _forget_after_rollback),
)


def attach_listeners() -> None:
    """Called by forum.session_hooks; a second call adds nothing."""
    attach_once(LISTENERS)
