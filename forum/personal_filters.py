"""What one member chose not to see: members they blocked, boards and phrases they muted.

Every place that shows posts to a member (board and topic pages, search, digests,
notices) asks the same PersonalFilters, so a block or a mute means the same
thing everywhere. Loading is one query, for one member or a whole batch of
members (digests).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from .extensions import db
from .models import Block, BoardMute, MutedPhrase, Role, User
from .safety import Phrase, PhraseMatcher

MUTE = "mute"
_TAG = re.compile(r"<[^>]*>")


def text_of_html(body_html: str | None) -> str:
    """The words of a post's sanitised HTML, for matching muted phrases (tags are not
    words: a muted "strong" must not match every bold post)."""
    return html.unescape(_TAG.sub(" ", body_html or ""))


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

    def hides(self, author_id: int | None, board_id: int | None, *texts: str | None) -> bool:
        """True when the member would rather not hear of this at all (notices, digests):
        it is by someone they blocked, in a board they muted, or mentions a muted phrase."""
        return self.has_blocked(author_id) or self.has_muted_board(board_id) \
            or self.muted_phrase_in(*texts) is not None


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
    """Filters for many members at once, in one query whatever their number (pages pay
    for it on every request, digests once per batch)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    blocked: dict[int, list[int]] = defaultdict(list)
    boards: dict[int, list[int]] = defaultdict(list)
    phrases: dict[int, list[tuple[str, str]]] = defaultdict(list)
    none = sa.null().cast(sa.String)
    # Moderators and admins cannot be blocked (forum.services.personal): a block made
    # before someone became staff stays listed in settings but filters nothing.
    blocks = (sa.select(sa.literal("b").label("kind"), Block.blocker_id.label("owner"),
                        Block.blocked_id.label("target"), none.label("phrase"),
                        none.label("phrase_key"))
              .join(User, User.id == Block.blocked_id)
              .where(Block.blocker_id.in_(ids), User.role == Role.MEMBER))
    muted_boards = sa.select(sa.literal("m"), BoardMute.user_id, BoardMute.board_id, none,
                             none).where(BoardMute.user_id.in_(ids))
    muted_phrases = sa.select(sa.literal("p"), MutedPhrase.user_id, MutedPhrase.id,
                              MutedPhrase.phrase, MutedPhrase.phrase_key) \
        .where(MutedPhrase.user_id.in_(ids))
    union = sa.union_all(blocks, muted_boards, muted_phrases).subquery()
    for kind, owner, target, phrase, key in db.session.execute(
            sa.select(union).order_by(union.c.kind, union.c.target)):
        if kind == "b":
            blocked[owner].append(target)
        elif kind == "m":
            boards[owner].append(target)
        else:  # in the order they were muted (target is the phrase's id)
            phrases[owner].append((phrase, key))
    return {user_id: _build(blocked[user_id], boards[user_id], phrases[user_id])
            for user_id in ids}
