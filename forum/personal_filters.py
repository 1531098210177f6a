"""What one member chose not to see: members they blocked, boards and phrases they muted.

Every place that shows posts to a member (board and topic pages, search, digests,
notices) asks the same PersonalFilters, so a block or a mute means the same
thing everywhere. Loading is a fixed number of queries: three for one member,
three for a whole batch of members (digests).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from .extensions import db
from .models import Block, BoardMute, MutedPhrase
from .safety import Phrase, PhraseMatcher

MUTE = "mute"


@dataclass(frozen=True)
class PersonalFilters:
    blocked_ids: frozenset[int] = frozenset()
    muted_board_ids: frozenset[int] = frozenset()
    muted_phrases: tuple[Phrase, ...] = ()
    _matcher: PhraseMatcher | None = field(default=None, compare=False, repr=False)

    @property
    def is_empty(self) -> bool:
        return not (self.blocked_ids or self.muted_board_ids or self.muted_phrases)

    def has_blocked(self, author_id: int | None) -> bool:
        return author_id is not None and author_id in self.blocked_ids

    def has_muted_board(self, board_id: int | None) -> bool:
        return board_id is not None and board_id in self.muted_board_ids

    def muted_phrase_in(self, *texts: str | None) -> str | None:
        """The first muted phrase (as the member wrote it) found in any of the texts."""
        if not self.muted_phrases:
            return None
        matcher = self._matcher or PhraseMatcher(self.muted_phrases)
        for text in texts:
            if text:
                found = matcher.find(text)
                if found:
                    return found[0].phrase
        return None


NO_FILTERS = PersonalFilters()


def _build(blocked: Iterable[int], boards: Iterable[int],
           phrases: Iterable[tuple[str, str]]) -> PersonalFilters:
    muted = tuple(Phrase(phrase=phrase, key=key, action=MUTE) for phrase, key in phrases)
    return PersonalFilters(
        blocked_ids=frozenset(blocked),
        muted_board_ids=frozenset(boards),
        muted_phrases=muted,
        _matcher=PhraseMatcher(muted) if muted else None,
    )


def for_member(user_id: int | None) -> PersonalFilters:
    """The filters of one member; anonymous visitors (None) have none."""
    if user_id is None:
        return NO_FILTERS
    return for_members([user_id]).get(user_id, NO_FILTERS)


def for_members(user_ids: Iterable[int]) -> dict[int, PersonalFilters]:
    """Filters for many members at once, in three queries whatever their number."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    blocked: dict[int, list[int]] = defaultdict(list)
    boards: dict[int, list[int]] = defaultdict(list)
    phrases: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for blocker_id, blocked_id in db.session.execute(
            sa.select(Block.blocker_id, Block.blocked_id).where(Block.blocker_id.in_(ids))):
        blocked[blocker_id].append(blocked_id)
    for user_id, board_id in db.session.execute(
            sa.select(BoardMute.user_id, BoardMute.board_id).where(BoardMute.user_id.in_(ids))):
        boards[user_id].append(board_id)
    for user_id, phrase, key in db.session.execute(
            sa.select(MutedPhrase.user_id, MutedPhrase.phrase, MutedPhrase.phrase_key)
            .where(MutedPhrase.user_id.in_(ids)).order_by(MutedPhrase.id)):
        phrases[user_id].append((phrase, key))
    return {user_id: _build(blocked[user_id], boards[user_id], phrases[user_id])
            for user_id in ids}
