"""One shape for rows about a viewer, so that what a page needs to know about them can be
asked in a single statement (a UNION ALL of parts).

A member's topic page needs their blocks and mutes, their reactions on the page's posts,
whether they follow the topic, how many notices they have not read and whether they
have posts waiting in it. Each of those rules stays in its own module (personal
filters, reactions, follows, notices, the review queue), which builds its part in this
shape; forum.boards.member_facts joins the parts. Asked one by one, the statements'
own overhead in SQLAlchemy cost more than the database's work.

The shape: `kind` (one letter naming the part), three integers `a`, `b`, `c` and two
strings `s1`, `s2`; each part says what its columns hold.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

COLUMNS = ("kind", "a", "b", "c", "s1", "s2")


def row(
    kind: str, a: Any = None, b: Any = None, c: Any = None, s1: Any = None, s2: Any = None
) -> list[sa.ColumnElement[Any]]:
    """The select list of one part: missing values are typed NULLs (PostgreSQL needs the
    types to match across a UNION)."""
    values = (
        sa.literal(kind, sa.String),
        _or_null(a, sa.Integer),
        _or_null(b, sa.Integer),
        _or_null(c, sa.Integer),
        _or_null(s1, sa.String),
        _or_null(s2, sa.String),
    )
    return [value.label(name) for value, name in zip(values, COLUMNS, strict=True)]


def _or_null(value: Any, kind: type[sa.types.TypeEngine]) -> sa.ColumnElement[Any]:
    if value is None:
        return sa.null().cast(kind)
    # A column or expression as it is; a plain value as a bound literal.
    return sa.literal(value) if isinstance(value, int | str) else value
