"""Reading the review queue: its pages and its numbers (one item's story: review_item.py).

The queue is ordered by priority, then by how long an item has waited.
Pages use a keyset on (priority, opened_at, id) over the ix_review_queue*
indexes, so the first page and the hundredth cost the same, and each page
costs a fixed number of queries whatever its length.
"""

from __future__ import annotations

import base64
import binascii
import functools
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from .. import permissions, viewer_rows
from ..extensions import db
from ..http import MAX_ID
from ..models import (
    Board,
    Post,
    PostStatus,
    ReviewItem,
    ReviewKind,
    ReviewQueueCount,
    ReviewStatus,
    User,
    utcnow,
)
from ..services import queue_counts

KIND_LABELS = {
    ReviewKind.HELD_POST: "Held post",
    ReviewKind.REPORTED_POST: "Reported post",
    ReviewKind.FLAGGED_POST: "Flagged post",
    ReviewKind.ACCOUNT: "Account to review",
}


# --- pages -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuePage:
    items: list[sa.Row]  # the columns the list shows: see queue_page
    next_cursor: str | None


def _encode(item) -> str:
    raw = f"{item.priority}|{item.opened_at.isoformat()}|{item.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[int, datetime, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        priority, stamp, item_id = raw.split("|")
        at = datetime.fromisoformat(stamp)
        at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        priority_number, id_number = int(priority), int(item_id)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
        return None
    if not (0 <= priority_number <= 1000 and 0 < id_number <= MAX_ID):
        return None
    return priority_number, at, id_number


#: Characters of a post's source fetched for the list's excerpt: the template's
#: truncate(140) (leeway 5) decides from the first 146 exactly as from the whole text.
EXCERPT_CHARS = 146


@functools.cache
def _page_columns() -> sa.Select:
    """The columns the list shows, as rows: not seven ORM objects per item.

    Built once: making the aliases and the select is most of the cost of running it.
    """
    account, claimer = aliased(User), aliased(User)
    return (
        sa.select(
            ReviewItem.id,
            ReviewItem.version,
            ReviewItem.kind,
            ReviewItem.category,
            ReviewItem.priority,
            ReviewItem.opened_at,
            ReviewItem.report_count,
            ReviewItem.is_sensitive,
            ReviewItem.post_id,
            sa.func.substr(Post.body_source, 1, EXCERPT_CHARS).label("excerpt"),
            account.username.label("account_name"),
            Board.name.label("board_name"),
            claimer.username.label("claimed_by_name"),
        )
        .select_from(ReviewItem)
        .outerjoin(Post, Post.id == ReviewItem.post_id)
        .outerjoin(account, account.id == ReviewItem.account_id)
        .outerjoin(Board, Board.id == ReviewItem.board_id)
        .outerjoin(claimer, claimer.id == ReviewItem.claimed_by_id)
    )


def queue_page(
    viewer: User,
    per_page: int,
    *,
    kind: str | None = None,
    board_id: int | None = None,
    after: str | None = None,
) -> QueuePage:
    """Pending items this moderator may see: most urgent first, then oldest first."""
    query = _page_columns().where(
        ReviewItem.status == ReviewStatus.PENDING, permissions.review_board_filter(viewer)
    )
    if kind in KIND_LABELS:
        query = query.where(ReviewItem.kind == kind)
    if board_id:
        query = query.where(ReviewItem.board_id == board_id)
    if key := _decode(after):
        priority, opened_at, item_id = key
        # After (priority, opened_at, id) in "priority DESC, opened_at ASC, id ASC" order.
        query = query.where(
            sa.or_(
                ReviewItem.priority < priority,
                sa.and_(
                    ReviewItem.priority == priority,
                    sa.or_(
                        ReviewItem.opened_at > opened_at,
                        sa.and_(ReviewItem.opened_at == opened_at, ReviewItem.id > item_id),
                    ),
                ),
            )
        )
    query = query.order_by(ReviewItem.priority.desc(), ReviewItem.opened_at, ReviewItem.id)
    rows = list(db.session.execute(query.limit(per_page + 1)))
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    return QueuePage(rows, _encode(rows[-1]) if has_more and rows else None)


@functools.lru_cache(maxsize=256)
def _counts_of(boards: tuple[int, ...] | None) -> sa.Select:
    """The waiting counts of these boards (None: every board and none), built once."""
    counts = ReviewQueueCount.__table__.c
    query = sa.select(counts.board_key, counts.kind, counts.waiting).where(counts.waiting != 0)
    if boards is not None:
        query = query.where(counts.board_key.in_(boards or (-1,)))
    return query


@functools.lru_cache(maxsize=256)
def _oldest_of(boards: tuple[int, ...], own: tuple[int, ...]) -> sa.Select:
    """The oldest waiting item's opened_at in each board (key): one index probe each."""
    items = ReviewItem.__table__.c
    not_own = items.id.not_in(own) if own else sa.true()
    return sa.select(
        *(
            sa.select(items.opened_at)
            .where(
                items.status == ReviewStatus.PENDING,
                items.board_id.is_(None)
                if board == queue_counts.NO_BOARD
                else items.board_id == board,
                not_own,
            )
            .order_by(items.opened_at)
            .limit(1)
            .scalar_subquery()
            for board in boards
        )
    )


# --- numbers at the top --------------------------------------------------------------


@dataclass(frozen=True)
class QueueNumbers:
    waiting_by_kind: dict[ReviewKind, int]
    oldest_opened_at: datetime | None
    median_decision_seconds: float | None
    decisions_last_week: int
    waiting_per_day: list[tuple[str, int]]  # (ISO day, items waiting at its end), 30 days

    @property
    def total_waiting(self) -> int:
        return sum(self.waiting_by_kind.values())


def _utc_day(column):
    """An expression giving the UTC calendar day of a time column (see _per_day).

    Cheaper per row than formatting the day as text in SQL, which the queue's
    numbers do for every item of the last 30 days: PostgreSQL casts to a date;
    SQLite's date(x) is its strftime('%Y-%m-%d', x), without the format string.
    """
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _per_day(rows) -> dict[str, int]:
    """{'YYYY-MM-DD': count} from (day, count) rows, the day a date or already text."""
    return {day if isinstance(day, str) else day.isoformat(): count for day, count in rows}


def queue_numbers(viewer: User, days: int = 30) -> QueueNumbers:
    """What waits now (live), and the week's decisions and the chart (up to a minute old)."""
    waiting, oldest = waiting_now(viewer)
    history = _recent_history(viewer, permissions.review_board_filter(viewer), days)
    return QueueNumbers(
        waiting,
        oldest,
        history.median_decision_seconds,
        history.decisions_last_week,
        history.waiting_per_day,
    )


def waiting_now(viewer: User) -> tuple[dict[ReviewKind, int], datetime | None]:
    """Items waiting per kind, and when the oldest of them came in: live, and cheap.

    The counts are read from review_queue_counts (services.queue_counts keeps it equal
    to a COUNT(*) of the waiting items): one row per board and kind. The viewer's own
    items (almost never any) are taken off. The oldest is one probe per board of
    ix_review_items_waiting_since, for the boards with anything waiting.
    """
    every_board = permissions.moderates_every_board(viewer)
    rows = _counts_of(
        None if every_board else tuple(sorted(permissions.moderated_board_ids(viewer)))
    )
    waiting = dict.fromkeys(KIND_LABELS, 0)
    boards: set[int] = set()
    for board, kind, count in db.session.execute(rows):
        if kind in waiting:
            waiting[kind] += count
        boards.add(board)
    own = permissions.items_about(viewer)
    if own:
        for board, kind in db.session.execute(
            sa.select(ReviewItem.board_id, ReviewItem.kind).where(
                ReviewItem.id.in_(own), ReviewItem.status == ReviewStatus.PENDING
            )
        ):
            if queue_counts.board_key(board) in boards and kind in waiting:
                waiting[kind] -= 1
    if not boards:
        return waiting, None
    firsts = [
        first
        for first in db.session.execute(_oldest_of(tuple(sorted(boards)), tuple(own))).one()
        if first is not None
    ]
    return waiting, min(firsts, default=None)


@dataclass(frozen=True)
class _History:
    median_decision_seconds: float | None
    decisions_last_week: int
    waiting_per_day: list[tuple[str, int]]


def _recent_history(viewer: User, visible, days: int) -> _History:
    """The history figures, kept per set of visible items for REVIEW_HISTORY_SECONDS.

    They read every item decided in the last week and opened or decided in the last
    30 days, which grows with the forum's past, not with the queue: computed on
    every view they were most of the page's time (bench/README.md, "Review queue").
    A minute's lag in a trend is harmless; the waiting counts above stay live.
    """
    keep_for = current_app.config["REVIEW_HISTORY_SECONDS"]
    scope = (
        None
        if permissions.moderates_every_board(viewer)
        else tuple(sorted(permissions.moderated_board_ids(viewer)))
    )
    key = (scope, tuple(permissions.items_about(viewer)), days)
    kept = current_app.extensions.setdefault("review_history", {})
    now = time.monotonic()
    entry = kept.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    history = _history(visible, days)
    if keep_for > 0:
        for stale in [k for k, (until, _) in list(kept.items()) if until <= now]:
            kept.pop(stale, None)
        kept[key] = (now + keep_for, history)
    return history


def _history(visible, days: int) -> _History:
    now = utcnow()
    week_ago = now - timedelta(days=7)
    durations = [
        seconds
        for seconds in db.session.scalars(
            sa.select(ReviewItem.decision_seconds).where(
                ReviewItem.decided_at >= week_ago, ReviewItem.decision_seconds.is_not(None), visible
            )
        )
        if seconds is not None  # the WHERE left these out already; this tells the type checker
    ]
    median = statistics.median(durations) if durations else None

    # Items waiting at the end of each day: those waiting when the window opened,
    # plus each day's arrivals, minus each day's decisions.
    today = now.date()
    first_day = today - timedelta(days=days - 1)
    window_start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    baseline = (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                visible,
                ReviewItem.opened_at < window_start,
                sa.or_(ReviewItem.decided_at.is_(None), ReviewItem.decided_at >= window_start),
            )
        )
        or 0
    )
    opened_day, decided_day = _utc_day(ReviewItem.opened_at), _utc_day(ReviewItem.decided_at)
    arrivals = _per_day(
        db.session.execute(
            sa.select(opened_day, sa.func.count())
            .where(visible, ReviewItem.opened_at >= window_start)
            .group_by(opened_day)
        )
    )
    decisions = _per_day(
        db.session.execute(
            sa.select(decided_day, sa.func.count())
            .where(visible, ReviewItem.decided_at >= window_start)
            .group_by(decided_day)
        )
    )
    series, level = [], baseline
    for offset in range(days):
        day = (first_day + timedelta(days=offset)).isoformat()
        level += arrivals.get(day, 0) - decisions.get(day, 0)
        series.append((day, max(level, 0)))
    return _History(median, len(durations), series)


def _mine_waiting() -> sa.ColumnElement[bool]:
    return sa.and_(
        Post.topic_id == sa.bindparam("topic_id"),
        Post.author_id == sa.bindparam("author_id"),
        Post.status == PostStatus.PENDING,
    )


# Built once (bind parameters): building the statement cost more than running it.
_MY_WAITING_POSTS = sa.select(Post).where(_mine_waiting()).order_by(Post.id).limit(20)


def waiting_part() -> sa.Select:
    """How many of the member's own posts in a topic wait for a moderator, in
    forum.viewer_rows' shape ("w", the count in `a`): a member's topic page asks this
    with its other facts, and my_waiting_posts only when there are some. Parameters:
    "topic_id", "author_id"."""
    return sa.select(*viewer_rows.row("w", sa.func.count())).where(_mine_waiting())


def my_waiting_posts(member: User, topic_id: int) -> list[Post]:
    """The member's own posts in a topic that wait for a moderator (only they see these)."""
    params = {"topic_id": topic_id, "author_id": member.id}
    return list(db.session.scalars(_MY_WAITING_POSTS, params))
