"""Moderation: what reaches the review queue, and what moderators do with it.

The post's life (../shared/DESIGN.md): a new post is screened (screen());
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
from flask import current_app, url_for
from sqlalchemy.exc import IntegrityError

from .. import permissions, safety
from ..content import clean_body, clean_single_line
from ..extensions import db
from ..models import (
    Board,
    BoardMode,
    Post,
    PostStatus,
    ReasonTemplate,
    ReviewEvent,
    ReviewItem,
    ReviewKind,
    ReviewReason,
    ReviewStatus,
    Topic,
    User,
    WatchedPhrase,
    new_session_token,
    utcnow,
)
from . import PermissionDenied, ServiceError, audit, notices, posting, queue_counts, transaction

#: A member with this many rejected posts gets an "account to review" item.
REJECTIONS_FOR_ACCOUNT_REVIEW = 3
#: A claim older than this no longer keeps others off ("being handled by…").
CLAIM_MINUTES = 30
SUSPENSION_DAYS = (1, 3, 7, 30)
REASON_MAX = 1000
REPORT_NOTE_MAX = 500


class StaleItem(ServiceError):
    """The item changed after the moderator loaded it; nothing was applied."""


# --- screening new posts ---------------------------------------------------------

@dataclass(frozen=True)
class Screening:
    """What the checks made of a post about to be written."""

    hold: str | None = None  # the category it waits under, or None to publish now
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (category, detail)
    crisis: bool = False  # the author should see the helplines at once
    member_message: str | None = None  # why it waits, in the author's words


def load_phrases() -> list[safety.Phrase]:
    rows = db.session.execute(sa.select(WatchedPhrase.phrase, WatchedPhrase.phrase_key,
                                        WatchedPhrase.action))
    return [safety.Phrase(phrase, key, action) for phrase, key, action in rows]


def screen(author: User, board: Board, draft, is_edit: bool = False) -> Screening:
    """Decide whether a post goes out now, waits, or is refused (ServiceError).

    Staff posts are not screened: moderators quote hard words when they explain
    the guidelines, and their posts need no second pair of eyes.
    """
    if permissions.is_staff(author):
        return Screening()
    text = "\n".join(part for part in (draft.title, draft.content_warning, draft.body_source)
                     if part)
    found = safety.assess(text, load_phrases())
    if found.blocked and not found.crisis:
        words = ", ".join(f"“{word}”" for word in found.blocked)
        raise ServiceError(
            f"Your post includes {words}, which this forum does not allow. "
            "Please change it and post again: your text is still here.", field="body")
    reasons = list(found.reasons)
    hold, message = None, None
    if found.personal:
        hold = "personal_details"
        message = ("To protect your privacy, a moderator will look at your post before others "
                   f"see it: it seems to include {' and '.join(found.personal)}.")
    elif found.held or found.blocked:
        hold = "watched_word"
        message = "A moderator will look at your post before others see it."
    if board.mode == BoardMode.PREMODERATED:
        hold = hold or "premoderated"
        reasons.append(("premoderated", f"Every post in {board.name} is reviewed"))
    # Until they are trusted, a member's edits wait too: otherwise an approved post
    # could be rewritten into anything.
    if not permissions.is_trusted(author):
        hold = hold or "new_member"
        count = current_app.config["NEW_MEMBER_REVIEW_POSTS"]
        reasons.append(("new_member", "An edit by a member who is not yet trusted" if is_edit
                        else f"One of a new member's first {count} posts"))
    if hold and message is None:
        message = ("Welcome! A moderator looks at new members' first posts before others "
                   "see them." if hold == "new_member"
                   else "Every post in this board is seen by a moderator first.")
    # A post that needs a look is held when a hold reason applies; otherwise, if it
    # only has flags or crisis language, it goes out and moderators still see it first.
    return Screening(hold=hold, reasons=reasons, crisis=bool(found.crisis),
                     member_message=message)


def raise_for_new_post(post: Post, board_id: int, screening: Screening) -> None:
    """Within the posting transaction: open an item if the screening found anything."""
    if not screening.reasons:
        return
    db.session.flush()
    kind = ReviewKind.HELD_POST if screening.hold else ReviewKind.FLAGGED_POST
    item = _new_item(kind, post_id=post.id, board_id=board_id,
                     category=screening.reasons[0][0])
    _add_system_reasons(item, screening.reasons)
    _event(item, None, "raised", "; ".join(detail for _, detail in screening.reasons))


def raise_for_edited_post(post: Post, board_id: int, screening: Screening) -> None:
    if not screening.reasons:
        return
    kind = ReviewKind.HELD_POST if screening.hold else ReviewKind.FLAGGED_POST
    item = _item_for_post(post, board_id, kind)
    if item.status != ReviewStatus.PENDING:
        _reopen(item, kind)
    _add_system_reasons(item, screening.reasons)
    item.version += 1
    _event(item, None, "raised after an edit",
           "; ".join(detail for _, detail in screening.reasons))


def _pending_item_locked(post: Post) -> ReviewItem | None:
    return db.session.scalar(sa.select(ReviewItem).where(
        ReviewItem.post_id == post.id, ReviewItem.status == ReviewStatus.PENDING)
        .with_for_update())


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
    if item.category == "at_risk" or item.report_count:
        _moved_on(item, author, "withdrawn by its author",
                  "The words are kept until this is decided.")
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
    _event(item, actor, action, note)
    db.session.flush()


# --- reports -----------------------------------------------------------------------

def report(reporter: User, post: Post, category: str, note: str = "") -> ReviewItem:
    """A member reports a post. One item per post: reports add to it, never duplicate it."""
    if not permissions.can_report(reporter, post):
        raise PermissionDenied("You can't report this post.")
    if category not in safety.REPORT_REASONS:
        raise ServiceError("Choose what is wrong with the post.", field="reason")
    note = clean_single_line(note or "")
    if len(note) > REPORT_NOTE_MAX:
        raise ServiceError(f"Keep the note to {REPORT_NOTE_MAX} characters or fewer.",
                           field="note")
    if category == "other" and not note:
        raise ServiceError("Tell the moderators what is wrong, in a few words.", field="note")
    with transaction():
        # The item's row is locked from here on, so two reports cannot race.
        item = _item_for_post(post, post.topic.board_id, ReviewKind.REPORTED_POST)
        if item.status == ReviewStatus.PENDING and db.session.scalar(
                sa.select(ReviewReason.id).where(
                    ReviewReason.item_id == item.id, ReviewReason.reporter_id == reporter.id,
                    ReviewReason.created_at >= item.opened_at)):
            raise ServiceError("You have already reported this post. Thank you: a moderator "
                               "will look at it.")
        if item.status != ReviewStatus.PENDING:
            _reopen(item, ReviewKind.REPORTED_POST)
        db.session.add(ReviewReason(
            item_id=item.id, category=category, detail=note, reporter_id=reporter.id,
            reporter_trusted=permissions.is_trusted(reporter)))
        item.report_count += 1
        _raise_priority(item, category)
        item.version += 1
        _event(item, None, "reported", safety.label_of(category))
        db.session.flush()
        _hide_if_reported_enough(item, post)
    return item


def _hide_if_reported_enough(item: ReviewItem, post: Post) -> None:
    if post.status != PostStatus.PUBLISHED:
        return
    trusted_reporters = db.session.scalar(sa.select(sa.func.count()).where(
        ReviewReason.item_id == item.id, ReviewReason.reporter_id.is_not(None),
        ReviewReason.reporter_trusted.is_(True), ReviewReason.created_at >= item.opened_at))
    threshold = current_app.config["REPORTS_TO_HIDE"]
    if trusted_reporters >= threshold and posting.lock_if_status(post, PostStatus.PUBLISHED):
        posting.change_status(post, PostStatus.HIDDEN)
        item.hidden_by_reports = True
        _event(item, None, "hidden by reports",
               f"{trusted_reporters} trusted members reported it; hidden until a moderator "
               "decides.")


# --- the item's bookkeeping ----------------------------------------------------------

def _new_item(kind: str, *, category: str, post_id: int | None = None,
              account_id: int | None = None, board_id: int | None = None) -> ReviewItem:
    now = utcnow()
    item = ReviewItem(kind=kind, category=category, priority=safety.priority_of(category),
                      is_sensitive=category in safety.SENSITIVE_CATEGORIES, post_id=post_id,
                      account_id=account_id, board_id=board_id, created_at=now, opened_at=now,
                      status=ReviewStatus.PENDING, version=1, report_count=0)
    db.session.add(item)
    db.session.flush()
    return item


def _item_for_post(post: Post, board_id: int, kind: str) -> ReviewItem:
    """The post's one item, locked for this transaction; made if it has none yet."""
    query = sa.select(ReviewItem).where(ReviewItem.post_id == post.id).with_for_update()
    item = db.session.scalar(query)
    if item is not None:
        return item
    try:
        with db.session.begin_nested():
            item = _new_item(kind, post_id=post.id, board_id=board_id, category="other")
            # No reason yet: the first reason added sets the category (as after _reopen),
            # so a first report for spam is not filed as "something else".
            item.priority = 0
            return item
    except IntegrityError:  # another request made it a moment ago
        return db.session.scalar(query)


def _reopen(item: ReviewItem, kind: str) -> None:
    """A decided item comes back to the queue, as new, keeping its history."""
    item.status = ReviewStatus.PENDING
    item.kind = kind
    item.category = "other"
    item.priority = 0
    item.report_count = 0
    item.hidden_by_reports = False
    item.opened_at = utcnow()
    item.decided_at = item.decided_by_id = item.decision_seconds = None
    item.claimed_by_id = item.claimed_at = None
    _event(item, None, "reopened")


def _raise_priority(item: ReviewItem, category: str) -> None:
    if item.priority == 0 or safety.priority_of(category) > safety.priority_of(item.category):
        item.category = category
    item.is_sensitive = item.is_sensitive or category in safety.SENSITIVE_CATEGORIES
    boost = min(safety.REPORT_BOOST * max(item.report_count - 1, 0), safety.REPORT_BOOST_MAX)
    item.priority = safety.priority_of(item.category) + boost


def _add_system_reasons(item: ReviewItem, reasons: list[tuple[str, str]]) -> None:
    for category, detail in reasons:
        db.session.add(ReviewReason(item_id=item.id, category=category, detail=detail[:500]))
        _raise_priority(item, category)


def _event(item: ReviewItem, actor: User | None, action: str, note: str = "") -> None:
    db.session.add(ReviewEvent(item_id=item.id, actor_id=actor.id if actor else None,
                               action=action[:32], note=note[:1000]))


def raise_account_review(member: User, detail: str) -> None:
    """Within a transaction: ask moderators to look at a member's account."""
    item = db.session.scalar(sa.select(ReviewItem).where(ReviewItem.account_id == member.id)
                             .with_for_update())
    if item is None:
        item = _new_item(ReviewKind.ACCOUNT, account_id=member.id, category="account")
    elif item.status != ReviewStatus.PENDING:
        _reopen(item, ReviewKind.ACCOUNT)
        _raise_priority(item, "account")
    else:
        item.version += 1
    db.session.add(ReviewReason(item_id=item.id, category="account", detail=detail[:500]))
    _event(item, None, "raised", detail)


# --- claiming ------------------------------------------------------------------------

def claim(moderator: User, item: ReviewItem) -> bool:
    """Mark the item as being handled; False if another moderator holds a fresh claim.

    A claim tells others "I'm on it"; it does not change the item's version, so
    it never makes anyone's pending action stale.
    """
    _require_reviewer(moderator, item)
    stale_before = utcnow() - timedelta(minutes=CLAIM_MINUTES)
    with transaction():
        taken = db.session.execute(
            sa.update(ReviewItem).where(
                ReviewItem.id == item.id, ReviewItem.status == ReviewStatus.PENDING,
                sa.or_(ReviewItem.claimed_by_id.is_(None),
                       ReviewItem.claimed_by_id == moderator.id,
                       ReviewItem.claimed_at < stale_before))
            .values(claimed_by_id=moderator.id, claimed_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount == 1
        if taken:
            _event(item, moderator, "claimed")
            audit.record(moderator, "review.claim", "review_item", item.id)
    db.session.refresh(item)
    return taken


def release(moderator: User, item: ReviewItem) -> None:
    _require_reviewer(moderator, item)
    with transaction():
        released = db.session.execute(
            sa.update(ReviewItem).where(ReviewItem.id == item.id,
                                        ReviewItem.claimed_by_id == moderator.id)
            .values(claimed_by_id=None, claimed_at=None)
            .execution_options(synchronize_session=False)).rowcount
        if released:
            _event(item, moderator, "released")
            audit.record(moderator, "review.release", "review_item", item.id)
    db.session.refresh(item)


def is_claimed_by_other(item: ReviewItem, moderator: User) -> bool:
    return (item.claimed_by_id is not None and item.claimed_by_id != moderator.id
            and item.claimed_at is not None
            and item.claimed_at > utcnow() - timedelta(minutes=CLAIM_MINUTES))


# --- decisions -----------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    label: str
    #: The item's status afterwards, or None when the item stays in the queue.
    closes_as: str | None
    #: Post statuses the action applies to (empty: not about the post).
    post_from: frozenset[str] = frozenset()
    needs_reason: bool = False
    for_accounts: bool = False
    #: How the item's history names it, when the label is too long for ReviewEvent.action.
    history_label: str | None = None

    @property
    def in_history(self) -> str:
        return self.history_label or self.label


_WAITING = frozenset({PostStatus.PENDING})
_LIVE = frozenset({PostStatus.PUBLISHED, PostStatus.PENDING, PostStatus.HIDDEN})
_ANY_POST = frozenset({*_LIVE, PostStatus.DELETED, PostStatus.REMOVED, PostStatus.REJECTED})

ACTIONS: dict[str, Action] = {
    "approve": Action("Approve", ReviewStatus.APPROVED,
                      frozenset({PostStatus.PENDING, PostStatus.HIDDEN})),
    "approve_edited": Action("Approve with my edits", ReviewStatus.APPROVED,
                             frozenset({PostStatus.PENDING, PostStatus.HIDDEN})),
    "reject": Action("Reject", ReviewStatus.REJECTED, _WAITING, needs_reason=True),
    "hide": Action("Hide", ReviewStatus.REJECTED,
                   frozenset({PostStatus.PUBLISHED, PostStatus.PENDING}), needs_reason=True),
    "delete": Action("Delete", ReviewStatus.REJECTED, _LIVE, needs_reason=True),
    "dismiss": Action("Dismiss the reports and keep the post", ReviewStatus.DISMISSED,
                      frozenset({PostStatus.PUBLISHED, PostStatus.HIDDEN, PostStatus.DELETED}),
                      for_accounts=True, history_label="Dismiss the reports"),
    "lock": Action("Lock the topic", None, _ANY_POST),
    "unlock": Action("Unlock the topic", None, _ANY_POST),
    "move": Action("Move the topic", None, _ANY_POST),
    "suspend": Action("Suspend the author", None, _ANY_POST, needs_reason=True,
                      for_accounts=True),
    "ban": Action("Ban the author", None, _ANY_POST, needs_reason=True, for_accounts=True),
}
BULK_ACTIONS = ("approve", "reject")


def available_actions(item: ReviewItem) -> list[str]:
    """The actions that make sense for this item as it stands."""
    if item.status != ReviewStatus.PENDING:
        return []
    if item.kind == ReviewKind.ACCOUNT:
        names = [name for name, action in ACTIONS.items() if action.for_accounts]
        return [name for name in names if item.account and not item.account.is_banned
                or name == "dismiss"]
    post = item.post
    names = []
    for name, action in ACTIONS.items():
        if post.status not in action.post_from:
            continue
        if name == "dismiss" and post.status == PostStatus.HIDDEN and not item.hidden_by_reports:
            continue
        if name == "approve" and post.status == PostStatus.HIDDEN and item.hidden_by_reports:
            continue  # "dismiss" says what happens: the reports go, the post comes back
        if name == "lock" and post.topic.is_locked or name == "unlock" and not post.topic.is_locked:
            continue
        if name in ("suspend", "ban") and (post.author is None or post.author.is_banned):
            continue
        names.append(name)
    return names


def reason_text(template_id: int | None, free_text: str | None) -> str:
    """The reason given to the member: a template's words, then the moderator's own."""
    parts = []
    if template_id:
        template = db.session.get(ReasonTemplate, template_id)
        if template is None:
            raise ServiceError("That reason template no longer exists; choose another.",
                               field="template")
        parts.append(template.text)
    free_text = clean_body(free_text or "").strip()
    if free_text:
        parts.append(free_text)
    reason = "\n\n".join(parts)
    if len(reason) > REASON_MAX:
        raise ServiceError(f"Keep the reason to {REASON_MAX} characters or fewer.",
                           field="reason")
    return reason


@dataclass(frozen=True)
class Decision:
    item: ReviewItem
    message: str  # what the moderator is told happened


def decide(moderator: User, item: ReviewItem, version: int, action_name: str, *,
           template_id: int | None = None, reason: str = "", body: str | None = None,
           board_id: int | None = None, days: int | None = None) -> Decision:
    """Apply one moderator action to an item, as of the version the moderator saw.

    Refused with StaleItem (and nothing changed) if the item changed since, so
    two moderators can never both act on one item.
    """
    _require_reviewer(moderator, item)
    action = ACTIONS.get(action_name)
    if action is None:
        raise ServiceError("Choose an action.", field="action")
    reason_words = reason_text(template_id, reason)
    if action.needs_reason and not reason_words:
        raise ServiceError("Give a reason: the member will see it.", field="reason")
    draft = None
    if action_name == "approve_edited":
        draft = posting.prepare(body or "", item.post.content_warning if item.post else None)
    with transaction():
        moved_on = db.session.execute(
            sa.update(ReviewItem).where(ReviewItem.id == item.id, ReviewItem.version == version)
            .values(version=ReviewItem.version + 1)
            .execution_options(synchronize_session=False)).rowcount != 1
        if moved_on:
            raise StaleItem("Another moderator changed this item while you were looking at "
                            "it, so your action was not applied. Here it is as it stands now.")
        db.session.refresh(item)
        if action_name not in available_actions(item):
            raise ServiceError(f"“{action.label}” does not apply to this item as it stands.",
                               field="action")
        before = _item_state(item)
        message = _apply(moderator, item, action_name, reason_words, draft=draft,
                         board_id=board_id, days=days)
        closes_as = action.closes_as
        if item.kind == ReviewKind.ACCOUNT and action_name in ("suspend", "ban"):
            closes_as = ReviewStatus.REJECTED  # the account review is done
        if closes_as is not None:
            _close(item, moderator, closes_as)
        _event(item, moderator, action.in_history, reason_words)
        audit.record(moderator, f"review.{action_name}", "review_item", item.id,
                     before=before, after=_item_state(item), reason=reason_words)
    return Decision(item, message)


def _item_state(item: ReviewItem) -> dict:
    state = audit.snapshot(item, "status", "kind", "priority", "version")
    if item.post is not None:
        state["post"] = {"id": item.post.id, "status": item.post.status,
                         "topic_locked": item.post.topic.is_locked,
                         "board_id": item.post.topic.board_id}
    member = _subject_member(item)
    if member is not None:
        state["member"] = audit.snapshot(member, "id", "suspended_until", "banned_at")
    return state


def _subject_member(item: ReviewItem) -> User | None:
    return item.account if item.kind == ReviewKind.ACCOUNT else (
        item.post.author if item.post is not None else None)


def _close(item: ReviewItem, moderator: User, status: str) -> None:
    now = utcnow()
    item.status = status
    item.decided_at = now
    item.decided_by_id = moderator.id
    item.decision_seconds = max(0, int((now - item.opened_at).total_seconds()))
    item.claimed_by_id = item.claimed_at = None
    post = item.post
    # Words an author deleted were kept only for this decision.
    if post is not None and post.status == PostStatus.DELETED and post.body_source:
        posting.erase_text(post)


def _apply(moderator: User, item: ReviewItem, name: str, reason: str, *, draft,
           board_id: int | None, days: int | None) -> str:
    post = item.post
    if name in ("suspend", "ban"):
        return _act_on_member(moderator, _subject_member(item), name, reason, days)
    if name == "dismiss":
        if post is not None and post.status == PostStatus.HIDDEN and item.hidden_by_reports:
            _set_post_status(post, PostStatus.HIDDEN, PostStatus.PUBLISHED)
            return "Reports dismissed; the post is visible again."
        return "Reports dismissed; the post stays as it is."
    topic = post.topic
    if name in ("lock", "unlock"):
        topic.is_locked = name == "lock"
        return "Topic locked." if name == "lock" else "Topic unlocked."
    if name == "move":
        return _move_topic(moderator, topic, board_id)
    link = url_for("boards.permalink", post_id=post.id)
    where = f"in “{topic.title}”"
    was_waiting = post.status == PostStatus.PENDING
    if name in ("approve", "approve_edited"):
        if draft is not None:
            posting.replace_text(post, draft, posting.is_first_post(post))
        _set_post_status(post, post.status, PostStatus.PUBLISHED)
        if was_waiting and post.author is not None:
            post.author.approved_post_count += 1
            notices.notify(post.author, "approved", "Your post is now visible",
                           _with_reason(f"A moderator approved your post {where}: everyone "
                                        "can see it now.", reason), link)
        if was_waiting:
            posting.post_became_visible(post)
        return "Approved: the post is visible to everyone."
    if name == "reject":
        author = post.author
        if posting.has_earlier_version(post):
            # A published post edited into the queue: the edit is turned down, and the
            # post goes back to what everyone saw before, replies and all.
            turned_down = posting.restore_earlier_version(post)
            _set_post_status(post, PostStatus.PENDING, PostStatus.PUBLISHED)
            summary = "Rejected the edit: the post is back as it was before."
            text = (f"A moderator did not accept your edit of your post {where}, so it is "
                    "back as it was before. Only you can see this message. The text of your "
                    f"edit, for you to change and try again:\n\n{turned_down}")
            # Turned-down words stay on the site, behind the login: never in a mailbox.
            mail_text = (f"A moderator did not accept your edit of your post {where}, so it "
                         "is back as it was before. The text of your edit is on your notices "
                         "page, for you to change and try again.")
            link = url_for("boards.permalink", post_id=post.id)
        else:
            _set_post_status(post, PostStatus.PENDING, PostStatus.REJECTED)
            summary = "Rejected: the author was told why and has their text back."
            text = mail_text = (f"A moderator did not publish your post {where}. Only you "
                                "can see this message. Your text is kept for you at the "
                                "link below, so you can change it and post again.")
            link = url_for("moderation.returned_post", post_id=post.id)
        if author is not None:
            author.rejected_post_count += 1
            notices.notify(author, "rejected", "Your post was not published",
                           _with_reason(text, reason), link,
                           mail_message=_with_reason(mail_text, reason))
            if author.rejected_post_count >= REJECTIONS_FOR_ACCOUNT_REVIEW:
                raise_account_review(author, f"{author.rejected_post_count} posts rejected")
        return summary
    if name in _TAKE_DOWN:
        status, verb, summary = _TAKE_DOWN[name]
        _set_post_status(post, post.status, status)
        if post.author is not None:
            notices.notify(post.author, status, f"A moderator {verb} your post",
                           _with_reason(f"A moderator {verb} your post {where}.", reason))
        return summary
    raise ServiceError("Choose an action.", field="action")


#: Taking a post out of view: (its new status, what the author is told, the moderator's).
_TAKE_DOWN = {
    "hide": (PostStatus.HIDDEN, "hid", "Hidden: only moderators can see the post now."),
    "delete": (PostStatus.REMOVED, "removed",
               "Deleted: a placeholder says a moderator removed it."),
}


def _set_post_status(post: Post, expected: str, new_status: str) -> None:
    if not posting.lock_if_status(post, expected):
        raise StaleItem("The post changed while you were looking at it (its author may have "
                        "edited or deleted it), so your action was not applied.")
    posting.change_status(post, new_status)


def _with_reason(text: str, reason: str) -> str:
    return f"{text}\n\nThe moderator's reason:\n{reason}" if reason else text


def _move_topic(moderator: User, topic: Topic, board_id: int | None) -> str:
    target = db.session.get(Board, board_id) if board_id else None
    if target is None:
        raise ServiceError("Choose the board to move the topic to.", field="board")
    if target.id == topic.board_id:
        raise ServiceError("The topic is already in that board.", field="board")
    if not permissions.moderates(moderator, target.id):
        raise PermissionDenied("You can only move topics to boards you moderate.")
    posting.move_topic(topic, target)
    in_topic = ReviewItem.post_id.in_(sa.select(Post.id).where(Post.topic_id == topic.id))
    moving: dict = {}
    for old_board, kind, waiting in db.session.execute(
            sa.select(ReviewItem.board_id, ReviewItem.kind, sa.func.count())
            .where(in_topic, ReviewItem.status == ReviewStatus.PENDING)
            .group_by(ReviewItem.board_id, ReviewItem.kind)):
        moving[(old_board, kind)] = moving.get((old_board, kind), 0) - waiting
        moving[(target.id, kind)] = moving.get((target.id, kind), 0) + waiting
    queue_counts.adjust(db.session, moving)  # the bulk UPDATE below bypasses the flush hook
    db.session.execute(
        sa.update(ReviewItem).where(in_topic)
        .values(board_id=target.id).execution_options(synchronize_session=False))
    return f"Topic moved to {target.name}."


def _act_on_member(moderator: User, member: User | None, name: str, reason: str,
                   days: int | None) -> str:
    if member is None:
        raise ServiceError("This post's author has left.", field="action")
    if not permissions.can_suspend(moderator, member):
        raise PermissionDenied("Moderators cannot suspend or ban staff.")
    if name == "suspend":
        if days not in SUSPENSION_DAYS:
            raise ServiceError("Choose how long the suspension lasts.", field="days")
        member.suspended_until = utcnow() + timedelta(days=days)
        notices.notify(member, "suspended", "Your account is suspended",
                       _with_reason(f"A moderator suspended your account for {days} "
                                    f"day{'s' if days != 1 else ''}, until "
                                    f"{member.suspended_until:%d %B %Y, %H:%M} UTC. You can "
                                    "still read, but not post or report.", reason))
        return f"{member.username} is suspended for {days} day{'s' if days != 1 else ''}."
    member.banned_at = utcnow()
    member.session_token = new_session_token()  # signs them out everywhere
    notices.notify(member, "banned", "Your account has been closed",
                   _with_reason("A moderator closed your account: you can no longer log in.",
                                reason))
    return f"{member.username} is banned and signed out."


def _require_reviewer(moderator: User, item: ReviewItem) -> None:
    if not permissions.can_review(moderator, item):
        raise PermissionDenied("You don't moderate this board.")


# --- many at once ----------------------------------------------------------------------

@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)  # someone else acted first
    skipped: list[int] = field(default_factory=list)  # the action did not apply


def decide_many(moderator: User, selection: list[tuple[int, int]], action_name: str, *,
                template_id: int | None = None, reason: str = "") -> BulkResult:
    """Approve or reject a selection (a spam wave): each item on its own, as of its version."""
    if action_name not in BULK_ACTIONS:
        raise ServiceError("Choose approve or reject.", field="action")
    if ACTIONS[action_name].needs_reason and not reason_text(template_id, reason):
        raise ServiceError("Give a reason: the members will see it.", field="reason")
    result = BulkResult()
    for item_id, version in selection:
        item = db.session.get(ReviewItem, item_id)
        if item is None or not permissions.can_review(moderator, item):
            result.skipped.append(item_id)
            continue
        try:
            decide(moderator, item, version, action_name, template_id=template_id,
                   reason=reason)
        except StaleItem:
            result.changed.append(item_id)
        except ServiceError:
            result.skipped.append(item_id)
        else:
            result.done.append(item_id)
    return result
