"""Typed SQLAlchemy 2.x models, one module per idea; import them from here.

Times are timezone-aware UTC everywhere (UTCDateTime makes SQLite agree).
Counters on Board and Topic count published posts only; the posting service
keeps them right inside the same transaction as the write.
"""

from . import revisions  # noqa: F401  (its hook is attached by forum.session_hooks, not here)
from .accounts import AccountToken, User, new_session_token
from .base import UTCDateTime, utcnow
from .boards import Board, BoardModerator
from .enums import (
    BoardMode,
    DigestFrequency,
    DigestStatus,
    MailKind,
    NoticeKind,
    PostStatus,
    ReactionKind,
    ReviewCategory,
    ReviewKind,
    ReviewStatus,
    Role,
    TokenPurpose,
    WatchedAction,
)
from .mail import DigestDelivery, Follow, MailSettings, OutboxBody, OutboxMessage
from .members import Block, BoardMute, MutedPhrase, Reaction
from .posts import Post, PostRevision, Topic
from .review import ReviewEvent, ReviewItem, ReviewQueueCount, ReviewReason
from .site import AuditEntry, Helpline, Notice, ReasonTemplate, SiteText, WatchedPhrase

__all__ = [
    "AccountToken",
    "AuditEntry",
    "Block",
    "Board",
    "BoardMode",
    "BoardModerator",
    "BoardMute",
    "DigestDelivery",
    "DigestFrequency",
    "DigestStatus",
    "Follow",
    "Helpline",
    "MailKind",
    "MailSettings",
    "MutedPhrase",
    "Notice",
    "NoticeKind",
    "OutboxBody",
    "OutboxMessage",
    "Post",
    "PostRevision",
    "PostStatus",
    "ReactionKind",
    "Reaction",
    "ReasonTemplate",
    "ReviewCategory",
    "ReviewEvent",
    "ReviewItem",
    "ReviewKind",
    "ReviewQueueCount",
    "ReviewReason",
    "ReviewStatus",
    "Role",
    "SiteText",
    "TokenPurpose",
    "Topic",
    "UTCDateTime",
    "User",
    "WatchedAction",
    "WatchedPhrase",
    "new_session_token",
    "utcnow",
]
