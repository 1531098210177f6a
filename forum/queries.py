"""Read-side helpers: what a viewer may see, and paginated lists.

Every list here costs a fixed number of queries however long it is (authors
are joined in, never loaded per row), and pages deep into a board cost what
the first does (keyset pagination on an index).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from .extensions import db
from .http import MAX_ID
from .models import Board, Helpline, Post, PostStatus, Topic, User

#: Statuses that belong in a thread for everyone: published posts, and the
#: placeholders of posts removed by their authors or by moderators.
THREAD_STATUSES = (PostStatus.PUBLISHED, PostStatus.DELETED, PostStatus.REMOVED)


def readable_boards_filter(viewer: User | None):
    """permissions.can_read_board, as SQL."""
    if viewer is not None and viewer.is_authenticated:
        return sa.true()
    return Board.is_public.is_(True)


def helplines() -> list[Helpline]:
    """The "Get help now" list, in the order admins gave it."""
    return list(db.session.scalars(sa.select(Helpline).order_by(Helpline.position, Helpline.id)))


def board_list(viewer: User | None) -> list[Board]:
    return list(db.session.scalars(
        sa.select(Board).where(readable_boards_filter(viewer)).order_by(Board.position, Board.id)
    ))


# --- board page: keyset pagination -------------------------------------------

@dataclass(frozen=True)
class TopicPage:
    topics: list[Topic]
    next_cursor: str | None
    prev_cursor: str | None


def _encode_cursor(topic: Topic) -> str:
    raw = f"{int(topic.is_pinned)}|{topic.last_post_at.isoformat()}|{topic.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[bool, datetime, int] | None:
    """None for anything that is not a cursor we made (a bad link is just page 1)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        pinned, stamp, topic_id = raw.split("|")
        at = datetime.fromisoformat(stamp)
        at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        number = int(topic_id)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
        return None
    if pinned not in ("0", "1") or not 0 < number <= MAX_ID:
        return None
    return pinned == "1", at, number


def topics_page(board: Board, per_page: int, after: str | None = None,
                before: str | None = None) -> TopicPage:
    """Pinned first, then latest activity, newest first."""
    sort_key = sa.tuple_(Topic.is_pinned, Topic.last_post_at, Topic.id)
    query = (sa.select(Topic).where(Topic.board_id == board.id,
                                    Topic.status == PostStatus.PUBLISHED)
             .options(joinedload(Topic.author)))
    going_back = False
    if after and (key := _decode_cursor(after)):
        query = query.where(sort_key < key)
    elif before and (key := _decode_cursor(before)):
        query = query.where(sort_key > key)
        going_back = True
    if going_back:
        order = (Topic.is_pinned.asc(), Topic.last_post_at.asc(), Topic.id.asc())
    else:
        order = (Topic.is_pinned.desc(), Topic.last_post_at.desc(), Topic.id.desc())
    rows = list(db.session.scalars(query.order_by(*order).limit(per_page + 1)))
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    if going_back:
        rows.reverse()
        next_cursor = _encode_cursor(rows[-1]) if rows else None
        prev_cursor = _encode_cursor(rows[0]) if rows and has_more else None
    else:
        next_cursor = _encode_cursor(rows[-1]) if rows and has_more else None
        prev_cursor = _encode_cursor(rows[0]) if rows and (after and _decode_cursor(after)) \
            else None
    return TopicPage(rows, next_cursor, prev_cursor)


# --- topic page ----------------------------------------------------------------
# The topic page is the most visited page, so its statements are built once, here,
# with bind parameters: building select() objects on every request cost as much as
# running them (bench/README.md).

def thread_filter(topic_id):
    return sa.and_(Post.topic_id == topic_id, Post.status.in_(THREAD_STATUSES))


_TOPIC_WITH_BOARD = (sa.select(Topic).options(joinedload(Topic.board))
                     .where(Topic.id == sa.bindparam("topic_id")))

_THREAD_LENGTH = sa.select(sa.func.count()).where(thread_filter(sa.bindparam("topic_id")))

# Only what the page shows: no Markdown source, no whole User rows.
_THREAD_PAGE = (
    sa.select(Post.id, Post.status, Post.author_id,
              # Words kept for moderators behind a placeholder never leave the database here.
              sa.case((Post.status == PostStatus.PUBLISHED, Post.body_html), else_="")
              .label("body_html"),
              Post.content_warning,
              Post.created_at, Post.edited_at,
              # An erased member's pseudonym is for moderators: readers see "a former member".
              sa.case((User.erased_at.is_(None), User.username), else_=None)
              .label("author_name"),
              # For the author line's profile link and block button (forum.members).
              User.role.label("author_role"), User.erased_at.label("author_erased_at"))
    .outerjoin(User, User.id == Post.author_id)
    .where(thread_filter(sa.bindparam("topic_id")))
    .order_by(Post.id)
    .offset(sa.bindparam("offset")).limit(sa.bindparam("limit"))
)


_TOPIC_STAMP = (sa.select(Topic.revision, Topic.status, Board.is_public)
                .join(Board, Board.id == Topic.board_id)
                .where(Topic.id == sa.bindparam("topic_id")))


def topic_stamp(topic_id: int) -> sa.Row | None:
    """(revision, status, is_public) of a topic: enough to serve a cached copy of its page.

    One autocommit statement outside the request's session: on PostgreSQL that
    saves the BEGIN and ROLLBACK round trips a session would add to every cache hit.
    """
    with db.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        return autocommit.execute(_TOPIC_STAMP, {"topic_id": topic_id}).first()


def topic_with_board(topic_id: int) -> Topic | None:
    return db.session.scalars(_TOPIC_WITH_BOARD, {"topic_id": topic_id}).first()


def thread_length(topic_id: int) -> int:
    return db.session.scalar(_THREAD_LENGTH, {"topic_id": topic_id}) or 0


def posts_page(topic: Topic, page: int, per_page: int) -> list[sa.Row]:
    """Rows with id, status, author_id, author_name, author_role, author_erased_at,
    body_html, content_warning, times."""
    return list(db.session.execute(_THREAD_PAGE, {
        "topic_id": topic.id, "offset": (page - 1) * per_page, "limit": per_page}))


def page_of_post(post: Post, per_page: int) -> int:
    earlier = db.session.scalar(
        sa.select(sa.func.count()).where(thread_filter(post.topic_id), Post.id < post.id)) or 0
    return earlier // per_page + 1
