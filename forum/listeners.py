"""Attaching SQLAlchemy event listeners once per process (forum.session_hooks says when)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

#: (target, event name, listener): what sa.event.listen() takes.
Listener = tuple[Any, str, Callable[..., Any]]


def attach_once(listeners: Iterable[Listener]) -> None:
    """Attach each listener unless it already is: SQLAlchemy would call one attached
    twice twice, and a process builds many apps (a test suite, one per test)."""
    for target, event, listener in listeners:
        if not sa.event.contains(target, event, listener):
            sa.event.listen(target, event, listener)
