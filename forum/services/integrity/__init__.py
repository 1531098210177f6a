"""Checking the database against its own rules, and repairing what can be derived.

Kindred keeps some facts twice for speed (forum.models): topic and board counters,
the last-post times boards and topics are sorted by, a topic's status (that of its
first post), a review item's board. The services keep them right in the same
transaction as every change; a crash, a hand-edited row or a bug can still leave
them wrong, and a row can be left pointing at one that is gone (SQLite does not
enforce foreign keys when they were switched off, and restores can be partial).

`find_problems()` lists every inconsistency; `repair()` fixes, in one transaction,
what the other rows determine (counters, times, statuses, and what a foreign key's
ON DELETE rule says should have happened to a row whose parent is gone) and lists
the rest for a person to decide. Every check is one query over a whole table, so a
check costs the same handful of statements on a forum of any size.

Lines name rows by id only, never by their text: pending or hidden words stay out of
terminals and logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...extensions import db
from ...models.revisions import move_on_every_topic
from .. import transaction
from . import counters, references, statuses
from .problems import Check, Problem

__all__ = ["Problem", "Repair", "find_problems", "repair"]

# Order matters for repair: rows that are gone first, then each topic's first post, then
# statuses (read from that post), then what is counted.
_CHECKS = (
    Check(references.find_orphans, references.fix_orphans),
    Check(references.find_targetless_items, references.fix_targetless_items),
    Check(references.find_misfiled_items, references.fix_misfiled_items),
    Check(statuses.find_first_posts, statuses.fix_first_posts),
    Check(statuses.find_topic_statuses, statuses.fix_topic_statuses),
    Check(counters.find_unstamped_posts, counters.fix_unstamped_posts),
    Check(counters.find_topic_counts, counters.fix_topic_counts),
    Check(counters.find_board_counts, counters.fix_board_counts),
    Check(counters.find_topic_times, counters.fix_topic_times),
    Check(counters.find_board_times, counters.fix_board_times),
    Check(statuses.find_queue_counts, statuses.fix_queue_counts),
    Check(statuses.find_unscheduled_digests, statuses.fix_unscheduled_digests),
)


def find_problems() -> list[Problem]:
    """Every inconsistency in the database, in a stable order; changes nothing."""
    try:
        return [problem for check in _CHECKS for problem in check.find()]
    finally:
        db.session.rollback()  # end the read transaction: nothing was written


@dataclass(frozen=True)
class Repair:
    found: list[Problem]  # what was wrong before the repair
    left: list[Problem]  # what is still wrong after it (what could not be derived)

    @property
    def repaired(self) -> list[Problem]:
        return [problem for problem in self.found if problem.repairable]


def repair() -> Repair:
    """Fix everything that can be derived, in one transaction; report the rest.

    The found problems are re-checked inside the same transaction after fixing, so
    `left` is what the database holds now, not a guess.
    """
    with transaction():
        found = [problem for check in _CHECKS for problem in check.find()]
        for check in _CHECKS:
            if check.fix is not None and any(problem.repairable for problem in check.find()):
                check.fix()
        if any(problem.repairable for problem in found):
            # The fixes are bulk statements the revision hook does not see: no kept copy
            # of a page (forum.page_cache) may outlive what it was made from.
            move_on_every_topic()
        db.session.flush()
        left = [problem for check in _CHECKS for problem in check.find()]
    return Repair(found=found, left=left)
