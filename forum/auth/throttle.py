"""Soft login throttling: after a few wrong passwords, a growing wait, never a lock-out.

Failures are counted twice: against the account named on the form (as typed,
normalised, whether or not it exists, so an unknown account is throttled exactly
as a known one is and the throttle tells nothing) and against the client's
address. Past a threshold each further failure makes the next attempt wait
twice as long as the last, up to MAX_WAIT; once the wait is over the member may
try again, and a successful login clears the account's count.

Counts live in the rate limiter's storage (memory for one process, Redis when
RATELIMIT_STORAGE_URI names it), so every app server sees the same counts. With
rate limits switched off (RATELIMIT_ENABLED=0) there is no throttle either.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import current_app, request

from ..extensions import limiter

MAX_WAIT = 15 * 60  # seconds: the longest a member is ever asked to wait
FAILURES_REMEMBERED = 24 * 3600  # a count is forgotten this long after its first failure


@dataclass(frozen=True)
class Scope:
    name: str
    free_failures: int  # failures allowed before any wait


# An address may be a household, a library or a shelter: it gets more room than one account.
ACCOUNT = Scope("account", free_failures=5)
ADDRESS = Scope("address", free_failures=20)


def clock() -> float:
    """Seconds since the epoch; tests replace it to move time on without sleeping."""
    return time.time()


def wait_after(failures: int, scope: Scope) -> int:
    """Seconds to wait before the next attempt after this many failures in a row."""
    over = failures - scope.free_failures
    if over < 0:
        return 0
    return min(2 ** (over + 1), MAX_WAIT)


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _keys(identity: str) -> list[tuple[Scope, str]]:
    """Storage keys: hashed, so no email address sits in Redis."""
    address = request.remote_addr or "unknown"
    return [
        (scope, f"kindred-login:{scope.name}:{_digest(value)}")
        for scope, value in ((ACCOUNT, identity), (ADDRESS, address))
    ]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _not_before_key(key: str, failures: int) -> str:
    # One key per failure number: concurrent failures never overwrite each other's time.
    return f"{key}:not-before:{failures}"


def seconds_to_wait(identity: str) -> int:
    """How long this client must wait before trying to log in to `identity` (0: go ahead)."""
    if not _enabled():
        return 0
    storage, now, longest = limiter.storage, clock(), 0.0
    for _scope, key in _keys(identity):
        failures = storage.get(key)
        if failures:
            not_before = storage.get(_not_before_key(key, failures))
            longest = max(longest, not_before - now)
    return min(math.ceil(longest), MAX_WAIT) if longest > 0 else 0


def record_failure(identity: str) -> int:
    """Count a wrong password; return how long the next attempt must wait."""
    if not _enabled():
        return 0
    storage, now, longest = limiter.storage, clock(), 0
    for scope, key in _keys(identity):
        failures = storage.incr(key, FAILURES_REMEMBERED)
        wait = wait_after(failures, scope)
        if wait:
            # The counter holds the moment the wait ends; it outlives the wait a little.
            storage.incr(_not_before_key(key, failures), wait + 60, amount=int(now) + wait)
            longest = max(longest, wait)
    return longest


def record_success(identities: list[str]) -> None:
    """The member proved who they are: their account starts afresh. The address keeps its
    count, or one account of an attacker's own would wipe the count of all their guesses."""
    if not _enabled():
        return
    for identity in identities:
        for scope, key in _keys(identity):
            if scope is ACCOUNT:
                limiter.storage.clear(key)


def in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
