"""What every model module builds on: the declarative base and the column types.

Times are timezone-aware UTC everywhere (UTCDateTime makes SQLite agree).
A column annotated with one of the enums (`Mapped[PostStatus]`) gets its column
type from ENUM_COLUMN_TYPES, which this module adds to the base's type map.
"""

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..extensions import db
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

if TYPE_CHECKING:
    # db.Model is made at run time from this declarative base; the type checker
    # needs a class it can see, and the base has everything the models use.
    from ..extensions import Base as Model
else:
    Model = db.Model


def stored_as_string(vocabulary: type[enum.StrEnum], length: int) -> sa.Enum:
    """An enum column stored as its members' values in a VARCHAR(length), with no
    CHECK constraint: the DDL the migrations made when these columns were strings."""
    return sa.Enum(
        vocabulary,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


ENUM_COLUMN_TYPES: dict[type, sa.Enum] = {
    Role: stored_as_string(Role, 16),
    PostStatus: stored_as_string(PostStatus, 16),
    BoardMode: stored_as_string(BoardMode, 16),
    ReviewKind: stored_as_string(ReviewKind, 16),
    ReviewStatus: stored_as_string(ReviewStatus, 16),
    ReviewCategory: stored_as_string(ReviewCategory, 24),
    DigestFrequency: stored_as_string(DigestFrequency, 8),
    ReactionKind: stored_as_string(ReactionKind, 16),
    DigestStatus: stored_as_string(DigestStatus, 8),
    MailKind: stored_as_string(MailKind, 16),
    NoticeKind: stored_as_string(NoticeKind, 24),
    WatchedAction: stored_as_string(WatchedAction, 8),
    TokenPurpose: stored_as_string(TokenPurpose, 16),
}
# Added here rather than on the base class in forum.extensions: that module is
# imported before the models, and importing the enums from there would run
# forum.models (and this module) while forum.extensions is half made.
Model.registry.update_type_annotation_map(ENUM_COLUMN_TYPES)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use forum.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
