"""Ranking: a page of matching post ids, best first, read from the index alone.

Best first is bm25 (SQLite) or ts_rank (PostgreSQL), title words weighing more than
body words; then newest. The newest CANDIDATES matches (as many as the pages can show)
are ranked, not every match of a common word: ranking tens of thousands (ts_rank reads
each one's whole tsvector) cost ten times as much, and ranking never joins other tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import TABLE, entries
from .words import fold

#: A search ranks the newest this many matches: as many as its pages can show (25 of 20).
#: Ranking every match of a common word (tens of thousands) costs ten times as much.
CANDIDATES = 500


def ranked_ids(
    dialect: str,
    words: list[str],
    board_id: int | None,
    excluded_board_ids: list[int],
    blocked_ids: list[int],
) -> sa.Select:
    """Post ids matching every word, in the board (or not in the excluded ones), not by
    blocked members: the newest CANDIDATES of them (ids follow time), best first, then
    newest. Only the index is read: no join, no text carried along."""
    if dialect == "sqlite":
        return _sqlite_ranked_ids(words, board_id, excluded_board_ids, blocked_ids)
    return _postgresql_ranked_ids(words, board_id, excluded_board_ids, blocked_ids)


def _any_of(column: str, tokens: list[str]) -> str:
    return f"{column} : (" + " OR ".join(f'"{token}"' for token in tokens) + ")"


def _fts5_expression(
    words: list[str], board_id: int | None, excluded_board_ids: list[int], blocked_ids: list[int]
) -> str:
    # Each word a quoted string: FTS5 reads it as a word, never as syntax. The
    # filters are ours: tokens made of a letter and an id. The words are matched
    # in title and body only: else "b12" would list a board and "m7" a member's
    # posts (even one who hides them on their profile).
    expression = (
        "({title body} : (" + " ".join('"' + word.replace('"', '""') + '"' for word in words) + "))"
    )
    if board_id is not None:
        expression = f"({expression} AND {_any_of('board', [f'b{board_id}'])})"
    if excluded_board_ids:
        boards = [f"b{number}" for number in excluded_board_ids]
        expression = f"({expression} NOT {_any_of('board', boards)})"
    if blocked_ids:
        members = [f"m{number}" for number in blocked_ids]
        expression = f"({expression} NOT {_any_of('author', members)})"
    return expression


def _sqlite_ranked_ids(
    words: list[str], board_id: int | None, excluded_board_ids: list[int], blocked_ids: list[int]
) -> sa.Select:
    key = entries.c.rowid
    expression = _fts5_expression(words, board_id, excluded_board_ids, blocked_ids)
    match = sa.literal_column(TABLE).op("MATCH")(expression)
    # Title words weigh more than body words (bm25 is lower for better).
    relevance = sa.func.bm25(sa.literal_column(TABLE), 4.0, 1.0, 0.0, 0.0)
    candidates = (
        sa.select(key.label("id"), relevance.label("relevance"))
        .select_from(entries)
        .where(match)
        .order_by(key.desc())
        .limit(CANDIDATES)
        .subquery()
    )
    return sa.select(candidates.c.id).order_by(candidates.c.relevance, candidates.c.id.desc())


def _postgresql_ranked_ids(
    words: list[str], board_id: int | None, excluded_board_ids: list[int], blocked_ids: list[int]
) -> sa.Select:
    key = entries.c.post_id
    query = sa.func.plainto_tsquery(
        sa.literal_column("'simple'::regconfig"), " ".join(fold(word) for word in words)
    )
    where: list[sa.ColumnElement[bool]] = [entries.c.document.op("@@")(query)]
    if board_id is not None:
        where.append(entries.c.board_id == board_id)
    if excluded_board_ids:
        where.append(entries.c.board_id.not_in(excluded_board_ids))
    if blocked_ids:
        where.append(sa.or_(entries.c.author_id.is_(None), entries.c.author_id.not_in(blocked_ids)))
    candidates = (
        sa.select(key, entries.c.document)
        .select_from(entries)
        .where(*where)
        .order_by(key.desc())
        .limit(CANDIDATES)
        .subquery()
    )
    return sa.select(candidates.c.post_id.label("id")).order_by(
        sa.func.ts_rank(candidates.c.document, query).desc(), candidates.c.post_id.desc()
    )
