"""Review items: the one row per post (or account) in the moderators' queue, and its history.

Called inside the caller's transaction: posting and screening open items, reports add to
them, an author's change to a post under review moves its item on to a new version (so a
moderator's pending action on the old words is refused), and every step writes a
ReviewEvent.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import safety
from ..extensions import db
from ..models import (
    Board,
    Post,
    ReviewCategory,
    ReviewEvent,
    ReviewItem,
    ReviewKind,
    ReviewReason,
    ReviewStatus,
    Topic,
    User,
    utcnow,
)
from . import queue_counts


def new_item(
    kind: ReviewKind,
    *,
    category: ReviewCategory,
    post_id: int | None = None,
    account_id: int | None = None,
    board_id: int | None = None,
) -> ReviewItem:
    now = utcnow()
    item = ReviewItem(
        kind=kind,
        category=category,
        priority=safety.priority_of(category),
        is_sensitive=category in safety.SENSITIVE_CATEGORIES,
        post_id=post_id,
        account_id=account_id,
        board_id=board_id,
        created_at=now,
        opened_at=now,
        status=ReviewStatus.PENDING,
        version=1,
        report_count=0,
    )
    db.session.add(item)
    db.session.flush()
    return item


def item_for_post(post: Post, board_id: int, kind: ReviewKind) -> ReviewItem:
    """The post's one item, locked for this transaction; made if it has none yet."""
    query = sa.select(ReviewItem).where(ReviewItem.post_id == post.id).with_for_update()
    item = db.session.scalar(query)
    if item is not None:
        return item
    try:
        with db.session.begin_nested():
            item = new_item(kind, post_id=post.id, board_id=board_id, category=ReviewCategory.OTHER)
            # No reason yet: the first reason added sets the category (as after reopen),
            # so a first report for spam is not filed as "something else".
            item.priority = 0
            return item
    except IntegrityError:  # another request made it a moment ago
        return db.session.scalars(query).one()


def reopen(item: ReviewItem, kind: ReviewKind) -> None:
    """A decided item comes back to the queue, as new, keeping its history."""
    item.status = ReviewStatus.PENDING
    item.kind = kind
    item.category = ReviewCategory.OTHER
    item.priority = 0
    item.report_count = 0
    item.hidden_by_reports = False
    item.opened_at = utcnow()
    item.decided_at = item.decided_by_id = item.decision_seconds = None
    item.claimed_by_id = item.claimed_at = None
    record_event(item, None, "reopened")


def raise_priority(item: ReviewItem, category: ReviewCategory) -> None:
    if item.priority == 0 or safety.priority_of(category) > safety.priority_of(item.category):
        item.category = category
    item.is_sensitive = item.is_sensitive or category in safety.SENSITIVE_CATEGORIES
    boost = min(safety.REPORT_BOOST * max(item.report_count - 1, 0), safety.REPORT_BOOST_MAX)
    item.priority = safety.priority_of(item.category) + boost


def add_system_reasons(item: ReviewItem, reasons: list[tuple[ReviewCategory, str]]) -> None:
    for category, detail in reasons:
        db.session.add(ReviewReason(item_id=item.id, category=category, detail=detail[:500]))
        raise_priority(item, category)


def record_event(item: ReviewItem, actor: User | None, action: str, note: str = "") -> None:
    db.session.add(
        ReviewEvent(
            item_id=item.id,
            actor_id=actor.id if actor else None,
            action=action[:32],
            note=note[:1000],
        )
    )


def raise_account_review(member: User, detail: str) -> None:
    """Within a transaction: ask moderators to look at a member's account."""
    item = db.session.scalar(
        sa.select(ReviewItem).where(ReviewItem.account_id == member.id).with_for_update()
    )
    if item is None:
        item = new_item(ReviewKind.ACCOUNT, account_id=member.id, category=ReviewCategory.ACCOUNT)
    elif item.status != ReviewStatus.PENDING:
        reopen(item, ReviewKind.ACCOUNT)
        raise_priority(item, ReviewCategory.ACCOUNT)
    else:
        item.version += 1
    db.session.add(
        ReviewReason(item_id=item.id, category=ReviewCategory.ACCOUNT, detail=detail[:500])
    )
    record_event(item, None, "raised", detail)


def _pending_item_locked(post: Post) -> ReviewItem | None:
    return db.session.scalar(
        sa.select(ReviewItem)
        .where(ReviewItem.post_id == post.id, ReviewItem.status == ReviewStatus.PENDING)
        .with_for_update()
    )


def note_author_deleted(post: Post, author: User) -> bool:
    """The author deleted a post under review: True if its words must be kept for now."""
    item = _pending_item_locked(post)
    if item is None:
        return False
    _moved_on(item, author, "deleted by its author", "The words are kept until this is decided.")
    return True


def note_author_withdrew(post: Post, author: User) -> bool:
    """The author withdrew a waiting post: True if its words must be kept for now.

    A post held only by the posting checks leaves the queue with it; one about a
    member at risk, or that others reported, stays for a moderator to see.
    """
    item = _pending_item_locked(post)
    if item is None:
        return False
    if item.category == ReviewCategory.AT_RISK or item.report_count:
        _moved_on(
            item, author, "withdrawn by its author", "The words are kept until this is decided."
        )
        return True
    _moved_on(item, author, "withdrawn by its author")
    item.status = ReviewStatus.DISMISSED
    item.decided_at = utcnow()
    item.claimed_by_id = item.claimed_at = None
    return False


def note_author_edited(post: Post, author: User) -> None:
    """The author changed a post under review: a moderator's pending action on the old
    words must not apply to the new ones, so the item moves on to a new version."""
    item = _pending_item_locked(post)
    if item is not None:
        _moved_on(item, author, "edited by its author")


def _moved_on(item: ReviewItem, actor: User | None, action: str, note: str = "") -> None:
    item.version = ReviewItem.version + 1  # in SQL, on the locked row
    record_event(item, actor, action, note)
    db.session.flush()


def move_with_topic(topic: Topic, target: Board) -> None:
    """The items of a topic's posts follow it to another board, waiting counts and all."""
    in_topic = ReviewItem.post_id.in_(sa.select(Post.id).where(Post.topic_id == topic.id))
    moving: dict = {}
    for old_board, kind, waiting in db.session.execute(
        sa.select(ReviewItem.board_id, ReviewItem.kind, sa.func.count())
        .where(in_topic, ReviewItem.status == ReviewStatus.PENDING)
        .group_by(ReviewItem.board_id, ReviewItem.kind)
    ):
        moving[(old_board, kind)] = moving.get((old_board, kind), 0) - waiting
        moving[(target.id, kind)] = moving.get((target.id, kind), 0) + waiting
    # The bulk UPDATE below bypasses the flush hook. db.session() is the scope's own Session.
    queue_counts.adjust(db.session(), moving)
    db.session.execute(
        sa.update(ReviewItem)
        .where(in_topic)
        .values(board_id=target.id)
        .execution_options(synchronize_session=False)
    )


def with_reason(text: str, reason: str) -> str:
    """What a member is told of a moderator's decision, with the reason given, if any."""
    return f"{text}\n\nThe moderator's reason:\n{reason}" if reason else text
