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
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from . import viewer_rows
from .extensions import db
from .models import Block, BoardMute, MutedPhrase, Role, User
from .safety import Phrase, PhraseMatcher

MUTE = "mute"
_TAG = re.compile(r"<[^>]*>")


@lru_cache(maxsize=2048)
def text_of_html(body_html: str | None) -> str:
    """The words of a post's sanitised HTML, for matching muted phrases (tags are not
    words: a muted "strong" must not match every bold post). Cached: a topic page asks
    it of every post for every member who muted a phrase."""
    return html.unescape(_TAG.sub(" ", body_html or ""))


@dataclass(frozen=True)
class PersonalFilters:
    blocked_ids: frozenset[int] = frozenset()
    muted_board_ids: frozenset[int] = frozenset()
    muted_phrases: tuple[Phrase, ...] = ()

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
        for text in texts:
            if text and (found := _first_muted(self.muted_phrases, text)) is not None:
                return found
        return None

    def hides(self, author_id: int | None, board_id: int | None, *texts: str | None) -> bool:
        """True when the member would rather not hear of this at all (notices, digests):
        it is by someone they blocked, in a board they muted, or mentions a muted phrase."""
        return (
            self.has_blocked(author_id)
            or self.has_muted_board(board_id)
            or self.muted_phrase_in(*texts) is not None
        )


NO_FILTERS = PersonalFilters()


@lru_cache(maxsize=4096)
def _first_muted(phrases: tuple[Phrase, ...], text: str) -> str | None:
    """Cached per (phrases, text): members who muted the same words read the same posts,
    and one member reads a thread many times; matching is word by word, so not free."""
    found = PhraseMatcher(phrases).find(text)
    return found[0].phrase if found else None


def _build(
    blocked: Iterable[int], boards: Iterable[int], phrases: Iterable[tuple[str, str]]
) -> PersonalFilters:
    muted = tuple(Phrase(phrase=phrase, key=key, action=MUTE) for phrase, key in phrases)
    return PersonalFilters(
        blocked_ids=frozenset(blocked),
        muted_board_ids=frozenset(boards),
        muted_phrases=muted,
    )


def for_member(user_id: int | None) -> PersonalFilters:
    """The filters of one member; anonymous visitors (None) have none."""
    if user_id is None:
        return NO_FILTERS
    return for_members([user_id]).get(user_id, NO_FILTERS)


def filter_parts(*, one_member: bool = False) -> list[sa.Select]:
    """The rows behind for_members, as parts in forum.viewer_rows' shape (a member's pages
    ask them with their other facts): `a` the owner; blocks ("b") and muted boards ("m")
    with the member or board in `b`; muted phrases ("p") with their id in `b`, the phrase
    in `s1` and its key in `s2`. Whose rows: the members in an expanding "ids" parameter,
    or with `one_member` the one in "user_id" (a plain parameter costs less to send)."""

    def owned(column: QueryableAttribute[int]) -> sa.ColumnElement[bool]:
        if one_member:
            return column == sa.bindparam("user_id")
        return column.in_(sa.bindparam("ids", expanding=True))

    # Moderators and admins cannot be blocked (forum.services.personal): a block made
    # before someone became staff stays listed in settings but filters nothing.
    blocks = (
        sa.select(*viewer_rows.row("b", Block.blocker_id, Block.blocked_id))
        .join(User, User.id == Block.blocked_id)
        .where(owned(Block.blocker_id), User.role == Role.MEMBER)
    )
    muted_boards = sa.select(*viewer_rows.row("m", BoardMute.user_id, BoardMute.board_id)).where(
        owned(BoardMute.user_id)
    )
    muted_phrases = sa.select(
        *viewer_rows.row(
            "p",
            MutedPhrase.user_id,
            MutedPhrase.id,
            s1=MutedPhrase.phrase,
            s2=MutedPhrase.phrase_key,
        )
    ).where(owned(MutedPhrase.user_id))
    return [blocks, muted_boards, muted_phrases]


def _filters_statement() -> sa.Select:
    """The one query behind for_members, built once with an expanding "ids" parameter:
    building the union on every request cost ten times what running it does."""
    union = sa.union_all(*filter_parts()).subquery()
    return sa.select(union).order_by(union.c.kind, union.c.b)


_FILTERS = _filters_statement()


class FilterRows:
    """Gathers filter_parts' rows, for one member or many."""

    def __init__(self) -> None:
        self.blocked: dict[int, list[int]] = defaultdict(list)
        self.boards: dict[int, list[int]] = defaultdict(list)
        self.phrases: dict[int, list[tuple[str, str]]] = defaultdict(list)

    def add(self, kind: str, owner: int, target: int, phrase: str, key: str) -> None:
        if kind == "b":
            self.blocked[owner].append(target)
        elif kind == "m":
            self.boards[owner].append(target)
        else:  # in the order they were muted (rows come ordered by the phrase's id)
            self.phrases[owner].append((phrase, key))

    def of(self, user_id: int) -> PersonalFilters:
        return _build(self.blocked[user_id], self.boards[user_id], self.phrases[user_id])


def for_members(user_ids: Iterable[int]) -> dict[int, PersonalFilters]:
    """Filters for many members at once, in one query whatever their number (pages pay
    for it on every request, digests once per batch)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = FilterRows()
    for kind, owner, target, _, phrase, key in db.session.execute(_FILTERS, {"ids": ids}):
        rows.add(kind, owner, target, phrase, key)
    return {user_id: rows.of(user_id) for user_id in ids}
