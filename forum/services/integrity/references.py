"""Rows pointing at rows that are gone, or at the wrong ones: foreign keys, review items."""

from __future__ import annotations

import sqlalchemy as sa

from ...extensions import db
from ...models import Post, ReviewItem, ReviewKind, Topic
from .problems import Problem

# --- review items ------------------------------------------------------------------------------

_POST_KINDS = (ReviewKind.HELD_POST, ReviewKind.REPORTED_POST, ReviewKind.FLAGGED_POST)


def _targetless_items():
    return sa.or_(
        sa.and_(ReviewItem.kind.in_(_POST_KINDS), ReviewItem.post_id.is_(None)),
        sa.and_(ReviewItem.kind == ReviewKind.ACCOUNT, ReviewItem.account_id.is_(None)),
    )


def find_targetless_items() -> list[Problem]:
    rows = db.session.execute(
        sa.select(ReviewItem.id, ReviewItem.kind).where(_targetless_items()).order_by(ReviewItem.id)
    )
    return [
        Problem(
            f"review item {item_id}: a {kind.replace('_', ' ')} item with nothing to "
            "review (repair removes it, as deleting its post or account would have)",
            True,
        )
        for item_id, kind in rows
    ]


def fix_targetless_items() -> None:
    db.session.execute(
        sa.delete(ReviewItem)
        .where(_targetless_items())
        .execution_options(synchronize_session=False)
    )


def _item_board():
    return (
        sa.select(Topic.board_id)
        .join(Post, Post.topic_id == Topic.id)
        .where(Post.id == ReviewItem.post_id)
        .scalar_subquery()
    )


def _misfiled_items():
    board = _item_board()
    return sa.and_(
        ReviewItem.post_id.is_not(None),
        board.is_not(None),
        sa.or_(ReviewItem.board_id.is_(None), ReviewItem.board_id != board),
    )


def find_misfiled_items() -> list[Problem]:
    rows = db.session.execute(
        sa.select(ReviewItem.id).where(_misfiled_items()).order_by(ReviewItem.id)
    )
    return [
        Problem(
            f"review item {item_id}: filed under another board than its post's topic "
            "(moderators of that board do not see it)",
            True,
        )
        for (item_id,) in rows
    ]


def fix_misfiled_items() -> None:
    db.session.execute(
        sa.update(ReviewItem)
        .where(_misfiled_items())
        .values(board_id=_item_board())
        .execution_options(synchronize_session=False)
    )


# --- rows pointing at rows that are gone ---------------------------------------------------------


def _foreign_keys():
    """Every single-column foreign key of every table, from the models' metadata, so a table
    added later is checked without a change here."""
    for table in db.metadata.sorted_tables:
        for constraint in table.foreign_key_constraints:
            if len(constraint.elements) == 1:
                yield table, constraint.elements[0]


def _dangling(table: sa.Table, key: sa.ForeignKey) -> sa.ColumnElement:
    # An alias, so that a table pointing at itself (a post quoting a post) reads right.
    parent = key.column.table.alias()
    column = key.parent
    return sa.and_(
        column.is_not(None),
        ~sa.exists().where(parent.c[key.column.name] == column).correlate(table),
    )


def _orphan_repair(key: sa.ForeignKey) -> str | None:
    """What the foreign key's ON DELETE rule would have done had the row's parent been
    deleted normally; None when the rule is to refuse (nothing can be derived)."""
    rule = (key.ondelete or "").upper()
    if rule == "CASCADE":
        return "delete"
    if rule == "SET NULL" and key.parent.nullable:
        return "set null"
    return None


def find_orphans() -> list[Problem]:
    problems = []
    for table, key in _foreign_keys():
        primary = list(table.primary_key.columns)
        rows = db.session.execute(
            sa.select(*primary, key.parent).where(_dangling(table, key)).order_by(*primary)
        )
        repair = _orphan_repair(key)
        for row in rows:
            row_id = "/".join(str(value) for value in row[:-1])
            advice = (
                ""
                if repair is None
                else {
                    "delete": " (repair removes the row)",
                    "set null": f" (repair clears {key.parent.name})",
                }.get(repair, "")
            )
            problems.append(
                Problem(
                    f"{table.name} {row_id}: {key.parent.name} points at {key.column.table.name} "
                    f"{row[-1]}, which does not exist{advice}",
                    repair is not None,
                )
            )
    return problems


def fix_orphans() -> None:
    for table, key in _foreign_keys():
        repair = _orphan_repair(key)
        if repair == "delete":
            db.session.execute(sa.delete(table).where(_dangling(table, key)))
        elif repair == "set null":
            db.session.execute(
                sa.update(table).where(_dangling(table, key)).values({key.parent.name: None})
            )
