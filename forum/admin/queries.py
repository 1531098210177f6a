"""Read-side helpers for the admin pages: one query per page, keyset on id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from ..extensions import db
from ..models import AuditEntry, User
from ..services.accounts import username_key
from ..services.audit_actions import KNOWN_ACTIONS

PER_PAGE = 50

_Row = TypeVar("_Row", User, AuditEntry)  # the tables paged here


@dataclass(frozen=True)
class Page:
    rows: list
    # The id to pass as ?before= for the next (older) page, or None on the last page.
    before: int | None


def _page(
    query: sa.Select[_Row], column: InstrumentedAttribute[int], per_page: int, before: int | None
) -> Page:
    if before is not None:
        query = query.where(column < before)
    rows = list(db.session.scalars(query.order_by(column.desc()).limit(per_page + 1)))
    if len(rows) > per_page:
        return Page(rows[:per_page], rows[per_page - 1].id)
    return Page(rows, None)


def members(search: str = "", before: int | None = None, per_page: int = PER_PAGE) -> Page:
    """Members whose username starts with `search` (compared as usernames are:
    NFKC, case-folded), newest first."""
    query = sa.select(User)
    key = username_key(search) if search else ""
    if key:
        query = query.where(User.username_key.startswith(key, autoescape=True))
    return _page(query, User.id, per_page, before)


def audit_entries(
    action: str = "",
    actor: str = "",
    target_type: str = "",
    target_id: int | None = None,
    before: int | None = None,
    per_page: int = PER_PAGE,
) -> Page:
    """The audit log, newest first. `action` is a full action name or the start of
    one ("board." or "watched"); `actor` a username, compared as usernames are."""
    query = sa.select(AuditEntry)
    if action in KNOWN_ACTIONS:
        query = query.where(AuditEntry.action == action)  # on ix_audit_log_action
    elif action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(
            AuditEntry.actor_id
            == sa.select(User.id).where(User.username_key == username_key(actor)).scalar_subquery()
        )
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return _page(query, AuditEntry.id, per_page, before)


def pretty_json(value: dict[str, Any]) -> str:
    """An entry's before/after, indented for reading."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
