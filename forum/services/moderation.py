"""Moderation: what reaches the review queue, and what moderators do with it.

The post's life (docs/architecture.md): a new post is screened (forum.services.screening);
clean posts from trusted members in open boards go out at once, the rest wait
as `pending` with a review item. Members' reports add to the post's one item
(raising its priority, reopening it if it was decided). Moderators decide
with decide(), which names the item's version: of two moderators acting on
one item, the second is refused with StaleItem and nothing is applied twice.

Every decision writes a ReviewEvent (the item's history), an audit entry and,
where the author should know, a notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from .. import permissions, safety
from ..content import clean_body, clean_single_line
from ..extensions import db
from ..models import (
    Post,
    PostStatus,
    ReasonTemplate,
    ReviewCategory,
    ReviewItem,
    ReviewKind,
    ReviewReason,
    ReviewStatus,
    User,
    utcnow,
)
from . import (
    PermissionDenied,
    ServiceError,
    StaleItem,
    audit,
    post_state,
    review_actions,
    review_items,
    rows_changed,
    transaction,
)

#: A claim older than this no longer keeps others off ("being handled by…").
CLAIM_MINUTES = 30
REASON_MAX = 1000
REPORT_NOTE_MAX = 500


# --- reports -----------------------------------------------------------------------


def report(reporter: User, post: Post, category: str, note: str = "") -> ReviewItem:
    """A member reports a post. One item per post: reports add to it, never duplicate it."""
    if not permissions.can_report(reporter, post):
        raise PermissionDenied("You can't report this post.")
    if category not in safety.REPORT_REASONS:
        raise ServiceError("Choose what is wrong with the post.", field="reason")
    reason = ReviewCategory(category)
    note = clean_single_line(note or "")
    if len(note) > REPORT_NOTE_MAX:
        raise ServiceError(f"Keep the note to {REPORT_NOTE_MAX} characters or fewer.", field="note")
    if reason == ReviewCategory.OTHER and not note:
        raise ServiceError("Tell the moderators what is wrong, in a few words.", field="note")
    with transaction():
        # The item's row is locked from here on, so two reports cannot race.
        item = review_items.item_for_post(post, post.topic.board_id, ReviewKind.REPORTED_POST)
        if item.status == ReviewStatus.PENDING and db.session.scalar(
            sa.select(ReviewReason.id).where(
                ReviewReason.item_id == item.id,
                ReviewReason.reporter_id == reporter.id,
                ReviewReason.created_at >= item.opened_at,
            )
        ):
            raise ServiceError(
                "You have already reported this post. Thank you: a moderator will look at it."
            )
        if item.status != ReviewStatus.PENDING:
            review_items.reopen(item, ReviewKind.REPORTED_POST)
        db.session.add(
            ReviewReason(
                item_id=item.id,
                category=reason,
                detail=note,
                reporter_id=reporter.id,
                reporter_trusted=permissions.is_trusted(reporter),
            )
        )
        item.report_count += 1
        review_items.raise_priority(item, reason)
        item.version += 1
        review_items.record_event(item, None, "reported", safety.label_of(reason))
        db.session.flush()
        _hide_if_reported_enough(item, post)
    return item


def _hide_if_reported_enough(item: ReviewItem, post: Post) -> None:
    if post.status != PostStatus.PUBLISHED:
        return
    trusted_reporters = db.session.scalar(
        sa.select(sa.func.count()).where(
            ReviewReason.item_id == item.id,
            ReviewReason.reporter_id.is_not(None),
            ReviewReason.reporter_trusted.is_(True),
            ReviewReason.created_at >= item.opened_at,
        )
    )
    threshold = current_app.config["REPORTS_TO_HIDE"]
    if trusted_reporters >= threshold and post_state.lock_if_status(post, PostStatus.PUBLISHED):
        post_state.change_status(post, PostStatus.HIDDEN)
        item.hidden_by_reports = True
        review_items.record_event(
            item,
            None,
            "hidden by reports",
            f"{trusted_reporters} trusted members reported it; hidden until a moderator decides.",
        )


# --- claiming ------------------------------------------------------------------------


def claim(moderator: User, item: ReviewItem) -> bool:
    """Mark the item as being handled; False if another moderator holds a fresh claim.

    A claim tells others "I'm on it"; it does not change the item's version, so
    it never makes anyone's pending action stale.
    """
    _require_reviewer(moderator, item)
    stale_before = utcnow() - timedelta(minutes=CLAIM_MINUTES)
    with transaction():
        taken = (
            rows_changed(
                sa.update(ReviewItem)
                .where(
                    ReviewItem.id == item.id,
                    ReviewItem.status == ReviewStatus.PENDING,
                    sa.or_(
                        ReviewItem.claimed_by_id.is_(None),
                        ReviewItem.claimed_by_id == moderator.id,
                        ReviewItem.claimed_at < stale_before,
                    ),
                )
                .values(claimed_by_id=moderator.id, claimed_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            == 1
        )
        if taken:
            review_items.record_event(item, moderator, "claimed")
            audit.record(moderator, "review.claim", "review_item", item.id)
    db.session.refresh(item)
    return taken


def release(moderator: User, item: ReviewItem) -> None:
    _require_reviewer(moderator, item)
    with transaction():
        released = rows_changed(
            sa.update(ReviewItem)
            .where(ReviewItem.id == item.id, ReviewItem.claimed_by_id == moderator.id)
            .values(claimed_by_id=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        if released:
            review_items.record_event(item, moderator, "released")
            audit.record(moderator, "review.release", "review_item", item.id)
    db.session.refresh(item)


def is_claimed_by_other(item: ReviewItem, moderator: User) -> bool:
    return (
        item.claimed_by_id is not None
        and item.claimed_by_id != moderator.id
        and item.claimed_at is not None
        and item.claimed_at > utcnow() - timedelta(minutes=CLAIM_MINUTES)
    )


# --- decisions -----------------------------------------------------------------------


def reason_text(template_id: int | None, free_text: str | None) -> str:
    """The reason given to the member: a template's words, then the moderator's own."""
    parts = []
    if template_id:
        template = db.session.get(ReasonTemplate, template_id)
        if template is None:
            raise ServiceError(
                "That reason template no longer exists; choose another.", field="template"
            )
        parts.append(template.text)
    free_text = clean_body(free_text or "").strip()
    if free_text:
        parts.append(free_text)
    reason = "\n\n".join(parts)
    if len(reason) > REASON_MAX:
        raise ServiceError(f"Keep the reason to {REASON_MAX} characters or fewer.", field="reason")
    return reason


@dataclass(frozen=True)
class Decision:
    item: ReviewItem
    message: str  # what the moderator is told happened


def decide(
    moderator: User,
    item: ReviewItem,
    version: int,
    action_name: str,
    *,
    template_id: int | None = None,
    reason: str = "",
    body: str | None = None,
    board_id: int | None = None,
    days: int | None = None,
) -> Decision:
    """Apply one moderator action to an item, as of the version the moderator saw.

    Refused with StaleItem (and nothing changed) if the item changed since, so
    two moderators can never both act on one item.
    """
    _require_reviewer(moderator, item)
    action = review_actions.find(action_name)
    reason_words = reason_text(template_id, reason)
    if action.needs_reason and not reason_words:
        raise ServiceError("Give a reason: the member will see it.", field="reason")
    step = review_actions.Step(
        moderator, item, reason_words, action.draft_for(item, body), board_id, days
    )
    with transaction():
        _claim_version(item, version)
        if action.name not in review_actions.available_actions(item):
            raise ServiceError(
                f"“{action.label}” does not apply to this item as it stands.", field="action"
            )
        before = _item_state(item)
        message = action.perform(step)
        if (closes_as := action.closes(item)) is not None:
            _close(item, moderator, closes_as)
        review_items.record_event(item, moderator, action.in_history, reason_words)
        audit.record(
            moderator,
            f"review.{action.name}",
            "review_item",
            item.id,
            before=before,
            after=_item_state(item),
            reason=reason_words,
        )
    return Decision(item, message)


def _claim_version(item: ReviewItem, version: int) -> None:
    """Move the item to its next version if it is still at `version`, and reload it; the
    UPDATE's WHERE is judged under the row lock, so of two moderators only one wins."""
    claimed = rows_changed(
        sa.update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.version == version)
        .values(version=ReviewItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed != 1:
        raise StaleItem(
            "Another moderator changed this item while you were looking at "
            "it, so your action was not applied. Here it is as it stands now."
        )
    db.session.refresh(item)


def _item_state(item: ReviewItem) -> dict:
    state = audit.snapshot(item, "status", "kind", "priority", "version")
    if item.post is not None:
        state["post"] = {
            "id": item.post.id,
            "status": item.post.status,
            "topic_locked": item.post.topic.is_locked,
            "board_id": item.post.topic.board_id,
        }
    member = review_actions.subject_member(item)
    if member is not None:
        state["member"] = audit.snapshot(member, "id", "suspended_until", "banned_at")
    return state


def _close(item: ReviewItem, moderator: User, status: ReviewStatus) -> None:
    now = utcnow()
    item.status = status
    item.decided_at = now
    item.decided_by_id = moderator.id
    item.decision_seconds = max(0, int((now - item.opened_at).total_seconds()))
    item.claimed_by_id = item.claimed_at = None
    post = item.post
    # Words an author deleted were kept only for this decision.
    if post is not None and post.status == PostStatus.DELETED and post.body_source:
        post_state.erase_text(post)


def _require_reviewer(moderator: User, item: ReviewItem) -> None:
    if not permissions.can_review(moderator, item):
        raise PermissionDenied("You don't moderate this board.")


# --- many at once ----------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)  # someone else acted first
    skipped: list[int] = field(default_factory=list)  # the action did not apply


def decide_many(
    moderator: User,
    selection: list[tuple[int, int]],
    action_name: str,
    *,
    template_id: int | None = None,
    reason: str = "",
) -> BulkResult:
    """Approve or reject a selection (a spam wave): each item on its own, as of its version."""
    if action_name not in review_actions.BULK_ACTIONS:
        raise ServiceError("Choose approve or reject.", field="action")
    if review_actions.ACTIONS[action_name].needs_reason and not reason_text(template_id, reason):
        raise ServiceError("Give a reason: the members will see it.", field="reason")
    result = BulkResult()
    for item_id, version in selection:
        item = db.session.get(ReviewItem, item_id)
        if item is None or not permissions.can_review(moderator, item):
            result.skipped.append(item_id)
            continue
        try:
            decide(moderator, item, version, action_name, template_id=template_id, reason=reason)
        except StaleItem:
            result.changed.append(item_id)
        except ServiceError:
            result.skipped.append(item_id)
        else:
            result.done.append(item_id)
    return result
