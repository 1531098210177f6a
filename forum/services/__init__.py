"""Every write goes through a function here: views, CLI and tests call the same ones.

Each public function is one transaction: it commits on success and rolls back
on any error, so a half-made change is never left behind.
"""

from __future__ import annotations

from contextlib import contextmanager

from ..extensions import db


class ServiceError(Exception):
    """A rule refused the change; `field` names the form field it concerns, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(ServiceError):
    pass


@contextmanager
def transaction():
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
