"""Members' accounts and the single-use tokens mailed to them."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, UTCDateTime, utcnow
from .boards import Board
from .enums import Role, TokenPurpose


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, Model):
    __tablename__ = "users"
    # The sweep that erases accounts whose deletion fell due.
    __table_args__ = (sa.Index("ix_users_deletion_due_at", "deletion_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(30))
    # NFKC + casefold: the key that makes "Ánna" and "ánna" the same name.
    username_key: Mapped[str] = mapped_column(sa.String(90), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(default=Role.MEMBER)
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
    deletion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    keep_posts_on_deletion: Mapped[bool] = mapped_column(default=False)
    # Set when the personal data was erased; the row stays as a pseudonym that the
    # audit log and moderation history point at.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    moderated_boards: Mapped[list[Board]] = relationship(
        secondary="board_moderators", order_by="Board.position", viewonly=True
    )

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


class AccountToken(Model):
    """Single-use tokens mailed for email verification and password reset.

    Only a hash is stored, so a leaked database cannot be used to take over accounts.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (sa.Index("ix_account_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
