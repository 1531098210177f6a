"""What a member's topic or board page needs to know about them, asked in one statement.

Their blocks and mutes, which of the page's board and topics they follow, how many
notices they have not read; on a topic's page also their reactions on its posts (and
the counts on their own) and whether posts of theirs wait for a moderator in it. Each
rule stays with its own module, which builds its part in forum.viewer_rows' shape; this
module only joins the parts and sorts the rows back out. Asked one by one, the
statements' overhead in SQLAlchemy cost more than the database's work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..models import User
from ..moderation import queue
from ..personal_filters import FilterRows, PersonalFilters, filter_parts
from ..services import follows, notices, reactions
from ..services.follows import FollowState
from ..services.reactions import ReactionState
from .threads import ThreadPage


@dataclass(frozen=True)
class MemberFacts:
    filters: PersonalFilters
    follows: FollowState
    unread_notices: int
    reactions: ReactionState = field(default_factory=ReactionState)
    waiting_posts: int = 0


def _statement(*parts: sa.Select) -> sa.StatementLambdaElement:
    parts = (*filter_parts(one_member=True), notices.unread_part(), *parts)
    union = sa.union_all(*parts).subquery()
    # Muted phrases (kind "p") in the order they were muted: `b` is their id.
    statement = sa.select(union).order_by(union.c.kind, union.c.b)
    # Built once, bind parameters only. A lambda statement is found in SQLAlchemy's cache
    # by where it was written, not by comparing the whole union each time.
    return sa.lambda_stmt(lambda: statement)


_TOPIC_PAGE = _statement(
    follows.page_part(one_topic=True), reactions.page_part(), queue.waiting_part()
)
_BOARD_PAGE = _statement(follows.page_part())


class _Rows:
    """Gathers the rows of a page's statement by part."""

    def __init__(self, user: User, statement: sa.StatementLambdaElement, parameters: dict) -> None:
        parameters = {**parameters, "user_id": user.id}
        self.filters = FilterRows()
        self.reactions: list[tuple] = []
        self.follows: list[tuple[int | None, int | None]] = []
        self.counts = {"n": 0, "w": 0}
        rows = db.session.connection().execute(statement, parameters).all()
        for kind, a, b, c, s1, s2 in rows:
            if kind == "r":
                self.reactions.append((a, b, c, s1))
            elif kind == "f":
                self.follows.append((a, b))
            elif kind in self.counts:
                self.counts[kind] = a
            else:
                self.filters.add(kind, a, b, s1, s2)


def for_topic_page(user: User, thread: ThreadPage) -> MemberFacts:
    topic = thread.topic
    parameters = {
        **reactions.page_parameters(user, topic.id, thread.posts),
        "board_id": None,
        "author_id": user.id,
    }
    rows = _Rows(user, _TOPIC_PAGE, parameters)
    return MemberFacts(
        filters=rows.filters.of(user.id),
        follows=follows.state_from(rows.follows),
        unread_notices=rows.counts["n"],
        reactions=reactions.state_from(user, topic, thread.posts, rows.reactions),
        waiting_posts=rows.counts["w"],
    )


def for_board_page(user: User, board_id: int, topic_ids: Sequence[int]) -> MemberFacts:
    parameters = {"board_id": board_id, "topic_ids": list(topic_ids)}
    rows = _Rows(user, _BOARD_PAGE, parameters)
    return MemberFacts(
        filters=rows.filters.of(user.id),
        follows=follows.state_from(rows.follows),
        unread_notices=rows.counts["n"],
    )
