"""The crisis helplines listed on "Get help now"."""

from __future__ import annotations

from ..content import clean_single_line
from ..extensions import db
from ..helplines import DEFAULT_HELPLINES
from ..models import Helpline, User
from . import ServiceError, audit, transaction
from .admin import column_length, require_admin

FIELDS = ("name", "region", "contact", "url", "description")
AUDITED = (*FIELDS, "position")


def save(actor: User, helpline: Helpline | None, data: dict) -> Helpline:
    require_admin(actor)
    values = {field: clean_single_line(data.get(field) or "") for field in FIELDS}
    # Checked after cleaning: Unicode normalisation can lengthen text.
    for field, value in values.items():
        limit = column_length(Helpline.__table__, field)
        if len(value) > limit:
            raise ServiceError(f"Keep this to {limit} characters or fewer.", field=field)
    with transaction():
        if helpline is None:
            helpline = Helpline()
            db.session.add(helpline)
            before = None
        else:
            before = audit.snapshot(helpline, *AUDITED)
        for field, value in values.items():
            setattr(helpline, field, value)
        helpline.position = data.get("position") or 0
        audit.record_save(actor, "helpline", helpline, before, AUDITED)
    return helpline


def delete(actor: User, helpline: Helpline) -> None:
    require_admin(actor)
    with transaction():
        audit.record_delete(actor, "helpline", helpline, AUDITED)


def default_rows() -> list[dict]:
    return [dict(row, position=index) for index, row in enumerate(DEFAULT_HELPLINES)]
