"""Typed SQLAlchemy 2.x models.

Times are timezone-aware UTC everywhere (UTCDateTime makes SQLite agree).
Counters on Board and Topic count published posts only; the posting service
keeps them right inside the same transaction as the write.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores UTC; always hands back an aware datetime (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use forum.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(enum.StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class PostStatus(enum.StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"  # waiting for a moderator; only its author (and moderators) see it
    REJECTED = "rejected"  # a moderator turned it down; its author got the text back
    HIDDEN = "hidden"  # taken out of view by a moderator or by members' reports
    REMOVED = "removed"  # deleted by a moderator: a placeholder stays in the thread
    DELETED = "deleted"  # removed by its author: a placeholder stays in the thread


class BoardMode(enum.StrEnum):
    OPEN = "open"  # trusted members' posts go out at once
    PREMODERATED = "premoderated"  # every post waits for a moderator
    LOCKED = "locked"  # read-only


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(30))
    # NFKC + casefold: the key that makes "Ánna" and "ánna" the same name.
    username_key: Mapped[str] = mapped_column(sa.String(90), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.MEMBER)
    # Flask-Login's alternative id: changing it signs the member out everywhere.
    session_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=new_session_token
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moderators moderate the boards listed in board_moderators, or every board.
    moderates_all_boards: Mapped[bool] = mapped_column(default=False)
    # Standing: a member is trusted once enough of their posts were approved.
    approved_post_count: Mapped[int] = mapped_column(default=0)
    rejected_post_count: Mapped[int] = mapped_column(default=0)
    # A suspended member can read but not post or report until this time.
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A banned member cannot log in.
    banned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Privacy: the public profile page leaves out the member's recent posts.
    hides_recent_posts: Mapped[bool] = mapped_column(default=False)
    # "Delete my account": erased at deletion_due_at unless the member logs in first;
    # keep_posts_on_deletion chooses between removing their posts and keeping them
    # under "a former member".
    deletion_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deletion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    keep_posts_on_deletion: Mapped[bool] = mapped_column(default=False)
    # Set when the personal data was erased; the row stays as a pseudonym that the
    # audit log and moderation history point at.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    moderated_boards: Mapped[list[Board]] = relationship(
        secondary="board_moderators", order_by="Board.position", viewonly=True)

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > utcnow()

    @property
    def is_banned(self) -> bool:
        return self.banned_at is not None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses to log in an inactive user
        return not self.is_banned

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class AccountToken(db.Model):
    """Single-use tokens mailed for email verification and password reset.

    Only a hash is stored, so a leaked database cannot be used to take over accounts.
    """

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Board(db.Model):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Public boards can be read by logged-out visitors; others by members only.
    is_public: Mapped[bool] = mapped_column(default=True)
    mode: Mapped[str] = mapped_column(sa.String(16), default=BoardMode.OPEN)
    topic_count: Mapped[int] = mapped_column(default=0)
    post_count: Mapped[int] = mapped_column(default=0)
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Topic(db.Model):
    __tablename__ = "topics"
    __table_args__ = (
        # The board page's keyset: pinned first, then latest activity.
        sa.Index("ix_topics_board_listing", "board_id", "status", "is_pinned", "last_post_at",
                 "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(sa.ForeignKey("boards.id"))
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(150))
    # Follows the status of the topic's first post: only published topics are listed.
    status: Mapped[str] = mapped_column(sa.String(16), default=PostStatus.PUBLISHED)
    is_pinned: Mapped[bool] = mapped_column(default=False)
    is_locked: Mapped[bool] = mapped_column(default=False)
    post_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_post_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Goes up whenever the topic or any of its posts changes (see _bump_topic_revisions);
    # cached copies of the topic's pages are keyed by it.
    revision: Mapped[int] = mapped_column(default=0)

    board: Mapped[Board] = relationship()
    author: Mapped[User | None] = relationship()


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        sa.Index("ix_posts_topic_thread", "topic_id", "id"),
        sa.Index("ix_posts_author_status", "author_id", "status"),
        # A topic's newest published posts, ranked without reading the posts (digests).
        sa.Index("ix_posts_topic_published", "topic_id", "status", "published_at", "id"),
        # One post per form sent: a double click or a browser retry finds the first.
        sa.UniqueConstraint("author_id", "submission_key",
                            name="uq_posts_author_id_submission_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id"))
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    quote_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=PostStatus.PUBLISHED)
    body_source: Mapped[str] = mapped_column(sa.Text)
    # Made from body_source by forum.content.render_post, the only HTML made from user text.
    body_html: Mapped[str] = mapped_column(sa.Text)
    content_warning: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When everyone could first read it: at once, or when a moderator approved it. Digests
    # go by this, so a post that waited for review is news when it comes out.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The one-time key of the form that made the post (see posting.SUBMISSION_KEY).
    submission_key: Mapped[str | None] = mapped_column(sa.String(64))

    topic: Mapped[Topic] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])

    @property
    def is_deleted(self) -> bool:
        return self.status == PostStatus.DELETED



class PostRevision(db.Model):
    """An earlier version of an edited post, kept for moderators."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(sa.String(150))
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    content_warning: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was written
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Helpline(db.Model):
    """Crisis services on the "Get help now" page; admins edit them."""

    __tablename__ = "helplines"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(120))
    region: Mapped[str] = mapped_column(sa.String(80))
    contact: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.String(500), default="")


class BoardModerator(db.Model):
    __tablename__ = "board_moderators"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    board_id: Mapped[int] = mapped_column(
        sa.ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True, index=True)


class ReviewKind(enum.StrEnum):
    HELD_POST = "held_post"
    REPORTED_POST = "reported_post"
    FLAGGED_POST = "flagged_post"
    ACCOUNT = "account"


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISMISSED = "dismissed"


class ReviewItem(db.Model):
    """One row per thing a moderator must look at: a post, or an account.

    A post has at most one item (unique post_id): a second report adds a reason
    to it and raises its priority, and a report on a decided item reopens it.
    `version` goes up with every change; an action names the version it was
    taken on and is refused if the item moved on meanwhile.
    """

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=ReviewStatus.PENDING)
    priority: Mapped[int] = mapped_column(default=0)
    # The most urgent reason's category (forum.safety.CATEGORIES), shown as "why".
    category: Mapped[str] = mapped_column(sa.String(24))
    # Self-harm or violence: the content stays collapsed until a moderator opens it.
    is_sensitive: Mapped[bool] = mapped_column(default=False)
    post_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # Copied from the post's topic so that the queue filters by board on an index.
    board_id: Mapped[int | None] = mapped_column(sa.ForeignKey("boards.id", ondelete="SET NULL"))
    report_count: Mapped[int] = mapped_column(default=0)
    # The post was hidden because enough trusted members reported it.
    hidden_by_reports: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                    ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it last came (back) into the queue: its age in the queue counts from here.
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                    ondelete="SET NULL"))
    # Seconds from opened_at to decided_at, for the queue's median time to decision.
    decision_seconds: Mapped[int | None] = mapped_column()

    post: Mapped[Post | None] = relationship()
    account: Mapped[User | None] = relationship(foreign_keys=[account_id])
    board: Mapped[Board | None] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# The queue's order, priority then age, with each filter in front; see moderation.queue.queue_page.
sa.Index("ix_review_queue", ReviewItem.status, ReviewItem.priority.desc(), ReviewItem.opened_at,
         ReviewItem.id)
sa.Index("ix_review_queue_board", ReviewItem.status, ReviewItem.board_id,
         ReviewItem.priority.desc(), ReviewItem.opened_at, ReviewItem.id)
sa.Index("ix_review_queue_board_kind", ReviewItem.status, ReviewItem.board_id, ReviewItem.kind,
         ReviewItem.priority.desc(), ReviewItem.opened_at, ReviewItem.id)
sa.Index("ix_review_queue_kind", ReviewItem.status, ReviewItem.kind, ReviewItem.priority.desc(),
         ReviewItem.opened_at, ReviewItem.id)
sa.Index("ix_review_items_decided_at", ReviewItem.decided_at)
sa.Index("ix_review_items_opened_at", ReviewItem.opened_at)
# The oldest waiting item of a board: one index probe per board (moderation.queue).
sa.Index("ix_review_items_waiting_since", ReviewItem.status, ReviewItem.board_id,
         ReviewItem.opened_at)


class ReviewQueueCount(db.Model):
    """How many items wait, per board and kind: the queue's numbers without counting.

    Kept by forum.services.queue_counts in the same transaction (the same flush) as
    every change to an item's status, kind or board, so it always equals a COUNT(*)
    of the pending items; `forum check` compares the two and repairs. board_key is
    the board's id, or 0 for items with no board (accounts to review).
    """

    __tablename__ = "review_queue_counts"

    board_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    waiting: Mapped[int] = mapped_column(default=0)


class ReviewReason(db.Model):
    """Why an item is in the queue: a member's report or a check made on posting."""

    __tablename__ = "review_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(sa.String(24))
    # For a system reason, what matched (a watched word, "phone number"); for a report, the note.
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    # Never shown to the post's author.
    reporter_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reporter_trusted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reporter: Mapped[User | None] = relationship()


class ReviewEvent(db.Model):
    """The item's history: raised, reported again, claimed, decided, reopened."""

    __tablename__ = "review_events"
    __table_args__ = (sa.Index("ix_review_events_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("review_items.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class AuditEntry(db.Model):
    """Every moderator and admin action. Written by forum.services.audit, never edited."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_action", "action", "id"),
        sa.Index("ix_audit_log_actor", "actor_id", "id"),
        sa.Index("ix_audit_log_target", "target_type", "target_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Kept so the log still names who acted after an account is gone.
    actor_name: Mapped[str] = mapped_column(sa.String(30))
    action: Mapped[str] = mapped_column(sa.String(40))
    target_type: Mapped[str] = mapped_column(sa.String(24))
    target_id: Mapped[int | None] = mapped_column()
    before: Mapped[str] = mapped_column(sa.Text, default="{}")  # JSON
    after: Mapped[str] = mapped_column(sa.Text, default="{}")  # JSON
    reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(db.Model):
    """A message to one member shown on their notices page (and mailed)."""

    __tablename__ = "notices"
    __table_args__ = (sa.Index("ix_notices_user", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(24))
    subject: Mapped[str] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WatchedPhrase(db.Model):
    """Admin-managed words and phrases, matched on whole words (forum.safety)."""

    __tablename__ = "watched_phrases"
    __table_args__ = (sa.UniqueConstraint("phrase_key", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(sa.String(100))
    # The phrase's words, normalised as posts are for matching, joined by single spaces.
    phrase_key: Mapped[str] = mapped_column(sa.String(300))
    # block | hold | flag for watched words; crisis for the crisis-language list.
    action: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReasonTemplate(db.Model):
    """Ready-made reasons moderators pick from (and add to) when they act."""

    __tablename__ = "reason_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(sa.String(80))
    text: Mapped[str] = mapped_column(sa.String(500))


class SiteText(db.Model):
    """Operator-editable text, such as the moderator hours shown beside waiting posts."""

    __tablename__ = "site_texts"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text, default="")


# --- mail: follows, digests, notices by mail, the outbox ---------------------------------

class DigestFrequency(enum.StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"


class MailKind(enum.StrEnum):
    """The kinds of mail a member can turn off, each on its own (account mail is not one:
    a member asks for it)."""

    DIGEST = "digest"
    REPLY = "reply"
    QUOTE = "quote"
    MODERATION = "moderation"


class MailSettings(db.Model):
    """One member's choices about mail (defaults apply while there is no row).

    next_digest_at is when the next digest falls due, in UTC, worked out from the
    member's hour, day and timezone by forum.digests.schedule whenever a choice
    changes or a digest is done: `flask digests send` finds due members with an
    indexed comparison, and claims their rows.
    """

    __tablename__ = "mail_settings"
    __table_args__ = (sa.Index("ix_mail_settings_due", "next_digest_at"),)

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(8), default=DigestFrequency.NONE)
    digest_hour: Mapped[int] = mapped_column(default=8)  # 0-23, member's local time
    digest_weekday: Mapped[int] = mapped_column(default=0)  # 0 = Monday, for weekly
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")  # IANA name
    notify_reply: Mapped[bool] = mapped_column(default=True)
    notify_quote: Mapped[bool] = mapped_column(default=True)
    notify_moderation: Mapped[bool] = mapped_column(default=True)
    # "Pause for two weeks": no digest or notice mail before this time.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Goes up with every change of these settings.
    version: Mapped[int] = mapped_column(default=1)
    # Unsubscribe links carry their kind's number from here ({"digest": 2, ...}, missing
    # = 0): a change to what a kind of mail does retires that kind's links, and only those.
    link_versions: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    next_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The end of the period the last digest covered: the next one starts there.
    digest_covered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Follow(db.Model):
    """A member following a board or a topic.

    following=False records an explicit "unfollow", so replying again to a topic
    the member left does not quietly follow it again.
    """

    __tablename__ = "follows"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "board_id", name="uq_follows_user_board"),
        sa.UniqueConstraint("user_id", "topic_id", name="uq_follows_user_topic"),
        sa.CheckConstraint("(board_id IS NULL) != (topic_id IS NULL)", name="one_target"),
        sa.Index("ix_follows_topic", "topic_id", "following"),
        sa.Index("ix_follows_board", "board_id", "following"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    board_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("boards.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("topics.id", ondelete="CASCADE"))
    following: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestDelivery(db.Model):
    """One member's digest for one period, recorded once (the unique key) whether it
    had news (status "queued", its mail in the outbox) or not ("empty")."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (sa.UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(sa.String(16))  # "2026-11-26" daily, "2026-W48" weekly
    status: Mapped[str] = mapped_column(sa.String(8))
    covered_from: Mapped[datetime] = mapped_column(UTCDateTime)
    covered_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """A mail written in the same transaction as what it reports, sent afterwards.

    Sent by forum.outbox over one SMTP connection per batch. A message the server
    has not accepted (a connection error, a 4xx answer) stays here for the next run;
    sent_at is set as soon as the server accepts it; a permanent refusal (5xx) sets
    failed_at. Nothing is sent twice or lost.

    The message itself is in its OutboxBody, not in this row: senders update this row
    twice per message (the claim, then sent_at or a refusal), and SQLite rewrites all
    of a row's overflow pages on every update, so a 36 KB digest kept here was written
    three times. Deleting the row deletes its body (the foreign key's ON DELETE CASCADE).
    """

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_waiting", "sent_at", "failed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # Set by the sender that took the message; one whose sender died is taken again later.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Added with the row (one session.add). The database's cascade deletes it with the
    # row (bulk deletes in prune and erasure go round the ORM), so the ORM is told to
    # leave that to it rather than load 36 KB only to delete it.
    body: Mapped[OutboxBody] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class OutboxBody(db.Model):
    """An outbox message's bytes, written once when it is queued and never updated."""

    __tablename__ = "outbox_bodies"

    outbox_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    message: Mapped[bytes] = mapped_column(sa.LargeBinary)  # the whole RFC 5322 message, CRLF


# --- members in control: blocks, mutes, reactions -----------------------------------------

class Block(db.Model):
    """blocker_id no longer sees blocked_id's posts (collapsed) or notices from them.

    The blocked member is never told. Moderators see how many members blocked
    someone, never who (the index on blocked_id counts it).
    """

    __tablename__ = "blocks"

    blocker_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MutedPhrase(db.Model):
    """A member's own muted word or phrase: posts containing it show collapsed for them."""

    __tablename__ = "muted_phrases"
    __table_args__ = (sa.UniqueConstraint("user_id", "phrase_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    phrase: Mapped[str] = mapped_column(sa.String(100))  # as the member wrote it
    phrase_key: Mapped[str] = mapped_column(sa.String(300))  # forum.safety.phrase_key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BoardMute(db.Model):
    """A board the member does not want in lists, search results or digests."""

    __tablename__ = "board_mutes"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    board_id: Mapped[int] = mapped_column(
        sa.ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReactionKind(enum.StrEnum):
    """Supportive reactions; only the post's author sees how many, nothing is ranked by them."""

    THINKING_OF_YOU = "thinking_of_you"
    I_HEAR_YOU = "i_hear_you"
    HELPED_ME = "helped_me"
    ME_TOO = "me_too"


class Reaction(db.Model):
    """One of each kind per member per post (the primary key)."""

    __tablename__ = "reactions"

    post_id: Mapped[int] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@sa.event.listens_for(Session, "before_flush")
def _bump_topic_revisions(session: Session, flush_context, instances) -> None:
    """Any ORM change to a post or a topic moves its topic's revision on.

    This is what keeps cached topic pages honest: a reply, an edit, a deletion,
    a post hidden by a moderator or a renamed topic can never be served from a
    stale copy, whichever service made the change. (Bulk sa.update() statements
    on posts bypass the ORM: a service that uses one must bump the revision too.)
    """
    changed: set[int] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Post):
            topic_id = instance.topic_id
            if topic_id is None and instance.topic is not None:
                topic_id = instance.topic.id  # None for a topic being created: nothing cached
            if topic_id is not None:
                changed.add(topic_id)
        elif isinstance(instance, Topic) and instance.id is not None \
                and session.is_modified(instance, include_collections=False):
            changed.add(instance.id)
    if not changed:
        return
    with session.no_autoflush:
        for topic_id in changed:
            topic = session.get(Topic, topic_id)
            if topic is not None:
                topic.revision = Topic.revision + 1
