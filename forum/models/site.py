"""What admins keep and the site's records: helplines, texts, watched phrases,
reason templates, the audit log and notices to members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model, UTCDateTime, utcnow
from .enums import NoticeKind, WatchedAction


class Helpline(Model):
    """Crisis services on the "Get help now" page; admins edit them."""

    __tablename__ = "helplines"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(120))
    region: Mapped[str] = mapped_column(sa.String(80))
    contact: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.String(500), default="")


class SiteText(Model):
    """Operator-editable text, such as the moderator hours shown beside waiting posts."""

    __tablename__ = "site_texts"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text, default="")


class WatchedPhrase(Model):
    """Admin-managed words and phrases, matched on whole words (forum.safety)."""

    __tablename__ = "watched_phrases"
    __table_args__ = (sa.UniqueConstraint("phrase_key", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(sa.String(100))
    # The phrase's words, normalised as posts are for matching, joined by single spaces.
    phrase_key: Mapped[str] = mapped_column(sa.String(300))
    # block | hold | flag for watched words; crisis for the crisis-language list.
    action: Mapped[WatchedAction]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReasonTemplate(Model):
    """Ready-made reasons moderators pick from (and add to) when they act."""

    __tablename__ = "reason_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(sa.String(80))
    text: Mapped[str] = mapped_column(sa.String(500))


class AuditEntry(Model):
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
    # What the action changed, as it was and as it became ({} for none).
    before: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(Model):
    """A message to one member shown on their notices page (and mailed)."""

    __tablename__ = "notices"
    __table_args__ = (sa.Index("ix_notices_user", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NoticeKind]
    subject: Mapped[str] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
