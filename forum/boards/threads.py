"""One page of a thread as it stands at a topic revision, read once and kept.

The topic page shows the same topic and posts to every reader of a revision; only what
each reader is to them differs. So the rows (the topic's own facts, how long the thread
is, the page's posts) are read once per (topic, revision, page) and kept in the process,
and members' pages are put together from them (forum.boards.topic_page). The board is
never kept here: its name, slug, mode and visibility come fresh from the topic's stamp
(forum.queries.topic_stamp) on every request, since changing a board does not move its
topics' revisions.

Rows are read on a connection of their own, topic first, and kept under the revision read
with them: rows read after it are as new or newer (on PostgreSQL each statement sees the
latest commits), so nothing is ever kept under a revision newer than what it shows. The
topic's status, like its board, comes from the stamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from .. import queries
from ..extensions import db
from ..models import BoardMode, PostStatus, Role, Topic
from ..page_cache import PageCache


@dataclass(frozen=True)
class BoardFacts:
    id: int
    slug: str
    name: str
    mode: BoardMode
    is_public: bool


@dataclass(frozen=True)
class TopicFacts:
    """What the topic page and the permission rules (forum.permissions) read of a topic."""

    id: int
    title: str
    status: PostStatus
    is_locked: bool
    author_id: int | None
    revision: int
    board: BoardFacts

    @property
    def board_id(self) -> int:
        return self.board.id


@dataclass(frozen=True)
class _TopicRow:
    title: str
    is_locked: bool
    author_id: int | None


class ThreadPost(NamedTuple):
    """One of forum.queries.posts_page's rows, kept as a plain tuple: every member's page
    reads each field of twenty of these, and a Row's attribute lookup costs several
    times a tuple's."""

    id: int
    status: PostStatus
    author_id: int | None
    body_html: str
    content_warning: str | None
    created_at: datetime
    edited_at: datetime | None
    author_name: str | None
    author_role: Role | None
    author_erased_at: datetime | None


@dataclass(frozen=True)
class ThreadPage:
    """One page of a thread."""

    topic: TopicFacts
    page: int
    page_count: int
    posts: tuple[ThreadPost, ...]


@dataclass(frozen=True)
class _Kept:
    topic: _TopicRow
    page: int
    page_count: int
    posts: tuple[ThreadPost, ...]


_TOPIC = sa.select(Topic.revision, Topic.title, Topic.is_locked, Topic.author_id).where(
    Topic.id == sa.bindparam("topic_id")
)


def board_of(stamp: sa.Row) -> BoardFacts:
    return BoardFacts(
        id=stamp.board_id,
        slug=stamp.board_slug,
        name=stamp.board_name,
        mode=stamp.board_mode,
        is_public=stamp.is_public,
    )


def thread_page(topic_id: int, stamp: sa.Row, requested_page: int) -> ThreadPage | None:
    """The page of the thread at the stamp's revision (the last page for a number past
    it); None if the topic is gone."""
    per_page = current_app.config["POSTS_PER_PAGE"]
    store: PageCache = current_app.extensions["thread_pages"]
    key = (topic_id, stamp.revision, per_page, requested_page)
    kept = store.get(key)
    if kept is None:
        revision, kept = _read(topic_id, requested_page, per_page)
        if kept is None:
            return None
        # Kept under the revision it was read at (never older than its rows), and only
        # for real page numbers: ?page=9999 must not keep a copy per number.
        if kept.page == requested_page:
            size = sum(len(post.body_html) + 200 for post in kept.posts)
            store.put((topic_id, revision, per_page, requested_page), kept, size)
    row = kept.topic
    topic = TopicFacts(
        id=topic_id,
        title=row.title,
        status=stamp.status,  # as it is now, as the board is
        is_locked=row.is_locked,
        author_id=row.author_id,
        revision=stamp.revision,
        board=board_of(stamp),
    )
    return ThreadPage(topic, kept.page, kept.page_count, kept.posts)


def _read(topic_id: int, requested_page: int, per_page: int) -> tuple[int, _Kept | None]:
    with db.engine.connect() as connection:
        found = connection.execute(_TOPIC, {"topic_id": topic_id}).first()
        if found is None:
            return 0, None
        total = queries.thread_length(topic_id, connection)
        page_count = max(1, -(-total // per_page))
        page = min(requested_page, page_count)
        rows = queries.posts_page(topic_id, page, per_page, connection)
        posts = tuple(ThreadPost(**row._mapping) for row in rows)
    topic = _TopicRow(found.title, found.is_locked, found.author_id)
    return found.revision, _Kept(topic, page, page_count, posts)
