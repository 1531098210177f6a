"""What a moderator can do with a review item: each action an object that knows whether it
applies to an item as it stands and how to apply itself (as Discourse's reviewables have
`perform_<action>`).

`moderation.decide` looks the action up by name, checks the item's version, asks
`applies_to` again under the row lock and calls `perform`, inside one transaction; it then
closes the item as `closes(item)` says and writes the history and the audit entry. The
queue page offers `available_actions(item)`: the same test, so a button is never shown for
an action the service would refuse.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from flask import url_for

from .. import permissions
from ..extensions import db
from ..models import (
    Board,
    NoticeKind,
    Post,
    PostStatus,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    User,
)
from . import PermissionDenied, ServiceError, notices, post_state, reply_notices, review_items
from .post_state import Draft
from .review_items import with_reason
from .sanctions import ban, suspend

#: A member with this many rejected posts gets an "account to review" item.
REJECTIONS_FOR_ACCOUNT_REVIEW = 3

_LIVE = frozenset({PostStatus.PUBLISHED, PostStatus.PENDING, PostStatus.HIDDEN})


@dataclass(frozen=True)
class Step:
    """One decision being applied: who acts on which item, with what they gave."""

    moderator: User
    item: ReviewItem
    reason: str  # the words the member is shown, perhaps empty
    draft: Draft | None = None  # the moderator's own version of the text
    board_id: int | None = None  # where a topic moves to
    days: int | None = None  # how long a suspension lasts


class ReviewAction(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    #: The item's status afterwards, or None when the item stays in the queue.
    closes_as: ClassVar[ReviewStatus | None] = None
    needs_reason: ClassVar[bool] = False
    #: How the item's history names it, when the label is too long for ReviewEvent.action.
    history_label: ClassVar[str | None] = None

    @property
    def in_history(self) -> str:
        return self.history_label or self.label

    @abstractmethod
    def applies_to(self, item: ReviewItem) -> bool:
        """Whether the action makes sense for this pending item as it stands."""

    def closes(self, item: ReviewItem) -> ReviewStatus | None:
        return self.closes_as

    def draft_for(self, item: ReviewItem, body: str | None) -> Draft | None:
        """The checked text the action publishes in place of the author's (before the
        transaction: a refusal names the field)."""
        return None

    @abstractmethod
    def perform(self, step: Step) -> str:
        """Apply the action within the decision's transaction; what the moderator is told."""


def _post_of(item: ReviewItem) -> Post | None:
    return item.post if item.kind != ReviewKind.ACCOUNT else None


def _acted_on(item: ReviewItem) -> Post:
    """The post of an item a post action applies to (`applies_to` found it there)."""
    post = _post_of(item)
    assert post is not None, "a post action is only taken after applies_to found the post"
    return post


def _post_in(item: ReviewItem, statuses: frozenset[PostStatus] | set[PostStatus]) -> bool:
    post = _post_of(item)
    return post is not None and post.status in statuses


def _where(post: Post) -> str:
    return f"in “{post.topic.title}”"


class Approve(ReviewAction):
    name, label, closes_as = "approve", "Approve", ReviewStatus.APPROVED

    def applies_to(self, item: ReviewItem) -> bool:
        # A post hidden by reports comes back with "dismiss", which says what happens.
        if not _post_in(item, {PostStatus.PENDING, PostStatus.HIDDEN}):
            return False
        return not (_acted_on(item).status == PostStatus.HIDDEN and item.hidden_by_reports)

    def perform(self, step: Step) -> str:
        post = _acted_on(step.item)
        link = url_for("boards.permalink", post_id=post.id)
        where = _where(post)
        was_waiting = post.status == PostStatus.PENDING
        if step.draft is not None:
            post_state.replace_text(post, step.draft, post_state.is_first_post(post))
        post_state.set_post_status(post, post.status, PostStatus.PUBLISHED)
        if was_waiting and post.author is not None:
            post.author.approved_post_count += 1
            notices.notify(
                post.author,
                NoticeKind.APPROVED,
                "Your post is now visible",
                with_reason(
                    f"A moderator approved your post {where}: everyone can see it now.",
                    step.reason,
                ),
                link,
            )
        if was_waiting:
            reply_notices.post_became_visible(post)
        return "Approved: the post is visible to everyone."


class ApproveEdited(Approve):
    name, label = "approve_edited", "Approve with my edits"

    def applies_to(self, item: ReviewItem) -> bool:
        return _post_in(item, {PostStatus.PENDING, PostStatus.HIDDEN})

    def draft_for(self, item: ReviewItem, body: str | None) -> Draft | None:
        return post_state.prepare(body or "", item.post.content_warning if item.post else None)


class Reject(ReviewAction):
    name, label, closes_as = "reject", "Reject", ReviewStatus.REJECTED
    needs_reason = True

    def applies_to(self, item: ReviewItem) -> bool:
        return _post_in(item, {PostStatus.PENDING})

    def perform(self, step: Step) -> str:
        post = _acted_on(step.item)
        author = post.author
        if post_state.has_earlier_version(post):
            summary, text, mail_text, link = self._turn_down_edit(post)
        else:
            summary, text, mail_text, link = self._return_to_author(post)
        if author is not None:
            author.rejected_post_count += 1
            notices.notify(
                author,
                NoticeKind.REJECTED,
                "Your post was not published",
                with_reason(text, step.reason),
                link,
                mail_message=with_reason(mail_text, step.reason),
            )
            if author.rejected_post_count >= REJECTIONS_FOR_ACCOUNT_REVIEW:
                review_items.raise_account_review(
                    author, f"{author.rejected_post_count} posts rejected"
                )
        return summary

    @staticmethod
    def _turn_down_edit(post: Post) -> tuple[str, str, str, str]:
        """A published post edited into the queue: the edit is turned down, and the post
        goes back to what everyone saw before, replies and all."""
        where = _where(post)
        turned_down = post_state.restore_earlier_version(post)
        post_state.set_post_status(post, PostStatus.PENDING, PostStatus.PUBLISHED)
        text = (
            f"A moderator did not accept your edit of your post {where}, so it is "
            "back as it was before. Only you can see this message. The text of your "
            f"edit, for you to change and try again:\n\n{turned_down}"
        )
        # Turned-down words stay on the site, behind the login: never in a mailbox.
        mail_text = (
            f"A moderator did not accept your edit of your post {where}, so it "
            "is back as it was before. The text of your edit is on your notices "
            "page, for you to change and try again."
        )
        link = url_for("boards.permalink", post_id=post.id)
        return "Rejected the edit: the post is back as it was before.", text, mail_text, link

    @staticmethod
    def _return_to_author(post: Post) -> tuple[str, str, str, str]:
        where = _where(post)
        post_state.set_post_status(post, PostStatus.PENDING, PostStatus.REJECTED)
        text = (
            f"A moderator did not publish your post {where}. Only you "
            "can see this message. Your text is kept for you at the "
            "link below, so you can change it and post again."
        )
        link = url_for("moderation.returned_post", post_id=post.id)
        return "Rejected: the author was told why and has their text back.", text, text, link


class _TakeDown(ReviewAction):
    """Taking a post out of view; the author is told, with the reason."""

    closes_as = ReviewStatus.REJECTED
    needs_reason = True
    applies_from: ClassVar[frozenset[PostStatus]]
    new_status: ClassVar[PostStatus]
    notice: ClassVar[NoticeKind]  # what the author's notice is about
    verb: ClassVar[str]  # what the author is told the moderator did
    summary: ClassVar[str]  # what the moderator is told

    def applies_to(self, item: ReviewItem) -> bool:
        return _post_in(item, self.applies_from)

    def perform(self, step: Step) -> str:
        post = _acted_on(step.item)
        where = _where(post)
        post_state.set_post_status(post, post.status, self.new_status)
        if post.author is not None:
            notices.notify(
                post.author,
                self.notice,
                f"A moderator {self.verb} your post",
                with_reason(f"A moderator {self.verb} your post {where}.", step.reason),
            )
        return self.summary


class Hide(_TakeDown):
    name, label = "hide", "Hide"
    applies_from = frozenset({PostStatus.PUBLISHED, PostStatus.PENDING})
    new_status, notice, verb = PostStatus.HIDDEN, NoticeKind.HIDDEN, "hid"
    summary = "Hidden: only moderators can see the post now."


class Delete(_TakeDown):
    name, label = "delete", "Delete"
    applies_from = _LIVE
    new_status, notice, verb = PostStatus.REMOVED, NoticeKind.REMOVED, "removed"
    summary = "Deleted: a placeholder says a moderator removed it."


class Dismiss(ReviewAction):
    name, label = "dismiss", "Dismiss the reports and keep the post"
    closes_as = ReviewStatus.DISMISSED
    history_label = "Dismiss the reports"

    def applies_to(self, item: ReviewItem) -> bool:
        if item.kind == ReviewKind.ACCOUNT:
            return True
        post = item.post
        assert post is not None, "an item that is not an account's is about a post"
        if post.status == PostStatus.HIDDEN:
            return bool(item.hidden_by_reports)  # a moderator's hiding is not the reports'
        return post.status in (PostStatus.PUBLISHED, PostStatus.DELETED)

    def perform(self, step: Step) -> str:
        post = _post_of(step.item)
        if post is not None and post.status == PostStatus.HIDDEN and step.item.hidden_by_reports:
            post_state.set_post_status(post, PostStatus.HIDDEN, PostStatus.PUBLISHED)
            return "Reports dismissed; the post is visible again."
        return "Reports dismissed; the post stays as it is."


class _LockTopic(ReviewAction):
    locks: ClassVar[bool]

    def applies_to(self, item: ReviewItem) -> bool:
        post = _post_of(item)
        return post is not None and post.topic.is_locked != self.locks

    def perform(self, step: Step) -> str:
        _acted_on(step.item).topic.is_locked = self.locks
        return "Topic locked." if self.locks else "Topic unlocked."


class Lock(_LockTopic):
    name, label, locks = "lock", "Lock the topic", True


class Unlock(_LockTopic):
    name, label, locks = "unlock", "Unlock the topic", False


class Move(ReviewAction):
    name, label = "move", "Move the topic"

    def applies_to(self, item: ReviewItem) -> bool:
        return _post_of(item) is not None

    def perform(self, step: Step) -> str:
        topic = _acted_on(step.item).topic
        target = db.session.get(Board, step.board_id) if step.board_id else None
        if target is None:
            raise ServiceError("Choose the board to move the topic to.", field="board")
        if target.id == topic.board_id:
            raise ServiceError("The topic is already in that board.", field="board")
        if not permissions.moderates(step.moderator, target.id):
            raise PermissionDenied("You can only move topics to boards you moderate.")
        post_state.move_topic(topic, target)
        review_items.move_with_topic(topic, target)
        return f"Topic moved to {target.name}."


class _ActOnMember(ReviewAction):
    """Suspending or banning the post's author, or the account under review."""

    needs_reason = True

    def applies_to(self, item: ReviewItem) -> bool:
        member = subject_member(item)
        return member is not None and not member.is_banned

    def closes(self, item: ReviewItem) -> ReviewStatus | None:
        # An account review is done; a post's item stays for what to do with the post.
        return ReviewStatus.REJECTED if item.kind == ReviewKind.ACCOUNT else None


class Suspend(_ActOnMember):
    name, label = "suspend", "Suspend the author"

    def perform(self, step: Step) -> str:
        return suspend(step.moderator, subject_member(step.item), step.reason, step.days)


class Ban(_ActOnMember):
    name, label = "ban", "Ban the author"

    def perform(self, step: Step) -> str:
        return ban(step.moderator, subject_member(step.item), step.reason)


def subject_member(item: ReviewItem) -> User | None:
    """The member an item is about: the account under review, or the post's author."""
    if item.kind == ReviewKind.ACCOUNT:
        return item.account
    return item.post.author if item.post is not None else None


#: Every action, in the order the item page offers them.
ACTIONS: dict[str, ReviewAction] = {
    action.name: action
    for action in (
        Approve(),
        ApproveEdited(),
        Reject(),
        Hide(),
        Delete(),
        Dismiss(),
        Lock(),
        Unlock(),
        Move(),
        Suspend(),
        Ban(),
    )
}
BULK_ACTIONS = ("approve", "reject")


def available_actions(item: ReviewItem) -> list[str]:
    """The actions that make sense for this item as it stands."""
    if item.status != ReviewStatus.PENDING:
        return []
    return [name for name, action in ACTIONS.items() if action.applies_to(item)]


def find(name: str) -> ReviewAction:
    action = ACTIONS.get(name)
    if action is None:
        raise ServiceError("Choose an action.", field="action")
    return action
