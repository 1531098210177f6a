"""Stored facts derived from other rows: topic statuses, queue counts, digest schedules."""

from __future__ import annotations

import sqlalchemy as sa

from ...extensions import db
from ...models import DigestFrequency, MailSettings, Post, PostStatus, ReviewQueueCount, Topic
from .. import mail_settings, queue_counts
from .problems import Problem

#: A topic is listed (and counted on its board) while its first post is published; one
#: whose first post was deleted after it went out stays listed (post_state._topic_status).
_LEFT_IN_PLACE = (PostStatus.DELETED, PostStatus.REMOVED)


# --- topics and their first posts ------------------------------------------------------------


def _lowest_post_id():
    return (
        sa.select(sa.func.min(Post.id))
        .where(Post.topic_id == Topic.id)
        .correlate(Topic)
        .scalar_subquery()
    )


def _misplaced_first_posts():
    """Topics whose first_post_id is not their lowest post's id (or is set with no posts)."""
    return sa.select(Topic.id, Topic.first_post_id, _lowest_post_id().label("lowest")).where(
        Topic.first_post_id.is_distinct_from(_lowest_post_id())
    )


def find_first_posts() -> list[Problem]:
    rows = db.session.execute(_misplaced_first_posts().order_by(Topic.id))
    return [
        Problem(
            f"topic {topic_id}: first_post_id is {first_post_id or 'empty'}, but its first "
            f"post is post {lowest}",
            True,
        )
        # A topic without posts is named by find_topic_statuses (and a pointer at a post
        # that is gone by find_orphans); repair clears its first_post_id all the same.
        for topic_id, first_post_id, lowest in rows
        if lowest is not None
    ]


def fix_first_posts() -> None:
    db.session.execute(
        sa.update(Topic)
        .where(Topic.first_post_id.is_distinct_from(_lowest_post_id()))
        .values(first_post_id=_lowest_post_id())
        .execution_options(synchronize_session=False)
    )


def _first_posts():
    """(topic id, its status, its first post's status, its lowest post id) of every topic."""
    return (
        sa.select(
            Topic.id,
            Topic.status,
            Post.status.label("first_status"),
            _lowest_post_id().label("lowest"),
        )
        .select_from(Topic)
        .outerjoin(Post, sa.and_(Post.id == Topic.first_post_id, Post.topic_id == Topic.id))
        .order_by(Topic.id)
    )


def _topic_status_wrong(topic_status: str, first_status: str) -> bool:
    if first_status in _LEFT_IN_PLACE:
        return topic_status not in (PostStatus.PUBLISHED, first_status)
    return topic_status != first_status


def find_topic_statuses() -> list[Problem]:
    problems = []
    for topic_id, status, first_status, lowest in db.session.execute(_first_posts()):
        if lowest is None:
            problems.append(
                Problem(f"topic {topic_id}: has no posts, so its first post is missing", False)
            )
        elif first_status is None:
            continue  # first_post_id is wrong: find_first_posts names it, repair sets it
        elif _topic_status_wrong(status, first_status):
            # A first post deleted by its author leaves the topic listed or not depending
            # on whether it ever went out: that history is not in the database.
            problems.append(
                Problem(
                    f"topic {topic_id}: status is '{status}', but its first "
                    f"post is '{first_status}'",
                    first_status not in _LEFT_IN_PLACE,
                )
            )
    return problems


def fix_topic_statuses() -> None:
    for topic_id, status, first_status, _ in db.session.execute(_first_posts()).all():
        if (
            first_status is not None
            and first_status not in _LEFT_IN_PLACE
            and status != first_status
        ):
            db.session.execute(
                sa.update(Topic).where(Topic.id == topic_id).values(status=first_status)
            )


# --- the queue's waiting counts ----------------------------------------------------------------


def _queue_count_differences() -> list[tuple[tuple[int, str], int, int]]:
    session = db.session()  # the scope's own Session, which queue_counts takes
    stored = queue_counts.stored_counts(session)
    actual = queue_counts.actual_counts(session)
    return [
        (key, stored.get(key, 0), actual.get(key, 0))
        for key in sorted(stored | actual)
        if stored.get(key, 0) != actual.get(key, 0)
    ]


def find_queue_counts() -> list[Problem]:
    problems = []
    for (board, kind), stored, actual in _queue_count_differences():
        where = f"board {board}" if board != queue_counts.NO_BOARD else "no board"
        problems.append(
            Problem(
                f"review queue, {where}: {kind.replace('_', ' ')} items waiting counted as "
                f"{stored}, but {actual} wait",
                True,
            )
        )
    return problems


def fix_queue_counts() -> None:
    for (board, kind), _, actual in _queue_count_differences():
        db.session.execute(
            sa.delete(ReviewQueueCount).where(
                ReviewQueueCount.board_key == board, ReviewQueueCount.kind == kind
            )
        )
        db.session.execute(
            sa.insert(ReviewQueueCount).values(board_key=board, kind=kind, waiting=actual)
        )


# --- mail settings -----------------------------------------------------------------------------


def _unscheduled_digests():
    return sa.and_(
        MailSettings.digest != DigestFrequency.NONE, MailSettings.next_digest_at.is_(None)
    )


def find_unscheduled_digests() -> list[Problem]:
    rows = db.session.execute(
        sa.select(MailSettings.user_id).where(_unscheduled_digests()).order_by(MailSettings.user_id)
    )
    return [
        Problem(
            f"mail settings of member {user_id}: a digest is chosen but none is "
            "scheduled, so none would ever be sent",
            True,
        )
        for (user_id,) in rows
    ]


def fix_unscheduled_digests() -> None:
    for settings in db.session.scalars(sa.select(MailSettings).where(_unscheduled_digests())):
        mail_settings.reschedule(settings)
