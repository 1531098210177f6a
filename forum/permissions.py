"""Who may do what: every rule written once, as a small readable predicate.

Views, services and templates all ask these functions; none of them repeats a
rule. Each takes the acting user first (an anonymous visitor is None or
Flask-Login's AnonymousUserMixin) and the thing acted on second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeGuard

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from flask_login import AnonymousUserMixin

from .extensions import db
from .models import BoardMode, BoardModerator, Post, PostStatus, ReviewItem, User

if TYPE_CHECKING:
    # Only for the checker (the annotations are never evaluated), so no run-time import.
    from typing_extensions import TypeIs

#: Whoever is asking: a member, or an anonymous visitor (None outside a request).
Viewer: TypeAlias = User | AnonymousUserMixin | None


class BoardLike(Protocol):
    """What the rules read of a board: a Board, or forum.boards.threads.BoardFacts."""

    @property
    def id(self) -> int: ...
    @property
    def is_public(self) -> bool: ...
    @property
    def mode(self) -> BoardMode: ...


class TopicLike(Protocol):
    """What the rules read of a topic: a Topic, or forum.boards.threads.TopicFacts
    (the topic page's kept copy, with its board as it is now)."""

    @property
    def status(self) -> PostStatus: ...
    @property
    def is_locked(self) -> bool: ...
    @property
    def author_id(self) -> int | None: ...
    @property
    def board_id(self) -> int: ...
    @property
    def board(self) -> BoardLike: ...


# --- who someone is ------------------------------------------------------------


def is_member(user: Viewer) -> TypeIs[User]:
    # A User is always authenticated (Flask-Login's UserMixin), so False means "not a User".
    return user is not None and user.is_authenticated


def is_admin(user: Viewer) -> TypeGuard[User]:
    return is_member(user) and user.is_admin and not user.is_banned


def is_staff(user: Viewer) -> TypeGuard[User]:
    """A moderator or an admin, in good standing (a suspended moderator does not moderate)."""
    return is_member(user) and user.is_moderator and not user.is_suspended and not user.is_banned


def moderated_board_ids(user: User) -> frozenset[int]:
    """The boards a moderator looks after (loaded once per request and kept on the user)."""
    cached = getattr(user, "_moderated_board_ids", None)
    if cached is None:
        cached = frozenset(
            db.session.scalars(
                sa.select(BoardModerator.board_id).where(BoardModerator.user_id == user.id)
            )
        )
        user._moderated_board_ids = cached
    return cached


def moderates_every_board(user: Viewer) -> bool:
    return is_admin(user) or (is_staff(user) and user.moderates_all_boards)


def moderates(user: Viewer, board_id: int | None) -> bool:
    """May moderate this board = admin, or moderator of all boards, or of this one."""
    if not is_staff(user):
        return False
    if moderates_every_board(user):
        return True
    return board_id is not None and board_id in moderated_board_ids(user)


def is_trusted(user: Viewer) -> TypeGuard[User]:
    """Trusted = staff, or a member with enough posts approved by moderators."""
    return is_staff(user) or (
        is_member(user)
        and user.approved_post_count >= current_app.config["NEW_MEMBER_REVIEW_POSTS"]
    )


def may_act(user: Viewer) -> TypeGuard[User]:
    """May write anything at all = verified, not suspended, not banned."""
    return is_member(user) and user.is_verified and not user.is_suspended and not user.is_banned


# --- reading -------------------------------------------------------------------


def can_read_board(user: Viewer, board: BoardLike) -> bool:
    return board.is_public or is_member(user)


def can_see_topic(user: Viewer, topic: TopicLike) -> bool:
    """Published topics to their readers; a waiting one to its author and moderators."""
    if not can_read_board(user, topic.board):
        return False
    if topic.status == PostStatus.PUBLISHED:
        return True
    if topic.status == PostStatus.PENDING and is_member(user) and topic.author_id == user.id:
        return True
    return moderates(user, topic.board_id)


# --- writing -------------------------------------------------------------------


def why_cannot_post_in(user: Viewer, board: BoardLike) -> str | None:
    """None when the member may start a topic here; otherwise why not, in their words."""
    if not is_member(user):
        return "Please log in to post."
    if not user.is_verified:
        return "Please confirm your email address before posting."
    if user.is_banned:
        return "This account can no longer post."
    if user.is_suspended:
        return (
            "Your account is suspended until "
            f"{user.suspended_until:%d %B %Y, %H:%M} UTC: you can read, but not post."
        )
    if board.mode == BoardMode.LOCKED and not moderates(user, board.id):
        return "This board is read-only."
    return None


def why_cannot_reply(user: Viewer, topic: TopicLike) -> str | None:
    if (reason := why_cannot_post_in(user, topic.board)) is not None:
        return reason
    if topic.status != PostStatus.PUBLISHED:
        return "This topic is not open for replies."
    if topic.is_locked and not moderates(user, topic.board_id):
        return "This topic is locked: it can be read but not replied to."
    return None


def can_edit_post(user: Viewer, post: Post) -> bool:
    """May edit a post = moderator of its board, or its author while it stands and
    the topic is open (and they may post at all)."""
    if post.status != PostStatus.PUBLISHED:
        return False  # a waiting or hidden post is edited from its review item
    if moderates(user, post.topic.board_id):
        return True
    return may_act(user) and post.author_id == user.id and not post.topic.is_locked


def can_delete_own_post(user: Viewer, post: Post) -> bool:
    """May remove a post as its author = the same as editing it, as its author."""
    return (
        may_act(user)
        and post.author_id == user.id
        and post.status == PostStatus.PUBLISHED
        and not post.topic.is_locked
    )


def can_withdraw(user: Viewer, post: Post) -> bool:
    """May withdraw = the author of a post that is waiting or was rejected (even while
    suspended: taking back one's own words is always allowed)."""
    return (
        is_member(user)
        and post.author_id == user.id
        and post.status in (PostStatus.PENDING, PostStatus.REJECTED)
    )


def can_report(user: Viewer, post: Post) -> bool:
    """May report = a verified member in good standing, about someone else's published post."""
    return may_act(user) and post.author_id != user.id and post.status == PostStatus.PUBLISHED


def why_cannot_react(user: Viewer, post: Post) -> str | None:
    """None when the member may send a supportive reaction to this post; else why not.

    Sending one asks what replying asks (verified, not suspended, the topic published and
    open, the board not read-only) but not trust: a reaction carries no words. A suspended
    member may not send one (a suspension pauses taking part in others' threads, and a
    reaction lands on someone's post) but may always take back one they sent.
    """
    return why_cannot_react_to(user, post.topic, post.status, post.author_id)


def why_cannot_react_to(
    user: Viewer, topic: TopicLike, status: PostStatus, author_id: int | None
) -> str | None:
    """why_cannot_react for a post given by its status and author (a page's rows)."""
    if status != PostStatus.PUBLISHED:
        return "Reactions are for published posts."
    if is_member(user) and author_id == user.id:
        return "You can't react to your own post."
    return why_cannot_reply(user, topic)


def can_see_history(user: Viewer, post: Post) -> bool:
    return moderates(user, post.topic.board_id)


# --- moderating ----------------------------------------------------------------


def can_review(user: Viewer, item: ReviewItem) -> bool:
    """May see and act on a review item = moderator of its board, and not its subject
    (nobody reviews reports about their own post or account, nor sees who made them);
    account items (no board) belong to admins and moderators of every board."""
    if not is_staff(user) or _is_subject(user, item):
        return False
    if item.board_id is None:
        return moderates_every_board(user)
    return moderates(user, item.board_id)


def _is_subject(user: User, item: ReviewItem) -> bool:
    if item.account_id is not None:
        return item.account_id == user.id
    return item.post is not None and item.post.author_id == user.id


def can_suspend(user: Viewer, member: User) -> bool:
    """Moderators may suspend or ban members, never staff (admins may act on moderators)."""
    if not is_staff(user) or member.id == user.id:
        return False
    if member.is_admin:
        return False
    return is_admin(user) or not member.is_moderator


def review_board_filter(user: User) -> sa.ColumnElement[bool]:
    """can_review, as SQL: the items this user may see.

    The items about the user are looked up first and left out by id. Written as a
    condition on posts and accounts instead, it would make every count over the
    queue read each row from the table, because neither column is in the
    ix_review_queue* indexes while id is (bench/README.md, "Review queue").
    """
    about_them = items_about(user)
    not_about_them = ReviewItem.id.not_in(about_them) if about_them else sa.true()
    if moderates_every_board(user):
        return not_about_them
    return sa.and_(
        ReviewItem.board_id.in_(sorted(moderated_board_ids(user)) or [-1]), not_about_them
    )


def items_about(user: User) -> list[int]:
    """Ids of the review items on the user's own posts or account (looked up once a request).

    Almost always none for staff (their posts are trusted: only reports raise items);
    two index lookups either way.
    """
    memo = g.setdefault("review_items_about", {}) if has_app_context() else {}
    if user.id not in memo:
        about_account = sa.select(ReviewItem.id).where(ReviewItem.account_id == user.id)
        about_posts = (
            sa.select(ReviewItem.id)
            .join(Post, Post.id == ReviewItem.post_id)
            .where(Post.author_id == user.id)
        )
        memo[user.id] = sorted(db.session.scalars(sa.union(about_account, about_posts)))
    return memo[user.id]
