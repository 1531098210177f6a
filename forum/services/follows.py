"""What members follow: boards and topics, for their digests and reply notices.

A row with following=False is an explicit "unfollow": replying again to a topic
the member left must not quietly follow it again (auto_follow_topic keeps it).
Writes are single upserts on the (member, target) unique keys, so a double-click
or two tabs at once end in one row, never an IntegrityError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .. import permissions, viewer_rows
from ..extensions import db
from ..models import Board, Follow, PostStatus, Topic, User, utcnow
from . import PermissionDenied, transaction


def _upsert(
    user_id: int,
    *,
    board_id: int | None = None,
    topic_id: int | None = None,
    following: bool,
    keep_existing: bool = False,
) -> None:
    target = "board_id" if board_id is not None else "topic_id"
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    statement = insert(Follow).values(
        user_id=user_id,
        board_id=board_id,
        topic_id=topic_id,
        following=following,
        created_at=utcnow(),
    )
    if keep_existing:
        statement = statement.on_conflict_do_nothing(index_elements=["user_id", target])
    else:
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", target],
            set_={
                "following": statement.excluded.following,
                "created_at": statement.excluded.created_at,
            },
        )
    db.session.execute(statement)


def follow_board(user: User, board: Board) -> None:
    _set_board(user, board, True)


def unfollow_board(user: User, board: Board) -> None:
    _set_board(user, board, False)


def _set_board(user: User, board: Board, following: bool) -> None:
    if following and not permissions.can_read_board(user, board):
        raise PermissionDenied("You can't follow this board.")
    with transaction():
        _upsert(user.id, board_id=board.id, following=following)


def follow_topic(user: User, topic: Topic) -> None:
    _set_topic(user, topic, True)


def unfollow_topic(user: User, topic: Topic) -> None:
    _set_topic(user, topic, False)


def _set_topic(user: User, topic: Topic, following: bool) -> None:
    # Leaving is always allowed (a topic taken down should not trap anyone in it).
    if following and not permissions.can_see_topic(user, topic):
        raise PermissionDenied("You can't follow this topic.")
    with transaction():
        _upsert(user.id, topic_id=topic.id, following=following)


def auto_follow_topic(user: User, topic: Topic) -> None:
    """Within the caller's transaction (posting's): follow a topic the member starts or
    replies to, unless they have a row for it already (an explicit unfollow stands)."""
    if topic.id is None:
        db.session.flush()
    _upsert(user.id, topic_id=topic.id, following=True, keep_existing=True)


def still_follows_topic(user_id: int, topic_id: int) -> bool:
    """For reply notices: only an explicit unfollow stops them. Topics started before
    follows existed have no row, and their authors still want to hear about replies."""
    following = db.session.scalar(
        sa.select(Follow.following).where(Follow.user_id == user_id, Follow.topic_id == topic_id)
    )
    return following is not False


# --- reading, for pages --------------------------------------------------------------


@dataclass(frozen=True)
class FollowState:
    board: bool = False
    topics: frozenset[int] = frozenset()

    def follows_topic(self, topic_id: int) -> bool:
        return topic_id in self.topics


def page_part(*, one_topic: bool = False) -> sa.Select:
    """Which of a page's board and topics the viewer follows, in forum.viewer_rows' shape
    ("f": the topic in `a`, or the board in `b`). Parameters: "user_id", "board_id" (None
    for none) and the expanding "topic_ids", or with `one_topic` the one "topic_id" (a
    topic's page; a plain parameter costs less to send)."""
    if one_topic:
        topics = Follow.topic_id == sa.bindparam("topic_id")
    else:
        topics = Follow.topic_id.in_(sa.bindparam("topic_ids", expanding=True))
    return sa.select(*viewer_rows.row("f", Follow.topic_id, Follow.board_id)).where(
        Follow.user_id == sa.bindparam("user_id"),
        Follow.following.is_(True),
        sa.or_(Follow.board_id == sa.bindparam("board_id"), topics),
    )


def state_from(rows: Iterable[tuple[int | None, int | None]]) -> FollowState:
    """The FollowState from page_part's rows, as (topic, board) pairs."""
    rows = list(rows)
    return FollowState(
        board=any(board_id for _, board_id in rows),
        topics=frozenset(topic_id for topic_id, _ in rows if topic_id),
    )


@dataclass(frozen=True)
class Followed:
    """One line of "What you follow"."""

    kind: str  # "board" or "topic"
    name: str
    board_slug: str | None
    topic_id: int | None
    since: datetime


@dataclass(frozen=True)
class FollowedPage:
    items: list[Followed]
    page: int
    has_next: bool


def followed_page(user: User, page: int, per_page: int) -> FollowedPage:
    """What the member follows, newest first, in one query (names joined in).

    Topics no longer readable (waiting, hidden, removed) are left out: the list must
    not show a title its reader may no longer see.
    """
    page = max(page, 1)
    query = (
        sa.select(
            Follow.board_id,
            Follow.topic_id,
            Follow.created_at,
            Board.name.label("board_name"),
            Board.slug.label("board_slug"),
            Topic.title.label("topic_title"),
        )
        .outerjoin(Topic, Topic.id == Follow.topic_id)
        .outerjoin(Board, Board.id == Follow.board_id)
        .where(
            Follow.user_id == user.id,
            Follow.following.is_(True),
            sa.or_(Follow.board_id.is_not(None), Topic.status == PostStatus.PUBLISHED),
        )
        .order_by(Follow.created_at.desc(), Follow.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    rows = db.session.execute(query).all()
    items = [
        Followed(
            kind="board",
            name=row.board_name,
            board_slug=row.board_slug,
            topic_id=None,
            since=row.created_at,
        )
        if row.board_id is not None
        else Followed(
            kind="topic",
            name=row.topic_title,
            board_slug=None,
            topic_id=row.topic_id,
            since=row.created_at,
        )
        for row in rows[:per_page]
    ]
    return FollowedPage(items=items, page=page, has_next=len(rows) > per_page)
