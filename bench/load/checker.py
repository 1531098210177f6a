"""After a load run: was anything lost, doubled or answered badly? And how fast was it?

check(journal, database_url, run_id, server_log) reads the journal the Locust
users wrote (bench/load/locustfile.py) and the database, and returns a verdict:

* no answer was a 5xx, and every request was answered (no timeout, no reset);
* every write answered with success is in the database exactly once: a post
  whose marker the member saw acknowledged (302) is stored once, in the topic it
  was sent to, and a new topic's marker is in that topic's first post; a
  moderator's acknowledged decision closed that item, by that moderator, and no
  item was decided twice;
* every write that failed was refused with a clear, retryable answer: 429 or 503
  with a page that says what happened (never a traceback), and nothing of it was
  stored; a moderator's 409 (another moderator acted first) is the queue's own
  clear answer;
* the database is whole: topic and board counters equal the counts of published
  posts, every topic has its first post, no published post is empty;
* the server's log holds no traceback and no "database is locked".

Figures: requests per second, p50/p99 by page kind, answers by status.
"""

from __future__ import annotations

import html
import json
import re
import statistics
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

SUCCESS = 302
RETRYABLE = (429, 503)
CLOSING_EVENTS = ("Approve", "Reject")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
TAG = re.compile(r"<[^>]+>")
HEADING = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def read_journal(path: Path) -> tuple[list[dict], list[dict]]:
    requests, writes = [], []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        (writes if "write" in entry else requests).append(entry)
    return requests, writes


def visible_message(body: str) -> str:
    """The page's heading and text as a member reads them (empty if there is none)."""
    heading = HEADING.search(body or "")
    if heading is None:
        return ""
    text = html.unescape(TAG.sub(" ", body[heading.start() :]))
    return " ".join(text.split())[:300]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# --- the database --------------------------------------------------------------------

#: Used only where forum.services.integrity (the one home of these rules) is missing.
#: Each query counts rows that break a rule; every count must be 0.
FALLBACK_INVARIANTS = {
    "topics whose post_count is not their published posts": """
        SELECT count(*) FROM topics t WHERE t.post_count !=
          (SELECT count(*) FROM posts p WHERE p.topic_id = t.id AND p.status = 'published')""",
    "boards whose topic_count is not their published topics": """
        SELECT count(*) FROM boards b WHERE b.topic_count !=
          (SELECT count(*) FROM topics t WHERE t.board_id = b.id AND t.status = 'published')""",
    "boards whose post_count is not the published posts of their published topics": """
        SELECT count(*) FROM boards b WHERE b.post_count !=
          (SELECT count(*) FROM posts p JOIN topics t ON t.id = p.topic_id
           WHERE t.board_id = b.id AND t.status = 'published' AND p.status = 'published')""",
    "topics without a first post": """
        SELECT count(*) FROM topics t WHERE NOT EXISTS
          (SELECT 1 FROM posts p WHERE p.topic_id = t.id)""",
}
#: What a write cut short could leave that no counter shows.
HALF_WRITTEN = {
    "published posts without text": """
        SELECT count(*) FROM posts WHERE status = 'published'
          AND (body_source = '' OR body_html = '')""",
    "held posts without a review item": """
        SELECT count(*) FROM posts p WHERE p.status = 'pending' AND NOT EXISTS
          (SELECT 1 FROM review_items r WHERE r.post_id = p.id)""",
}


def _integrity():
    try:
        from forum.services import integrity
    except ImportError:
        return None
    return integrity


def _counted(connection, queries: dict[str, str]) -> list[str]:
    lines = []
    for name, query in queries.items():
        if count := connection.scalar(sa.text(query)):
            lines.append(f"{count} {name}")
    return lines


def database_problems(database_url: str) -> list[str]:
    """Every broken rule in the database: counters, first posts, half-written rows."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            lines = _counted(connection, HALF_WRITTEN)
            if _integrity() is None:
                lines += _counted(connection, FALLBACK_INVARIANTS)
    finally:
        engine.dispose()
    if (integrity := _integrity()) is not None:
        with _app_context(database_url):
            lines += [str(problem) for problem in integrity.find_problems()]
    return lines


def repair_before_load(database_url: str) -> int:
    """Fill in what the bulk seed leaves out (values integrity derives, e.g. publication
    times), so the check after the load sees only what the load did. Returns how many
    problems were repaired."""
    if (integrity := _integrity()) is None:
        return 0
    with _app_context(database_url):
        outcome = integrity.repair()
    if outcome.left:
        raise SystemExit(
            "the seeded database has problems repair cannot fix:\n"
            + "\n".join(str(problem) for problem in outcome.left[:20])
        )
    return len(outcome.found)


@contextmanager
def _app_context(database_url: str):
    """The forum's app on this database, its connections closed afterwards."""
    from forum import create_app
    from forum.extensions import db

    with create_app(
        {"SECRET_KEY": "load-check", "SQLALCHEMY_DATABASE_URI": database_url}
    ).app_context():
        try:
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


def _stored_markers(connection, run_id: str) -> dict[str, list[tuple[int, int]]]:
    """marker -> [(post id, topic id)] for every stored post carrying a marker of this run."""
    pattern = re.compile(rf"loadmark-{re.escape(run_id)}-(\d+)\b")
    stored: dict[str, list[tuple[int, int]]] = defaultdict(list)
    rows = connection.execute(
        sa.text("SELECT id, topic_id, body_source FROM posts WHERE body_source LIKE :pattern"),
        {"pattern": f"%loadmark-{run_id}-%"},
    )
    for post_id, topic_id, body in rows:
        for number in pattern.findall(body):
            stored[f"loadmark-{run_id}-{number}"].append((post_id, topic_id))
    return stored


# --- the verdict -----------------------------------------------------------------------


def check(journal: Path, database_url: str, run_id: str, server_log: str = "") -> dict:
    requests, writes = read_journal(journal)
    problems: list[str] = []

    def problem(text: str) -> None:
        if len(problems) < 200:
            problems.append(text)

    # Every answer: no 5xx, nothing unanswered, no traceback in any kept body.
    statuses = Counter(entry["status"] for entry in requests)
    for entry in requests:
        if entry["status"] >= 500 or entry["status"] == 0:
            problem(
                f"{entry['kind']}: answered {entry['status'] or 'nothing'} "
                f"{entry.get('error', '')} {visible_message(entry.get('body', ''))[:120]}"
            )
        if TRACEBACK.search(entry.get("body", "")):
            problem(f"{entry['kind']}: a traceback reached the browser")

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = _stored_markers(connection, run_id)
            outcomes = _check_posts(writes, stored, problem)
            outcomes.update(_check_decisions(connection, writes, problem))
    finally:
        engine.dispose()
    broken = database_problems(database_url)
    for line in broken:
        problem(f"database: {line}")
    for entry in writes:
        if entry["write"] == "login" and entry["status"] != SUCCESS:
            problem(f"{entry['who']} could not log in (answered {entry['status']})")
    if "Traceback" in server_log:
        problem("the server's log holds a traceback")
    if locked := server_log.count("database is locked"):
        problem(f"{locked} requests waited longer than SQLite's busy timeout (answered 503)")

    return {
        "passed": not problems and bool(requests),
        "problems": problems,
        "requests": len(requests),
        "statuses": dict(sorted(statuses.items())),
        "writes": outcomes,
        "pages": page_figures(requests),
        "requests_per_second": _rate(requests),
        "database": broken[:50],
    }


def _check_posts(writes: list[dict], stored: dict, problem) -> dict:
    outcomes: dict[str, Counter] = defaultdict(Counter)
    for entry in writes:
        if entry["write"] not in ("reply", "new topic"):
            continue
        kind, marker, status = entry["write"], entry["marker"], entry["status"]
        outcomes[kind][status] += 1
        copies = stored.get(marker, [])
        if status == SUCCESS:
            if len(copies) != 1:
                problem(f"{kind} {marker}: acknowledged, stored {len(copies)} times")
                continue
            post_id, topic_id = copies[0]
            if kind == "reply" and topic_id != entry["topic"]:
                problem(f"{marker}: sent to topic {entry['topic']}, stored in {topic_id}")
            location = entry["location"]
            if kind == "reply" and not (
                location.endswith(f"/p/{post_id}") or location.endswith(f"/t/{topic_id}#waiting")
            ):
                problem(f"{marker}: acknowledged with {location!r}, stored as post {post_id}")
            if kind == "new topic" and f"/t/{topic_id}" not in location:
                problem(f"{marker}: acknowledged with {location!r}, stored in topic {topic_id}")
        elif status in RETRYABLE:
            if copies:
                problem(f"{kind} {marker}: refused with {status} but stored {len(copies)} times")
            body = entry.get("body", "")
            if TRACEBACK.search(body) or len(visible_message(body)) < 20:
                problem(f"{kind} {marker}: {status} without a clear message")
        else:
            problem(
                f"{kind} {marker}: answered {status or 'nothing'} "
                f"{visible_message(entry.get('body', ''))[:160]} "
                f"(stored {len(copies)} times)"
            )
    return {kind: dict(sorted(counts.items())) for kind, counts in outcomes.items()}


def _check_decisions(connection, writes: list[dict], problem) -> dict:
    decisions = [entry for entry in writes if entry["write"] == "decide"]
    claims = Counter(entry["status"] for entry in writes if entry["write"] == "claim")
    for entry in writes:
        if entry["write"] == "claim" and entry["status"] != SUCCESS:
            problem(f"claim of item {entry['item']}: answered {entry['status']}")
    counts = Counter(entry["status"] for entry in decisions)
    items = sorted({entry["item"] for entry in decisions})
    state, closings = {}, Counter()
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        state.update(
            {
                row[0]: row[1:]
                for row in connection.execute(
                    sa.select(sa.column("id"), sa.column("status"), sa.column("decided_by_id"))
                    .select_from(sa.table("review_items"))
                    .where(sa.column("id").in_(chunk))
                )
            }
        )
        closings.update(
            dict(
                connection.execute(
                    sa.select(sa.column("item_id"), sa.func.count())
                    .select_from(sa.table("review_events"))
                    .where(sa.column("item_id").in_(chunk), sa.column("action").in_(CLOSING_EVENTS))
                    .group_by(sa.column("item_id"))
                ).all()
            )
        )
    moderators = dict(
        connection.execute(
            sa.text("SELECT username, id FROM users WHERE role IN ('moderator', 'admin')")
        ).all()
    )
    expected = {"approve": "approved", "reject": "rejected"}
    for entry in decisions:
        item, status = entry["item"], entry["status"]
        if status == SUCCESS:
            item_status, decided_by = state.get(item, (None, None))
            if item_status != expected[entry["action"]] or decided_by != moderators.get(
                entry["who"]
            ):
                problem(
                    f"item {item}: {entry['who']}'s {entry['action']} was acknowledged, "
                    f"the item is {item_status!r}, decided by user {decided_by}"
                )
        elif status == 409 or status in RETRYABLE:
            body = entry.get("body", "")
            if status in RETRYABLE and (TRACEBACK.search(body) or len(visible_message(body)) < 20):
                problem(f"item {item}: {status} without a clear message")
        else:
            problem(
                f"item {item}: {entry['action']} answered {status} "
                f"{visible_message(entry.get('body', ''))[:160]}"
            )
    for item, count in closings.items():
        if count > 1:
            problem(f"item {item} was decided {count} times")
    return {"decide": dict(sorted(counts.items())), "claim": dict(sorted(claims.items()))}


def _rate(requests: list[dict]) -> float:
    times = [entry["t"] for entry in requests if "t" in entry]
    if len(times) < 2:
        return float("nan")
    return len(times) / max(1e-9, max(times) - min(times))


def page_figures(requests: list[dict]) -> dict[str, dict]:
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for entry in requests:
        by_kind[entry["kind"]].append(entry)
    figures = {}
    for kind, entries in sorted(by_kind.items()):
        times = [entry["ms"] for entry in entries]
        figures[kind] = {
            "requests": len(entries),
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
            "errors": dict(
                sorted(
                    Counter(
                        entry["status"]
                        for entry in entries
                        if entry["status"] >= 400 or entry["status"] == 0
                    ).items()
                )
            ),
        }
    return figures


def render(verdict: dict, title: str) -> str:
    lines = [
        "",
        title,
        f"{verdict['requests']:,} requests, {verdict['requests_per_second']:.1f} req/s; "
        f"answers by status: {verdict['statuses']}",
        "",
        "| page kind            | requests | p50 ms | p99 ms | errors |",
        "|----------------------|---------:|-------:|-------:|--------|",
    ]
    for kind, figures in verdict["pages"].items():
        errors = ", ".join(f"{count} × {status}" for status, count in figures["errors"].items())
        lines.append(
            f"| {kind:<20} | {figures['requests']:8,} | {figures['p50_ms']:6.1f} | "
            f"{figures['p99_ms']:6.1f} | {errors or '0'} |"
        )
    lines.append("")
    for kind, counts in verdict["writes"].items():
        lines.append(f"{kind}: answers {counts}")
    lines.append("")
    if verdict["passed"]:
        lines.append(
            "CHECK PASSED: no 5xx; every acknowledged write stored exactly once; every "
            "refused write answered 429/503 with a message and not stored; counters "
            "equal the published posts; every topic has its first post."
        )
    else:
        lines.append(f"CHECK FAILED ({len(verdict['problems'])} problems):")
        lines.extend(f"  - {text}" for text in verdict["problems"][:50])
    return "\n".join(lines)
