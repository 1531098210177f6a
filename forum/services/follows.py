"""What members follow: boards and topics, for their digests and reply notices.

A row with following=False is an explicit "unfollow": replying again to a topic
the member left must not quietly follow it again (auto_follow_topic keeps it).
Writes are single upserts on the (member, target) unique keys, so a double-click
or two tabs at once end in one row, never an IntegrityError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .. import permissions
from ..extensions import db
from ..models import Board, Follow, PostStatus, Topic, User, utcnow
from . import PermissionDenied, transaction


def _upsert(user_id: int, *, board_id: int | None = None, topic_id: int | None = None,
            following: bool, keep_existing: bool = False) -> None:
    target = "board_id" if board_id is not None else "topic_id"
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    statement = insert(Follow).values(user_id=user_id, board_id=board_id, topic_id=topic_id,
                                      following=following, created_at=utcnow())
    if keep_existing:
        statement = statement.on_conflict_do_nothing(index_elements=["user_id", target])
    else:
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", target],
            set_={"following": statement.excluded.following,
                  "created_at": statement.excluded.created_at})
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
    following = db.session.scalar(sa.select(Follow.following).where(
        Follow.user_id == user_id, Follow.topic_id == topic_id))
    return following is not False


# --- reading, for pages --------------------------------------------------------------

@dataclass(frozen=True)
class FollowState:
    board: bool = False
    topics: frozenset[int] = frozenset()

    def follows_topic(self, topic_id: int) -> bool:
        return topic_id in self.topics


def state_for(user: User | None, *, board_id: int | None = None,
              topic_ids: list[int] | tuple[int, ...] = ()) -> FollowState:
    """The viewer's follow state for a board and any topics on the page, in one query."""
    if user is None or not user.is_authenticated or (board_id is None and not topic_ids):
        return FollowState()
    conditions = []
    if board_id is not None:
        conditions.append(Follow.board_id == board_id)
    if topic_ids:
        conditions.append(Follow.topic_id.in_(list(topic_ids)))
    rows = db.session.execute(
        sa.select(Follow.board_id, Follow.topic_id).where(
            Follow.user_id == user.id, Follow.following.is_(True), sa.or_(*conditions))).all()
    return FollowState(board=any(row.board_id == board_id for row in rows if row.board_id),
                       topics=frozenset(row.topic_id for row in rows if row.topic_id))


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
        sa.select(Follow.board_id, Follow.topic_id, Follow.created_at,
                  Board.name.label("board_name"), Board.slug.label("board_slug"),
                  Topic.title.label("topic_title"))
        .outerjoin(Topic, Topic.id == Follow.topic_id)
        .outerjoin(Board, Board.id == Follow.board_id)
        .where(Follow.user_id == user.id, Follow.following.is_(True),
               sa.or_(Follow.board_id.is_not(None), Topic.status == PostStatus.PUBLISHED))
        .order_by(Follow.created_at.desc(), Follow.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1))
    rows = db.session.execute(query).all()
    items = [Followed(kind="board", name=row.board_name, board_slug=row.board_slug,
                      topic_id=None, since=row.created_at) if row.board_id is not None
             else Followed(kind="topic", name=row.topic_title, board_slug=None,
                           topic_id=row.topic_id, since=row.created_at)
             for row in rows[:per_page]]
    return FollowedPage(items=items, page=page, has_next=len(rows) > per_page)
