"""/search: find published posts by their words."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from .. import permissions
from .. import search as index
from ..access import PUBLIC, access
from ..extensions import db, limiter
from ..http import parse_id
from ..models import Board
from ..personal_filters import NO_FILTERS, for_member

bp = Blueprint("search", __name__)

#: Searching costs more than reading a page; a person does not search twice a second.
SEARCH_LIMIT = "30 per minute;300 per hour"
PER_PAGE = 20
#: Deeper than this, a search should be narrowed (a board, another word) rather than paged:
#: only the newest CANDIDATES matches are ranked.
MAX_PAGE = index.CANDIDATES // PER_PAGE


def _search_key() -> str:
    """Members are counted each on their own, visitors by address."""
    if current_user.is_authenticated:
        return f"member:{current_user.id}"
    return request.remote_addr or "unknown"


def _nothing_asked() -> bool:
    return not (request.args.get("q") or "").strip()


@bp.route("/search")
@access(PUBLIC)
@limiter.limit(SEARCH_LIMIT, key_func=_search_key, exempt_when=_nothing_asked)
def search():
    query = (request.args.get("q") or "")[: index.MAX_QUERY_CHARS]
    filters = for_member(current_user.id) if current_user.is_authenticated else NO_FILTERS
    every_board = list(db.session.scalars(db.select(Board).order_by(Board.position, Board.id)))
    # Left out of the search: boards the viewer may not read, and those they muted.
    excluded = {
        board.id
        for board in every_board
        if not permissions.can_read_board(current_user, board) or filters.has_muted_board(board.id)
    }
    boards = [board for board in every_board if board.id not in excluded]
    slug = request.args.get("board") or ""
    board = next((board for board in boards if board.slug == slug), None)
    page = min(parse_id(request.args.get("page")) or 1, MAX_PAGE)
    results = None
    if query.strip():
        results = index.search(
            query,
            filters,
            board_id=board.id if board else None,
            excluded_board_ids=excluded,
            page=page,
            per_page=PER_PAGE,
        )
    return render_template(
        "search/results.html",
        query=query,
        boards=boards,
        board=board,
        results=results,
        max_page=MAX_PAGE,
        max_chars=index.MAX_QUERY_CHARS,
        max_terms=index.MAX_TERMS,
    )
