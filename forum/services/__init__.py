"""Every write goes through a function here: views, CLI and tests call the same ones.

Each public function is one transaction: it commits on success and rolls back
on any error, so a half-made change is never left behind.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import cast

from sqlalchemy import CursorResult
from sqlalchemy.sql.dml import UpdateBase

from ..extensions import db


class ServiceError(Exception):
    """A rule refused the change; `field` names the form field it concerns, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(ServiceError):
    pass


class StaleItem(ServiceError):
    """What a moderator acted on changed after they loaded it; nothing was applied."""


@contextmanager
def transaction():
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def rows_changed(statement: UpdateBase) -> int:
    """Run an INSERT, UPDATE or DELETE in the current transaction; how many rows it touched."""
    # Session.execute is typed as returning a Result whatever the statement; a DML
    # statement's result is a CursorResult (with no rows: nothing is RETURNING).
    result = cast("CursorResult[()]", db.session.execute(statement))
    return result.rowcount
