"""What a check reports: one line per inconsistency, and whether repair can fix it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One inconsistency: a readable line, and whether repair() can fix it."""

    line: str
    repairable: bool

    def __str__(self) -> str:
        return self.line if self.repairable else f"{self.line} (cannot be repaired: {_MANUAL})"


_MANUAL = "decide by hand, or restore a backup"


def count_of(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class Check:
    """Finds problems; `fix` (if any) makes the stored values right again."""

    find: Callable[[], list[Problem]]
    fix: Callable[[], None] | None = None
