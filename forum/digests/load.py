"""The digest batch's queries: a fixed number of them, whatever the batch's size.

The members' follows; the most recently active topics of every board they follow
(the top TOPICS_PER_BOARD of each board, enough for any member's top
TOPICS_PER_DIGEST); the followed topics that moved; the newest published posts of
those topics; and each board's newest topics still waiting for a first reply.
Only published posts in published topics are read, so nothing pending, hidden,
rejected or deleted can reach a digest. forum.digests.build picks each member's
digest out of what these return.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from .. import queries
from ..extensions import db
from ..models import Board, Follow, Post, PostStatus, Topic, User
from . import POSTS_PER_TOPIC, TOPICS_PER_BOARD, UNANSWERED_PER_DIGEST, UNANSWERED_WITHIN

FORMER_MEMBER = "a former member"


@dataclass
class Followed:
    """What a batch's members follow, by member: boards, topics, and topics they left."""

    boards_of: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    topics_of: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    left_by: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))


def follows_of(user_ids: list[int]) -> Followed:
    """Every follow of these members (one query)."""
    followed = Followed()
    for user_id, board_id, topic_id, following in db.session.execute(
        sa.select(Follow.user_id, Follow.board_id, Follow.topic_id, Follow.following).where(
            Follow.user_id.in_(user_ids)
        )
    ):
        if board_id is not None and following:
            followed.boards_of[user_id].add(board_id)
        elif topic_id is not None:
            (followed.topics_of if following else followed.left_by)[user_id].add(topic_id)
    return followed


@dataclass(frozen=True)
class TopicRow:
    topic_id: int
    board_id: int
    author_id: int | None
    title: str
    board_name: str
    board_slug: str
    created_at: datetime
    last_post_at: datetime
    post_count: int  # published posts
    content_warning: str | None = None  # the opening post's; read for unanswered topics only


@dataclass(frozen=True)
class PostRow:
    post_id: int
    topic_id: int
    author_id: int | None
    author: str
    published_at: datetime
    body_html: str
    content_warning: str | None


_TOPIC_COLUMNS = (
    Topic.id,
    Topic.board_id,
    Topic.author_id,
    Topic.title,
    Board.name,
    Board.slug,
    Topic.created_at,
    Topic.last_post_at,
    Topic.post_count,
)


def _listed(query):
    return query.join(Board, Board.id == Topic.board_id).where(Topic.status == PostStatus.PUBLISHED)


def active_topics(
    board_ids: set[int], topic_ids: set[int], since: datetime, until: datetime
) -> dict[int, TopicRow]:
    """Each followed board's most recently active topics, and the followed topics that
    moved, in the period (two queries)."""
    found: dict[int, TopicRow] = {}
    if board_ids:
        rank = (
            sa.func.row_number()
            .over(partition_by=Topic.board_id, order_by=Topic.last_post_at.desc())
            .label("rank")
        )
        ranked = (
            _listed(sa.select(*_TOPIC_COLUMNS, rank))
            .where(
                Topic.board_id.in_(sorted(board_ids)),
                Topic.last_post_at >= since,
                Topic.created_at < until,
            )
            .subquery()
        )
        rows = db.session.execute(
            sa.select(*[column for column in ranked.c if column.name != "rank"]).where(
                ranked.c.rank <= TOPICS_PER_BOARD
            )
        )
        found.update((row[0], TopicRow(*row)) for row in rows)
    wanted = sorted(topic_ids - found.keys())
    for chunk in _chunks(wanted, 1000):
        rows = db.session.execute(
            _listed(sa.select(*_TOPIC_COLUMNS)).where(
                Topic.id.in_(chunk), Topic.last_post_at >= since
            )
        )
        found.update((row[0], TopicRow(*row)) for row in rows)
    return found


def newest_posts(
    topic_ids: list[int], since: datetime, until: datetime
) -> dict[int, list[PostRow]]:
    """The newest published posts of each topic in the period, newest first.

    A few more than a digest shows, so that a member's own posts can be left out.
    They are ranked from an index alone (ix_posts_topic_published); only the few
    kept are read from the table: reading every post of a batch's topics, bodies
    and all, to rank them was most of a batch's time.
    """
    found: dict[int, list[PostRow]] = defaultdict(list)
    author = sa.func.coalesce(User.username, FORMER_MEMBER).label("author")
    for chunk in _chunks(sorted(topic_ids), 1000):
        rank = (
            sa.func.row_number()
            .over(partition_by=Post.topic_id, order_by=(Post.published_at.desc(), Post.id.desc()))
            .label("rank")
        )
        ranked = (
            sa.select(Post.id, rank)
            .join(Topic, Topic.id == Post.topic_id)
            .where(
                Post.topic_id.in_(chunk),
                queries.published_in_published_topic(),
                Post.published_at >= since,
                Post.published_at < until,
            )
            .subquery()
        )
        rows = db.session.execute(
            sa.select(
                Post.id,
                Post.topic_id,
                Post.author_id,
                author,
                Post.published_at,
                Post.body_html,
                Post.content_warning,
            )
            .join(ranked, ranked.c.id == Post.id)
            .outerjoin(User, User.id == Post.author_id)
            .where(ranked.c.rank <= 2 * POSTS_PER_TOPIC)
            .order_by(Post.topic_id, Post.published_at.desc(), Post.id.desc())
        )
        for post_id, topic_id, author_id, name, published_at, body_html, warning in rows:
            assert published_at is not None  # only posts published in the period are ranked
            found[topic_id].append(
                PostRow(post_id, topic_id, author_id, name, published_at, body_html, warning)
            )
    return found


def unanswered_topics(board_ids: set[int], until: datetime) -> list[TopicRow]:
    """Each followed board's newest topics that nobody has answered yet (one query)."""
    if not board_ids:
        return []
    rank = (
        sa.func.row_number()
        .over(partition_by=Topic.board_id, order_by=Topic.created_at.desc())
        .label("rank")
    )
    ranked = (
        _listed(sa.select(*_TOPIC_COLUMNS, Topic.first_post_id, rank))
        .where(
            Topic.board_id.in_(sorted(board_ids)),
            Topic.post_count == 1,
            Topic.created_at >= until - UNANSWERED_WITHIN,
            Topic.created_at < until,
        )
        .subquery()
    )
    # The opening post's content warning, read for the few topics kept (a primary-key
    # look-up each), so the digest can show it as the topic's label.
    opening_warning = (
        sa.select(Post.content_warning).where(Post.id == ranked.c.first_post_id).scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(
            *[column for column in ranked.c if column.name not in ("first_post_id", "rank")],
            opening_warning,
        )
        .where(ranked.c.rank <= 2 * UNANSWERED_PER_DIGEST)
        .order_by(ranked.c.created_at.desc())
    )
    # The columns were listed at run time, so the rows' type does not say how many there
    # are: they are TopicRow's fields, in order.
    return [TopicRow(*tuple(row)) for row in rows]


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
