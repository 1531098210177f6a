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


def published_in_published_topic() -> sa.ColumnElement[bool]:
    """A published post in a published topic, as SQL: what is shown to other members,
    searched, counted on a board and mailed. The caller joins Topic on Post.topic_id."""
    return sa.and_(Post.status == PostStatus.PUBLISHED, Topic.status == PostStatus.PUBLISHED)


def readable_boards_filter(viewer: User | None) -> sa.ColumnElement[bool]:
    """permissions.can_read_board, as SQL."""
    if viewer is not None and viewer.is_authenticated:
        return sa.true()
    return Board.is_public.is_(True)


def helplines() -> list[Helpline]:
    """The "Get help now" list, in the order admins gave it."""
    return list(db.session.scalars(sa.select(Helpline).order_by(Helpline.position, Helpline.id)))


def board_list(viewer: User | None) -> list[Board]:
    return list(
        db.session.scalars(
            sa.select(Board)
            .where(readable_boards_filter(viewer))
            .order_by(Board.position, Board.id)
        )
    )


# --- board page: keyset pagination -------------------------------------------


@dataclass(frozen=True)
class TopicPage:
    """One page of a board's list: rows with id, title, revision, is_pinned, is_locked,
    post_count, last_post_at, author_id and author_name."""

    topics: list[sa.Row]
    next_cursor: str | None
    prev_cursor: str | None


def _encode_cursor(topic) -> str:
    """The cursor after `topic` (a Topic or a row with is_pinned, last_post_at and id)."""
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


def _topics_statement(direction: str) -> sa.Select:
    """A board's listed topics, pinned first, then latest activity, newest first: from the
    start, "after" a cursor or (in reverse) "before" one. Built once per direction."""
    sort_key = sa.tuple_(Topic.is_pinned, Topic.last_post_at, Topic.id)
    cursor = sa.tuple_(
        sa.bindparam("pinned", type_=Topic.is_pinned.type),
        sa.bindparam("at", type_=Topic.last_post_at.type),
        sa.bindparam("topic_id", type_=Topic.id.type),
    )
    query = (
        sa.select(
            Topic.id,
            Topic.title,
            Topic.revision,
            Topic.is_pinned,
            Topic.is_locked,
            Topic.post_count,
            Topic.last_post_at,
            Topic.author_id,
            User.username.label("author_name"),
        )
        .outerjoin(User, User.id == Topic.author_id)
        .where(Topic.board_id == sa.bindparam("board_id"), Topic.status == PostStatus.PUBLISHED)
        .limit(sa.bindparam("limit"))
    )
    if direction == "after":
        query = query.where(sort_key < cursor)
    elif direction == "before":
        query = query.where(sort_key > cursor)
        return query.order_by(Topic.is_pinned.asc(), Topic.last_post_at.asc(), Topic.id.asc())
    return query.order_by(Topic.is_pinned.desc(), Topic.last_post_at.desc(), Topic.id.desc())


_TOPICS = {direction: _topics_statement(direction) for direction in ("first", "after", "before")}


def topics_page(
    board_id: int, per_page: int, after: str | None = None, before: str | None = None
) -> TopicPage:
    """Pinned first, then latest activity, newest first; keyset pages on an index, so a
    page deep in a board costs what the first does."""
    direction, key = "first", None
    if after and (key := _decode_cursor(after)):
        direction = "after"
    elif before and (key := _decode_cursor(before)):
        direction = "before"
    parameters: dict[str, object] = {"board_id": board_id, "limit": per_page + 1}
    if key is not None:
        parameters.update(pinned=key[0], at=key[1], topic_id=key[2])
    rows = list(db.session.connection().execute(_TOPICS[direction], parameters))
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    if direction == "before":
        rows.reverse()
        next_cursor = _encode_cursor(rows[-1]) if rows else None
        prev_cursor = _encode_cursor(rows[0]) if rows and has_more else None
    else:
        next_cursor = _encode_cursor(rows[-1]) if rows and has_more else None
        prev_cursor = _encode_cursor(rows[0]) if rows and direction == "after" else None
    return TopicPage(rows, next_cursor, prev_cursor)


_BOARD_BY_SLUG = sa.select(
    Board.id, Board.slug, Board.name, Board.mode, Board.is_public, Board.description
).where(Board.slug == sa.bindparam("slug"))


def board_by_slug(slug: str) -> sa.Row | None:
    """(id, slug, name, mode, is_public, description) of a board, as it is now."""
    return db.session.connection().execute(_BOARD_BY_SLUG, {"slug": slug}).first()


# --- topic page ----------------------------------------------------------------
# The topic page is the most visited page, so its statements are built once, here,
# with bind parameters: building select() objects on every request cost as much as
# running them (bench/README.md).


def thread_filter(topic_id: int | sa.BindParameter[int]) -> sa.ColumnElement[bool]:
    return sa.and_(Post.topic_id == topic_id, Post.status.in_(THREAD_STATUSES))


_TOPIC_WITH_BOARD = (
    sa.select(Topic).options(joinedload(Topic.board)).where(Topic.id == sa.bindparam("topic_id"))
)

_THREAD_LENGTH = sa.select(sa.func.count()).where(thread_filter(sa.bindparam("topic_id")))

# Only what the page shows: no Markdown source, no whole User rows.
_THREAD_PAGE = (
    sa.select(
        Post.id,
        Post.status,
        Post.author_id,
        # Words kept for moderators behind a placeholder never leave the database here.
        sa.case((Post.status == PostStatus.PUBLISHED, Post.body_html), else_="").label("body_html"),
        Post.content_warning,
        Post.created_at,
        Post.edited_at,
        # An erased member's pseudonym is for moderators: readers see "a former member".
        sa.case((User.erased_at.is_(None), User.username), else_=None).label("author_name"),
        # For the author line's profile link and block button (forum.members).
        User.role.label("author_role"),
        User.erased_at.label("author_erased_at"),
    )
    .outerjoin(User, User.id == Post.author_id)
    .where(thread_filter(sa.bindparam("topic_id")))
    .order_by(Post.id)
    .offset(sa.bindparam("offset"))
    .limit(sa.bindparam("limit"))
)


_TOPIC_STAMP = (
    sa.select(
        Topic.revision,
        Topic.status,
        Board.is_public,
        # The board as it is now (a board renamed or made read-only does not move its
        # topics' revisions): members' pages read it from here, not from a kept copy.
        Board.id.label("board_id"),
        Board.slug.label("board_slug"),
        Board.name.label("board_name"),
        Board.mode.label("board_mode"),
    )
    .join(Board, Board.id == Topic.board_id)
    .where(Topic.id == sa.bindparam("topic_id"))
)


def topic_stamp(topic_id: int, *, in_session: bool = False) -> sa.Row | None:
    """(revision, status, is_public, board_id, board_slug, board_name, board_mode) of a
    topic: enough to serve a kept copy of its page, or of its posts.

    For a logged-out visitor, one autocommit statement outside the request's session:
    on PostgreSQL that saves the BEGIN and ROLLBACK round trips a session would add to
    every cache hit. A member's request has begun its session already (loading them),
    and asking there (`in_session`) saves taking a second connection.
    """
    parameters = {"topic_id": topic_id}
    if in_session:
        return db.session.connection().execute(_TOPIC_STAMP, parameters).first()
    with db.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        return autocommit.execute(_TOPIC_STAMP, parameters).first()


def topic_with_board(topic_id: int) -> Topic | None:
    return db.session.scalars(_TOPIC_WITH_BOARD, {"topic_id": topic_id}).first()


def thread_length(topic_id: int, connection: sa.Connection) -> int:
    return connection.scalar(_THREAD_LENGTH, {"topic_id": topic_id}) or 0


def posts_page(topic_id: int, page: int, per_page: int, connection: sa.Connection) -> list[sa.Row]:
    """Rows with id, status, author_id, author_name, author_role, author_erased_at,
    body_html, content_warning, times."""
    parameters = {"topic_id": topic_id, "offset": (page - 1) * per_page, "limit": per_page}
    return list(connection.execute(_THREAD_PAGE, parameters))


def page_of_post(post: Post, per_page: int) -> int:
    earlier = (
        db.session.scalar(
            sa.select(sa.func.count()).where(thread_filter(post.topic_id), Post.id < post.id)
        )
        or 0
    )
    return earlier // per_page + 1
