"""One review item's whole story, for the moderator deciding it.

The item with its post, topic, board and people; every reason given, every event, the
post's earlier versions, and the member's standing (their record and earlier actions).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import (
    AuditEntry,
    Post,
    PostRevision,
    PostStatus,
    ReviewEvent,
    ReviewItem,
    ReviewKind,
    ReviewReason,
    Topic,
    User,
)


@dataclass(frozen=True)
class Standing:
    member: User
    approved: int
    rejected: int
    published: int
    earlier_actions: list[AuditEntry]


@dataclass(frozen=True)
class ItemDetail:
    item: ReviewItem
    reasons: list[ReviewReason]
    events: list[ReviewEvent]
    revisions: list[PostRevision]
    standing: Standing | None


def load_item(item_id: int) -> ReviewItem | None:
    return db.session.scalar(
        sa.select(ReviewItem)
        .where(ReviewItem.id == item_id)
        .options(
            joinedload(ReviewItem.post).joinedload(Post.topic).joinedload(Topic.board),
            joinedload(ReviewItem.post).joinedload(Post.author),
            joinedload(ReviewItem.account),
            joinedload(ReviewItem.claimed_by),
        )
    )


def item_detail(item: ReviewItem) -> ItemDetail:
    reasons = list(
        db.session.scalars(
            sa.select(ReviewReason)
            .where(ReviewReason.item_id == item.id)
            .options(selectinload(ReviewReason.reporter))
            .order_by(ReviewReason.id)
        )
    )
    events = list(
        db.session.scalars(
            sa.select(ReviewEvent)
            .where(ReviewEvent.item_id == item.id)
            .options(selectinload(ReviewEvent.actor))
            .order_by(ReviewEvent.id)
        )
    )
    revisions = []
    if item.post is not None:
        revisions = list(
            db.session.scalars(
                sa.select(PostRevision)
                .where(PostRevision.post_id == item.post_id)
                .order_by(PostRevision.id.desc())
            )
        )
    member = (
        item.account
        if item.kind == ReviewKind.ACCOUNT
        else (item.post.author if item.post is not None else None)
    )
    return ItemDetail(
        item, reasons, events, revisions, standing_of(member) if member is not None else None
    )


def standing_of(member: User) -> Standing:
    published = (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Post.author_id == member.id, Post.status == PostStatus.PUBLISHED
            )
        )
        or 0
    )
    earlier = list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(
                AuditEntry.target_type == "review_item",
                AuditEntry.target_id.in_(
                    sa.select(ReviewItem.id)
                    .outerjoin(Post, Post.id == ReviewItem.post_id)
                    .where(sa.or_(Post.author_id == member.id, ReviewItem.account_id == member.id))
                ),
            )
            .order_by(AuditEntry.id.desc())
            .limit(10)
        )
    )
    return Standing(
        member, member.approved_post_count, member.rejected_post_count, published, earlier
    )
