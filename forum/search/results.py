"""Searching: one page of results, in two statements whatever the number of matches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from markupsafe import Markup

from ..extensions import db
from ..models import Board, Post, Topic, User
from ..queries import published_in_published_topic
from .ranking import ranked_ids
from .schema import entries, entry_key
from .words import excerpt, fold, plain_text, terms

#: How many words of a query are used; the rest are left out (and the page says so).
MAX_TERMS = 10


@dataclass(frozen=True)
class Result:
    post_id: int
    topic_id: int
    title: str
    board_name: str
    board_slug: str
    author_name: str | None  # None: a former member
    created_at: object
    content_warning: str | None
    excerpt: Markup
    muted_phrase: str | None


@dataclass(frozen=True)
class ResultsPage:
    terms: list[str]
    results: list[Result]
    page: int
    has_next: bool
    terms_dropped: bool  # the query had more than MAX_TERMS words


def search(
    query: str,
    filters,
    *,
    board_id: int | None = None,
    excluded_board_ids: Iterable[int] = (),
    page: int = 1,
    per_page: int = 20,
) -> ResultsPage:
    """One page of findable posts matching every word of `query`, best first, then
    newest: in one board, or in all but the excluded ones. Two statements whatever the
    number of matches.

    The caller excludes the boards the viewer may not read and those they muted;
    `filters` (forum.personal_filters) leaves out members they blocked, and names a
    muted phrase a result contains so the page can fold it.
    """
    words = terms(query)
    dropped = len(words) > MAX_TERMS
    words = words[:MAX_TERMS]
    if not words:
        return ResultsPage(words, [], page, False, dropped)
    dialect = db.session.get_bind().dialect.name
    ranked = ranked_ids(
        dialect, words, board_id, sorted(set(excluded_board_ids)), sorted(filters.blocked_ids)
    )
    ids = list(db.session.scalars(ranked.offset((page - 1) * per_page).limit(per_page + 1)))
    has_next = len(ids) > per_page
    ids = ids[:per_page]
    if not ids:
        return ResultsPage(words, [], page, False, dropped)
    rows = _rows_of(dialect, ids)
    folded = {fold(word) for word in words}
    results = [
        _result(row, folded, filters)
        for row in (rows.get(post_id) for post_id in ids)
        if row is not None
    ]
    return ResultsPage(words, results, page, has_next, dropped)


def _rows_of(dialect: str, ids: list[int]) -> dict[int, sa.Row]:
    """What a result shows of these posts, by id."""
    key = entry_key(dialect)
    query = (
        sa.select(
            Post.id,
            Post.topic_id,
            Topic.title,
            Board.name,
            Board.slug,
            sa.case((User.erased_at.is_(None), User.username), else_=None),
            Post.created_at,
            Post.content_warning,
            Post.body_html,
        )
        .select_from(entries)
        .join(Post, Post.id == key)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Board, Board.id == Topic.board_id)
        .outerjoin(User, User.id == Post.author_id)
        # Checked again: the index never holds anything else, and this says so.
        .where(key.in_(ids), published_in_published_topic())
    )
    return {row[0]: row for row in db.session.execute(query)}


def _result(row: sa.Row, folded_terms: set[str], filters) -> Result:
    text = plain_text(row[8])
    return Result(
        post_id=row[0],
        topic_id=row[1],
        title=row[2],
        board_name=row[3],
        board_slug=row[4],
        author_name=row[5],
        created_at=row[6],
        content_warning=row[7],
        excerpt=excerpt(text, folded_terms),
        muted_phrase=filters.muted_phrase_in(row[2], row[7], text),
    )
