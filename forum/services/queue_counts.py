"""How many review items wait, per board and kind, kept as items change.

The queue's numbers ("held posts waiting: 312") used to be a COUNT(*) over every
waiting item on each view of the queue, most of the page's time on a large forum
(bench/README.md, "Review queue"). `review_queue_counts` holds them instead:

* every ORM change to a review item (a new item, a decision, a reopened item, a
  withdrawn post, an item deleted) is counted by the before_flush hook below, in
  the same flush and so the same transaction (and savepoint) as the change: a
  rolled-back change rolls its count back too. Old values are read from the
  item's row (locked by the service that changes it), never from what the session
  remembers, which a bulk UPDATE may have left behind;
* a service that changes items with a bulk statement (moving a topic moves its
  items to the new board) calls adjust() itself;
* `forum check` compares the table with a COUNT(*) of the items and repairs it
  (forum.services.integrity).

Deltas are applied in key order, so two transactions never lock two count rows in
opposite orders within one flush.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..listeners import Listener, attach_once
from ..models import ReviewItem, ReviewQueueCount, ReviewStatus

#: board_key of items with no board (accounts to review).
NO_BOARD = 0

_COUNTED = ("status", "board_id", "kind")


def board_key(board_id: int | None) -> int:
    return NO_BOARD if board_id is None else board_id


def adjust(session: Session, deltas: Mapping[tuple[int | None, str], int]) -> None:
    """Add each delta to the count of its (board id or None, kind), in this transaction."""
    keyed: Counter = Counter()
    for (board_id, kind), delta in deltas.items():
        keyed[(board_key(board_id), str(kind))] += delta
    connection = session.connection()
    table = ReviewQueueCount.__table__
    assert isinstance(table, sa.Table)  # a declarative __table__ is typed as any FromClause
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for (key, kind), delta in sorted(keyed.items()):
        if delta == 0:
            continue
        statement = insert(table).values(board_key=key, kind=kind, waiting=delta)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.board_key, table.c.kind],
                set_={"waiting": table.c.waiting + statement.excluded.waiting},
            )
        )


def _new_value(item: ReviewItem, name: str, stored):
    """What the flush will leave in the column: the value set, or the row's own."""
    added = sa.inspect(item).attrs[name].history.added
    if not added:
        return stored
    value = added[0]
    if isinstance(value, sa.ClauseElement):
        raise RuntimeError(
            f"review item {name} set to an SQL expression: the queue's counts "
            "cannot follow it; set a value, or call queue_counts.adjust()"
        )
    return value


def _count_item_changes(session: Session, flush_context, instances) -> None:
    deltas: Counter = Counter()
    for item in session.new:
        if (
            isinstance(item, ReviewItem)
            and (item.status or ReviewStatus.PENDING) == ReviewStatus.PENDING
        ):
            board_id = (
                item.board_id if item.board_id is not None or item.board is None else item.board.id
            )
            deltas[(board_id, item.kind)] += 1
    changed = [
        item
        for item in session.dirty
        if isinstance(item, ReviewItem)
        and item.id is not None
        and any(sa.inspect(item).attrs[name].history.has_changes() for name in _COUNTED)
    ]
    gone = [item for item in session.deleted if isinstance(item, ReviewItem)]
    if changed or gone:
        ids = sorted({item.id for item in (*changed, *gone)})
        query = sa.select(
            ReviewItem.id, ReviewItem.status, ReviewItem.board_id, ReviewItem.kind
        ).where(ReviewItem.id.in_(ids))
        if session.connection().dialect.name == "postgresql":
            query = query.with_for_update()  # already locked by the services; to be sure
        stored = {row.id: row for row in session.connection().execute(query)}
        for item in changed:
            row = stored.get(item.id)
            if row is None:
                continue
            if row.status == ReviewStatus.PENDING:
                deltas[(row.board_id, row.kind)] -= 1
            status, board_id, kind = (
                _new_value(item, name, getattr(row, name)) for name in _COUNTED
            )
            if status == ReviewStatus.PENDING:
                deltas[(board_id, kind)] += 1
        for item in gone:
            row = stored.get(item.id)
            if row is not None and row.status == ReviewStatus.PENDING:
                deltas[(row.board_id, row.kind)] -= 1
    if deltas:
        adjust(session, deltas)


LISTENERS: tuple[Listener, ...] = ((Session, "before_flush", _count_item_changes),)


def attach_listeners() -> None:
    """Called by forum.session_hooks; a second call adds nothing."""
    attach_once(LISTENERS)


def actual_counts(session: Session) -> dict[tuple[int, str], int]:
    """COUNT(*) of the waiting items per (board_key, kind): what the table must hold."""
    key = sa.func.coalesce(ReviewItem.board_id, NO_BOARD)
    return {
        (board, kind): count
        for board, kind, count in session.execute(
            sa.select(key, ReviewItem.kind, sa.func.count())
            .where(ReviewItem.status == ReviewStatus.PENDING)
            .group_by(key, ReviewItem.kind)
        )
    }


def stored_counts(session: Session) -> dict[tuple[int, str], int]:
    return {
        (row.board_key, row.kind): row.waiting
        for row in session.execute(
            sa.select(ReviewQueueCount.board_key, ReviewQueueCount.kind, ReviewQueueCount.waiting)
        )
    }
