"""A member's own choices about what they see and show: blocks, muted phrases and
boards, and whether their profile lists their recent posts.

Rules:
- Nobody blocks themselves, and moderators and admins cannot be blocked. Like
  Discourse, which does not let members ignore staff: a moderator's warning or
  a note about a removed post must always reach the member it is for. Someone
  troubled by a moderator can tell an admin (the guidelines say so).
- The blocked member is never told: no notice, no mail, nothing on any page of theirs.
- A member keeps at most MAX_BLOCKS blocks, MAX_MUTED_PHRASES phrases; muting
  every board is allowed (each can be unmuted from the privacy settings).

Each public function is one transaction. Repeating one (a double click, two tabs)
changes nothing the second time and is not an error.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from .. import permissions
from ..extensions import db
from ..http import MAX_ID
from ..models import Block, Board, BoardMute, MutedPhrase, Role, User
from ..safety import phrase_key
from . import PermissionDenied, ServiceError, rows_changed, transaction

MAX_BLOCKS = 500
MAX_MUTED_PHRASES = 100
PHRASE_MAX = 100  # characters, as typed (MutedPhrase.phrase)
PHRASE_KEY_MAX = 300  # NFKC can make a few characters into many (MutedPhrase.phrase_key)


def can_block(user: User, member: User) -> bool:
    return member.id != user.id and member.role == Role.MEMBER and member.erased_at is None


def why_cannot_block(user: User, member: User) -> str | None:
    if member.id == user.id:
        return "You can't block yourself."
    if member.role != Role.MEMBER:
        return (
            "Moderators and admins can't be blocked: they need to be able to reach "
            "everyone. If a moderator's posts trouble you, please tell an admin."
        )
    if member.erased_at is not None:
        return "This account no longer exists."
    return None


def has_blocked(user: User, member: User) -> bool:
    return db.session.get(Block, (user.id, member.id)) is not None


def block(user: User, member: User) -> bool:
    """Block `member` for `user`. True if this made a new block (False: it was there)."""
    if (refusal := why_cannot_block(user, member)) is not None:
        raise PermissionDenied(refusal)
    try:
        with transaction():
            if db.session.get(Block, (user.id, member.id)) is not None:
                return False
            count = (
                db.session.scalar(sa.select(sa.func.count()).where(Block.blocker_id == user.id))
                or 0
            )
            if count >= MAX_BLOCKS:
                raise ServiceError(
                    f"You have blocked {MAX_BLOCKS} members, the most there can "
                    "be. Unblock someone first."
                )
            db.session.add(Block(blocker_id=user.id, blocked_id=member.id))
    except IntegrityError:  # the same block, made at the same moment in another tab
        return False
    return True


def unblock(user: User, member_id: int) -> bool:
    """True if there was a block to remove."""
    with transaction():
        removed = rows_changed(
            sa.delete(Block).where(Block.blocker_id == user.id, Block.blocked_id == member_id)
        )
    return bool(removed)


def blocked_members(user: User) -> list[User]:
    """Everyone the member blocked, by name (at most MAX_BLOCKS: one query)."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Block, Block.blocked_id == User.id)
            .where(Block.blocker_id == user.id)
            .order_by(User.username_key)
        )
    )


def blocked_by_count(member_id: int) -> int:
    """How many members blocked this one: a signal for moderators, never who."""
    return db.session.scalar(sa.select(sa.func.count()).where(Block.blocked_id == member_id)) or 0


# --- muted phrases ---------------------------------------------------------------------


def mute_phrase(user: User, phrase: str | None) -> MutedPhrase:
    text = " ".join((phrase or "").split())
    key = phrase_key(text)
    if not key:
        raise ServiceError("Type a word or phrase to mute (letters or numbers).", field="phrase")
    if len(text) > PHRASE_MAX or len(key) > PHRASE_KEY_MAX:
        raise ServiceError(f"Keep it to {PHRASE_MAX} characters or fewer.", field="phrase")
    try:
        with transaction():
            existing = db.session.scalar(
                sa.select(MutedPhrase).where(
                    MutedPhrase.user_id == user.id, MutedPhrase.phrase_key == key
                )
            )
            if existing is not None:
                raise ServiceError(f"You already muted “{existing.phrase}”.", field="phrase")
            count = (
                db.session.scalar(sa.select(sa.func.count()).where(MutedPhrase.user_id == user.id))
                or 0
            )
            if count >= MAX_MUTED_PHRASES:
                raise ServiceError(
                    f"You have muted {MAX_MUTED_PHRASES} words and phrases, the "
                    "most there can be. Remove one first.",
                    field="phrase",
                )
            muted = MutedPhrase(user_id=user.id, phrase=text, phrase_key=key)
            db.session.add(muted)
    except IntegrityError:  # the same phrase, sent at the same moment from another tab
        raise ServiceError(f"You already muted “{text}”.", field="phrase") from None
    return muted


def unmute_phrase(user: User, phrase_id: int) -> str | None:
    """The phrase that was removed, or None if the member had no such phrase."""
    with transaction():
        muted = db.session.scalar(
            sa.select(MutedPhrase).where(
                MutedPhrase.id == phrase_id, MutedPhrase.user_id == user.id
            )
        )
        if muted is None:
            return None
        db.session.delete(muted)
        return muted.phrase


def muted_phrases(user: User) -> list[MutedPhrase]:
    return list(
        db.session.scalars(
            sa.select(MutedPhrase).where(MutedPhrase.user_id == user.id).order_by(MutedPhrase.id)
        )
    )


# --- muted boards ----------------------------------------------------------------------


def _board_mute_insert(user_id: int, board_id: int):
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    return (
        insert(BoardMute)
        .values(user_id=user_id, board_id=board_id)
        .on_conflict_do_nothing(index_elements=["user_id", "board_id"])
    )


def mute_board(user: User, board: Board) -> None:
    if not permissions.can_read_board(user, board):
        raise PermissionDenied("You can't mute this board.")
    with transaction():
        db.session.execute(_board_mute_insert(user.id, board.id))


def unmute_board(user: User, board: Board) -> None:
    with transaction():
        db.session.execute(
            sa.delete(BoardMute).where(BoardMute.user_id == user.id, BoardMute.board_id == board.id)
        )


def muted_board_ids(user: User) -> set[int]:
    return set(
        db.session.scalars(sa.select(BoardMute.board_id).where(BoardMute.user_id == user.id))
    )


def save_privacy(user: User, *, hides_recent_posts: bool, muted_boards: Iterable[int]) -> None:
    """The privacy settings form: hide my recent posts, and exactly these boards muted
    (ids of boards that do not exist are ignored; every member may read every board, so
    existing is enough)."""
    wanted = {board_id for board_id in muted_boards if 0 < board_id <= MAX_ID}
    with transaction():
        existing = (
            set(db.session.scalars(sa.select(Board.id).where(Board.id.in_(sorted(wanted)))))
            if wanted
            else set()
        )
        current = set(
            db.session.scalars(sa.select(BoardMute.board_id).where(BoardMute.user_id == user.id))
        )
        if current - existing:
            db.session.execute(
                sa.delete(BoardMute).where(
                    BoardMute.user_id == user.id, BoardMute.board_id.in_(sorted(current - existing))
                )
            )
        for board_id in sorted(existing - current):
            db.session.execute(_board_mute_insert(user.id, board_id))
        db.session.get_one(User, user.id).hides_recent_posts = bool(hides_recent_posts)


def set_hides_recent_posts(user: User, hide: bool) -> None:
    with transaction():
        db.session.get_one(User, user.id).hides_recent_posts = bool(hide)
