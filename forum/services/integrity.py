"""Checking the database against its own rules, and repairing what can be derived.

Kindred keeps some facts twice for speed (forum.models): topic and board counters,
the last-post times boards and topics are sorted by, a topic's status (that of its
first post), a review item's board. The services keep them right in the same
transaction as every change; a crash, a hand-edited row or a bug can still leave
them wrong, and a row can be left pointing at one that is gone (SQLite does not
enforce foreign keys when they were switched off, and restores can be partial).

`find_problems()` lists every inconsistency; `repair()` fixes, in one transaction,
what the other rows determine (counters, times, statuses, and what a foreign key's
ON DELETE rule says should have happened to a row whose parent is gone) and lists
the rest for a person to decide. Every check is one query over a whole table, so a
check costs the same handful of statements on a forum of any size.

Lines name rows by id only, never by their text: pending or hidden words stay out of
terminals and logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Board,
    DigestFrequency,
    MailSettings,
    Post,
    PostStatus,
    ReviewItem,
    ReviewKind,
    ReviewQueueCount,
    Topic,
)
from . import mail_settings, queue_counts, transaction

#: A topic is listed (and counted on its board) while its first post is published; one
#: whose first post was deleted after it went out stays listed (posting._topic_status).
_LEFT_IN_PLACE = (PostStatus.DELETED, PostStatus.REMOVED)


@dataclass(frozen=True)
class Problem:
    """One inconsistency: a readable line, and whether repair() can fix it."""

    line: str
    repairable: bool

    def __str__(self) -> str:
        return self.line if self.repairable else f"{self.line} (cannot be repaired: {_MANUAL})"


_MANUAL = "decide by hand, or restore a backup"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class _Check:
    """Finds problems; `fix` (if any) makes the stored values right again."""

    find: Callable[[], list[Problem]]
    fix: Callable[[], None] | None = None


# --- counters and times: derived from the published posts ---------------------------------

def _published_posts_per_topic():
    return (sa.select(Post.topic_id, sa.func.count().label("posts"),
                      sa.func.max(Post.published_at).label("newest"))
            .where(Post.status == PostStatus.PUBLISHED).group_by(Post.topic_id).subquery())


def _listed_per_board():
    """Per board: its listed topics, their published posts, and the newest of those."""
    per_topic = _published_posts_per_topic()
    return (sa.select(Topic.board_id, sa.func.count().label("topics"),
                      sa.func.coalesce(sa.func.sum(per_topic.c.posts), 0).label("posts"),
                      sa.func.max(per_topic.c.newest).label("newest"))
            .select_from(Topic).outerjoin(per_topic, per_topic.c.topic_id == Topic.id)
            .where(Topic.status == PostStatus.PUBLISHED).group_by(Topic.board_id).subquery())


def _topic_counts() -> tuple[sa.Select, sa.ScalarSelect]:
    per_topic = _published_posts_per_topic()
    actual = sa.func.coalesce(per_topic.c.posts, 0)
    wrong = (sa.select(Topic.id, Topic.post_count, actual).select_from(Topic)
             .outerjoin(per_topic, per_topic.c.topic_id == Topic.id)
             .where(Topic.post_count != actual).order_by(Topic.id))
    correct = (sa.select(sa.func.count()).where(Post.topic_id == Topic.id,
                                                Post.status == PostStatus.PUBLISHED)
               .scalar_subquery())
    return wrong, correct


def _find_topic_counts() -> list[Problem]:
    wrong, _ = _topic_counts()
    return [Problem(f"topic {topic_id}: post count is {stored}, but it has "
                    f"{_count(actual, 'published post')}", True)
            for topic_id, stored, actual in db.session.execute(wrong)]


def _fix_topic_counts() -> None:
    _, correct = _topic_counts()
    db.session.execute(sa.update(Topic).where(Topic.post_count != correct)
                       .values(post_count=correct).execution_options(synchronize_session=False))


def _find_board_counts() -> list[Problem]:
    listed = _listed_per_board()
    topics = sa.func.coalesce(listed.c.topics, 0)
    posts = sa.func.coalesce(listed.c.posts, 0)
    rows = db.session.execute(
        sa.select(Board.id, Board.topic_count, topics, Board.post_count, posts)
        .select_from(Board).outerjoin(listed, listed.c.board_id == Board.id)
        .where(sa.or_(Board.topic_count != topics, Board.post_count != posts))
        .order_by(Board.id))
    problems = []
    for board_id, stored_topics, actual_topics, stored_posts, actual_posts in rows:
        if stored_topics != actual_topics:
            problems.append(Problem(f"board {board_id}: topic count is {stored_topics}, but it "
                                    f"lists {_count(actual_topics, 'published topic')}", True))
        if stored_posts != actual_posts:
            problems.append(Problem(f"board {board_id}: post count is {stored_posts}, but its "
                                    f"listed topics hold {_count(actual_posts, 'published post')}",
                                    True))
    return problems


def _fix_board_counts() -> None:
    listed_topics = (sa.select(sa.func.count()).where(Topic.board_id == Board.id,
                                                      Topic.status == PostStatus.PUBLISHED)
                     .scalar_subquery())
    listed_posts = (sa.select(sa.func.count()).select_from(Post).join(Topic)
                    .where(Topic.board_id == Board.id, Topic.status == PostStatus.PUBLISHED,
                           Post.status == PostStatus.PUBLISHED).scalar_subquery())
    db.session.execute(
        sa.update(Board).where(sa.or_(Board.topic_count != listed_topics,
                                      Board.post_count != listed_posts))
        .values(topic_count=listed_topics, post_count=listed_posts)
        .execution_options(synchronize_session=False))


# Last-post times move forward when a post goes out and stay when one is later hidden
# (the topic keeps its place), so the rule is "not older than the newest published post".

def _newest_in_topic():
    return (sa.select(sa.func.max(Post.published_at))
            .where(Post.topic_id == Topic.id, Post.status == PostStatus.PUBLISHED)
            .scalar_subquery())


def _newest_in_board():
    return (sa.select(sa.func.max(Post.published_at)).select_from(Post).join(Topic)
            .where(Topic.board_id == Board.id, Topic.status == PostStatus.PUBLISHED,
                   Post.status == PostStatus.PUBLISHED).scalar_subquery())


def _stale(stored, newest):
    return sa.and_(newest.is_not(None), sa.or_(stored.is_(None), stored < newest))


def _find_topic_times() -> list[Problem]:
    rows = db.session.execute(sa.select(Topic.id).where(_stale(Topic.last_post_at,
                                                               _newest_in_topic()))
                              .order_by(Topic.id))
    return [Problem(f"topic {topic_id}: last-post time is older than its newest published post",
                    True) for (topic_id,) in rows]


def _fix_topic_times() -> None:
    newest = _newest_in_topic()
    db.session.execute(sa.update(Topic).where(_stale(Topic.last_post_at, newest))
                       .values(last_post_at=newest)
                       .execution_options(synchronize_session=False))


def _find_board_times() -> list[Problem]:
    rows = db.session.execute(sa.select(Board.id).where(_stale(Board.last_post_at,
                                                               _newest_in_board()))
                              .order_by(Board.id))
    return [Problem(f"board {board_id}: last-post time is older than its newest published post",
                    True) for (board_id,) in rows]


def _fix_board_times() -> None:
    newest = _newest_in_board()
    db.session.execute(sa.update(Board).where(_stale(Board.last_post_at, newest))
                       .values(last_post_at=newest)
                       .execution_options(synchronize_session=False))


def _find_unstamped_posts() -> list[Problem]:
    rows = db.session.execute(sa.select(Post.id).where(Post.status == PostStatus.PUBLISHED,
                                                       Post.published_at.is_(None))
                              .order_by(Post.id))
    return [Problem(f"post {post_id}: published, but without a publication time (digests "
                    "miss it; repair uses the time it was written)", True) for (post_id,) in rows]


def _fix_unstamped_posts() -> None:
    db.session.execute(sa.update(Post).where(Post.status == PostStatus.PUBLISHED,
                                             Post.published_at.is_(None))
                       .values(published_at=Post.created_at)
                       .execution_options(synchronize_session=False))


# --- topics and their first posts ------------------------------------------------------------

def _first_posts():
    first = (sa.select(Post.topic_id, sa.func.min(Post.id).label("post_id"))
             .group_by(Post.topic_id).subquery())
    return (sa.select(Topic.id, Topic.status, Post.status.label("first_status"))
            .select_from(Topic).outerjoin(first, first.c.topic_id == Topic.id)
            .outerjoin(Post, Post.id == first.c.post_id).order_by(Topic.id))


def _topic_status_wrong(topic_status: str, first_status: str) -> bool:
    if first_status in _LEFT_IN_PLACE:
        return topic_status not in (PostStatus.PUBLISHED, first_status)
    return topic_status != first_status


def _find_topic_statuses() -> list[Problem]:
    problems = []
    for topic_id, status, first_status in db.session.execute(_first_posts()):
        if first_status is None:
            problems.append(Problem(f"topic {topic_id}: has no posts, so its first post is "
                                    "missing", False))
        elif _topic_status_wrong(status, first_status):
            # A first post deleted by its author leaves the topic listed or not depending
            # on whether it ever went out: that history is not in the database.
            problems.append(Problem(f"topic {topic_id}: status is {status!r}, but its first "
                                    f"post is {first_status!r}",
                                    first_status not in _LEFT_IN_PLACE))
    return problems


def _fix_topic_statuses() -> None:
    for topic_id, status, first_status in db.session.execute(_first_posts()).all():
        if first_status is not None and first_status not in _LEFT_IN_PLACE \
                and status != first_status:
            db.session.execute(sa.update(Topic).where(Topic.id == topic_id)
                               .values(status=first_status))


# --- review items ------------------------------------------------------------------------------

_POST_KINDS = (ReviewKind.HELD_POST, ReviewKind.REPORTED_POST, ReviewKind.FLAGGED_POST)


def _targetless_items():
    return sa.or_(sa.and_(ReviewItem.kind.in_(_POST_KINDS), ReviewItem.post_id.is_(None)),
                  sa.and_(ReviewItem.kind == ReviewKind.ACCOUNT,
                          ReviewItem.account_id.is_(None)))


def _find_targetless_items() -> list[Problem]:
    rows = db.session.execute(sa.select(ReviewItem.id, ReviewItem.kind)
                              .where(_targetless_items()).order_by(ReviewItem.id))
    return [Problem(f"review item {item_id}: a {kind.replace('_', ' ')} item with nothing to "
                    "review (repair removes it, as deleting its post or account would have)",
                    True) for item_id, kind in rows]


def _fix_targetless_items() -> None:
    db.session.execute(sa.delete(ReviewItem).where(_targetless_items())
                       .execution_options(synchronize_session=False))


def _item_board():
    return (sa.select(Topic.board_id).join(Post, Post.topic_id == Topic.id)
            .where(Post.id == ReviewItem.post_id).scalar_subquery())


def _misfiled_items():
    board = _item_board()
    return sa.and_(ReviewItem.post_id.is_not(None), board.is_not(None),
                   sa.or_(ReviewItem.board_id.is_(None), ReviewItem.board_id != board))


def _find_misfiled_items() -> list[Problem]:
    rows = db.session.execute(sa.select(ReviewItem.id).where(_misfiled_items())
                              .order_by(ReviewItem.id))
    return [Problem(f"review item {item_id}: filed under another board than its post's topic "
                    "(moderators of that board do not see it)", True) for (item_id,) in rows]


def _fix_misfiled_items() -> None:
    db.session.execute(sa.update(ReviewItem).where(_misfiled_items())
                       .values(board_id=_item_board())
                       .execution_options(synchronize_session=False))


# --- the queue's waiting counts ----------------------------------------------------------------

def _queue_count_differences() -> list[tuple[tuple[int, str], int, int]]:
    stored = queue_counts.stored_counts(db.session)
    actual = queue_counts.actual_counts(db.session)
    return [(key, stored.get(key, 0), actual.get(key, 0)) for key in sorted(stored | actual)
            if stored.get(key, 0) != actual.get(key, 0)]


def _find_queue_counts() -> list[Problem]:
    problems = []
    for (board, kind), stored, actual in _queue_count_differences():
        where = f"board {board}" if board != queue_counts.NO_BOARD else "no board"
        problems.append(Problem(
            f"review queue, {where}: {kind.replace('_', ' ')} items waiting counted as "
            f"{stored}, but {actual} wait", True))
    return problems


def _fix_queue_counts() -> None:
    for (board, kind), _, actual in _queue_count_differences():
        db.session.execute(sa.delete(ReviewQueueCount).where(
            ReviewQueueCount.board_key == board, ReviewQueueCount.kind == kind))
        db.session.execute(sa.insert(ReviewQueueCount).values(board_key=board, kind=kind,
                                                              waiting=actual))


# --- mail settings -----------------------------------------------------------------------------

def _unscheduled_digests():
    return sa.and_(MailSettings.digest != DigestFrequency.NONE,
                   MailSettings.next_digest_at.is_(None))


def _find_unscheduled_digests() -> list[Problem]:
    rows = db.session.execute(sa.select(MailSettings.user_id).where(_unscheduled_digests())
                              .order_by(MailSettings.user_id))
    return [Problem(f"mail settings of member {user_id}: a digest is chosen but none is "
                    "scheduled, so none would ever be sent", True) for (user_id,) in rows]


def _fix_unscheduled_digests() -> None:
    for settings in db.session.scalars(sa.select(MailSettings).where(_unscheduled_digests())):
        mail_settings.reschedule(settings)


# --- rows pointing at rows that are gone ---------------------------------------------------------

def _foreign_keys():
    """Every single-column foreign key of every table, from the models' metadata, so a table
    added later is checked without a change here."""
    for table in db.metadata.sorted_tables:
        for constraint in table.foreign_key_constraints:
            if len(constraint.elements) == 1:
                yield table, constraint.elements[0]


def _dangling(table: sa.Table, key: sa.ForeignKey) -> sa.ColumnElement:
    # An alias, so that a table pointing at itself (a post quoting a post) reads right.
    parent = key.column.table.alias()
    column = key.parent
    return sa.and_(column.is_not(None),
                   ~sa.exists().where(parent.c[key.column.name] == column).correlate(table))


def _orphan_repair(key: sa.ForeignKey) -> str | None:
    """What the foreign key's ON DELETE rule would have done had the row's parent been
    deleted normally; None when the rule is to refuse (nothing can be derived)."""
    rule = (key.ondelete or "").upper()
    if rule == "CASCADE":
        return "delete"
    if rule == "SET NULL" and key.parent.nullable:
        return "set null"
    return None


def _find_orphans() -> list[Problem]:
    problems = []
    for table, key in _foreign_keys():
        primary = list(table.primary_key.columns)
        rows = db.session.execute(sa.select(*primary, key.parent).where(_dangling(table, key))
                                  .order_by(*primary))
        repair = _orphan_repair(key)
        for row in rows:
            row_id = "/".join(str(value) for value in row[:-1])
            advice = {"delete": " (repair removes the row)",
                      "set null": f" (repair clears {key.parent.name})"}.get(repair, "")
            problems.append(Problem(
                f"{table.name} {row_id}: {key.parent.name} points at {key.column.table.name} "
                f"{row[-1]}, which does not exist{advice}", repair is not None))
    return problems


def _fix_orphans() -> None:
    for table, key in _foreign_keys():
        repair = _orphan_repair(key)
        if repair == "delete":
            db.session.execute(sa.delete(table).where(_dangling(table, key)))
        elif repair == "set null":
            db.session.execute(sa.update(table).where(_dangling(table, key))
                               .values({key.parent.name: None}))


# Order matters for repair: rows that are gone first, then statuses, then what is counted.
_CHECKS = (
    _Check(_find_orphans, _fix_orphans),
    _Check(_find_targetless_items, _fix_targetless_items),
    _Check(_find_misfiled_items, _fix_misfiled_items),
    _Check(_find_topic_statuses, _fix_topic_statuses),
    _Check(_find_unstamped_posts, _fix_unstamped_posts),
    _Check(_find_topic_counts, _fix_topic_counts),
    _Check(_find_board_counts, _fix_board_counts),
    _Check(_find_topic_times, _fix_topic_times),
    _Check(_find_board_times, _fix_board_times),
    _Check(_find_queue_counts, _fix_queue_counts),
    _Check(_find_unscheduled_digests, _fix_unscheduled_digests),
)


def find_problems() -> list[Problem]:
    """Every inconsistency in the database, in a stable order; changes nothing."""
    try:
        return [problem for check in _CHECKS for problem in check.find()]
    finally:
        db.session.rollback()  # end the read transaction: nothing was written


@dataclass(frozen=True)
class Repair:
    found: list[Problem]  # what was wrong before the repair
    left: list[Problem]  # what is still wrong after it (what could not be derived)

    @property
    def repaired(self) -> list[Problem]:
        return [problem for problem in self.found if problem.repairable]


def repair() -> Repair:
    """Fix everything that can be derived, in one transaction; report the rest.

    The found problems are re-checked inside the same transaction after fixing, so
    `left` is what the database holds now, not a guess.
    """
    with transaction():
        found = [problem for check in _CHECKS for problem in check.find()]
        for check in _CHECKS:
            if check.fix is not None and any(problem.repairable for problem in check.find()):
                check.fix()
        db.session.flush()
        left = [problem for check in _CHECKS for problem in check.find()]
    return Repair(found=found, left=left)
