"""The audit log: every moderator and admin action, written in the same
transaction as the action itself, so the log and the data cannot disagree.

There is deliberately no function to change or remove an entry.
"""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import AuditEntry, User


def snapshot(instance, *fields: str) -> dict[str, Any]:
    """The named attributes of a model, as JSON-friendly values, for before/after."""
    values = {}
    for name in fields:
        value = getattr(instance, name)
        values[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return values


#: Who the log names for changes made on the command line, outside the site.
OPERATOR = "(operator)"


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> None:
    """Add an entry to the current transaction (the caller commits).

    `actor` is None for an operator's command-line change.
    """
    db.session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            actor_name=actor.username if actor else OPERATOR,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before or {},
            after=after or {},
            reason=reason[:1000],
        )
    )


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the values that differ, for an update's entry."""
    changed = [name for name in after if before.get(name) != after[name]]
    return {name: before.get(name) for name in changed}, {name: after[name] for name in changed}


def record_save(
    actor: User | None, target_type: str, instance, before: dict | None, fields: tuple[str, ...]
) -> None:
    """After creating (before=None) or changing a settings row: "<type>.create" with its
    values, or "<type>.update" with only what changed (nothing if nothing did)."""
    db.session.flush()
    after = snapshot(instance, *fields)
    if before is None:
        record(actor, f"{target_type}.create", target_type, instance.id, after=after)
    elif before != after:
        old, new = changes(before, after)
        record(actor, f"{target_type}.update", target_type, instance.id, before=old, after=new)


def record_delete(actor: User | None, target_type: str, instance, fields: tuple[str, ...]) -> None:
    """Record "<type>.delete" with the row's values, then delete it (same transaction)."""
    record(
        actor, f"{target_type}.delete", target_type, instance.id, before=snapshot(instance, *fields)
    )
    db.session.delete(instance)
