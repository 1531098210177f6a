"""The review queue under load: 100,000 items, gunicorn -w 2, wrk as a logged-in moderator.

    .venv/bin/python -m bench.review_queue [--database-url URL] [--duration 10] [--rounds 3]
    .venv/bin/python -m bench.review_queue --explain     # query plans and timings, no load

Seeds (or reuses) a forum with 100,000 review items (bench/seed_queue.py),
starts gunicorn with 2 workers on a free 127.0.0.1 port serving the app as
shipped, logs in over HTTP (the login form, its CSRF token, POST /login) as the
admin and as a moderator of two boards, checks the pages, then drives each
queue page with `wrk -t2 -c4 --latency` carrying that session cookie (2-second
slices, the pages taking turns, 3 rounds of 10 s per page) and prints requests
per second, p50 and p99 latency and the workers' CPU time per request. The goal
is p99 under 50 ms. gunicorn is stopped at the end, whatever happens.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import common, seed_queue
from bench.common import Target

GOAL_P99_MS = 50.0
APP = "forum:create_app()"


# --- the pages -------------------------------------------------------------------------


def _waiting(body: str, label: str) -> int:
    match = re.search(rf"<dt>{label} waiting</dt><dd>(\d+)</dd>", body)
    if match is None:
        raise RuntimeError(f"no '{label} waiting' figure on the page")
    return int(match.group(1))


def check_pages(targets: dict, meta: dict, per_page: int) -> dict[str, int]:
    """Each page answers 200 with a full page of items; the figures agree with the seed."""
    sizes = {}
    for name, target in targets.items():
        path = target.path
        status, body = common.fetch(target.server.base + path, target.cookie)
        if status != 200:
            raise RuntimeError(f"{name} ({path}) answered {status}")
        sizes[name] = len(body.encode())
        rows = body.count('name="selected"')
        if rows != per_page:
            raise RuntimeError(f"{name} lists {rows} items, expected {per_page}")
        if name.startswith("admin"):  # the admin sees every board
            expected = meta["by_kind_status"].get("reported_post/pending", 0)
            if _waiting(body, "Reported posts") != expected:
                raise RuntimeError(
                    f"{name}: the page says {_waiting(body, 'Reported posts')} "
                    f"reported posts wait, the seed {expected}"
                )
        if name.startswith("mod"):
            mine = sum(
                meta["pending_by_board"].get(str(board), 0) for board in meta["moderator_boards"]
            )
            shown = sum(
                _waiting(body, label)
                for label in ("Held posts", "Reported posts", "Flagged posts", "Accounts to review")
            )
            if shown != mine:
                raise RuntimeError(
                    f"{name}: the page counts {shown} waiting items, "
                    f"the moderator's boards hold {mine}"
                )
        if "kind=reported_post" in path and body.count(">Reported post #") != per_page:
            raise RuntimeError(f"{name}: not every item listed is a reported post")
    return sizes


LABELS = {
    "admin-first": "admin: first page",
    "admin-filtered": "admin: reported, one board",
    "mod-filtered": "moderator: reported, one board",
    "mod-first": "moderator: first page",
}


def render_report(args, meta, sizes, measured, slices, elapsed, load) -> str:
    pending = meta["pending"]
    labels = {}
    for name in measured:
        page, _, app = name.partition(" ")
        labels[name] = f"{LABELS[page]}, {app}" if app else LABELS[page]
    width = max(len("page"), *(len(label) for label in labels.values()))
    lines = [
        "",
        f"Kindred review queue benchmark, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, database: {common.backend(args.database_url)}",
        f"Seed: {meta['items']:,} review items ({pending:,} pending), {meta['posts']:,} posts, "
        f"{meta['topics']:,} topics, {meta['boards']} boards, {meta['users']:,} members; "
        f"moderator {meta['moderator']} of boards {meta['moderator_boards']}; "
        f"filter board {meta['filter_board']} has {meta['filter_board_pending_reported']:,} "
        "pending reported posts",
        f"Server: gunicorn --workers {common.WORKERS} (sync) on 127.0.0.1 serving "
        f"{', '.join(args.app or [APP])}; load: wrk -t{args.threads} -c{args.connections} "
        f"-d{args.slice}s --latency with the session cookie, pages taking turns, "
        f"{args.rounds} x {args.duration}s per page after {args.warmup}s warm-up; "
        "p50/p99 the median of the slices",
        "",
        f"| {'page':<{width}} |  bytes | req/s | p50 ms | p99 ms | worst slice p99 "
        "| server CPU ms/req |",
        f"|{'-' * (width + 2)}|-------:|------:|-------:|-------:|----------------:"
        "|------------------:|",
    ]
    for name, result in measured.items():
        worst = max(r.p99_ms for r in slices[name])
        lines.append(
            f"| {labels[name]:<{width}} | {sizes[name]:>6,} | {result.rps:>5.0f} | "
            f"{result.p50_ms:>6.2f} | {result.p99_ms:>6.2f} | {worst:>15.2f} "
            f"| {result.cpu_ms:>17.2f} |"
        )
    worst_p99 = max(result.p99_ms for result in measured.values())
    lines += [
        "",
        f"Highest p99: {worst_p99:.2f} ms (goal < {GOAL_P99_MS:.0f} ms): "
        f"{'MET' if worst_p99 < GOAL_P99_MS else 'MISSED'}",
        f"Total time {elapsed:.0f}s. 1-minute load average {load[0]:.1f} before the run, "
        f"{load[1]:.1f} at its end.",
    ]
    return "\n".join(lines)


# --- query plans -------------------------------------------------------------------------


def explain(url: str, meta: dict, repeat: int) -> None:
    """Every statement the queue page runs, for each viewer: its time and its plan."""
    import sqlalchemy as sa
    from flask_login import login_user

    from forum import create_app
    from forum.extensions import db
    from forum.models import User
    from forum.moderation import queue

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    cases = [
        ("admin", meta["admin"], {}),
        ("admin", meta["admin"], {"kind": "reported_post", "board_id": meta["filter_board"]}),
        (
            "moderator",
            meta["moderator"],
            {"kind": "reported_post", "board_id": meta["filter_board"]},
        ),
        ("moderator", meta["moderator"], {}),
    ]
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    with app.test_request_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        seen_numbers = set()
        for who, username, filters in cases:
            user = db.session.scalar(sa.select(User).where(User.username == username))
            login_user(user)
            per_page = app.config["REVIEW_ITEMS_PER_PAGE"]
            parts = {
                "queue_page": functools.partial(queue.queue_page, user, per_page, **filters),
                "queue_numbers": functools.partial(queue.queue_numbers, user),
            }
            for part, call in parts.items():
                if part == "queue_numbers" and who in seen_numbers:
                    continue  # the same statements for every page a viewer sees
                call()  # warm caches (ORM, statement cache, moderated_board_ids)
                timings = []
                for _ in range(repeat):
                    db.session.expire_all()
                    started = time.perf_counter()
                    call()
                    timings.append((time.perf_counter() - started) * 1000)
                captured.clear()
                sa.event.listen(engine, "before_cursor_execute", capture)
                try:
                    db.session.expire_all()
                    call()
                finally:
                    sa.event.remove(engine, "before_cursor_execute", capture)
                print(
                    f"\n=== {who} {filters or '(no filter)'}: {part}() "
                    f"median {statistics.median(timings):.2f} ms in-process "
                    f"(of {repeat}), {len(captured)} statements"
                )
                with engine.connect() as conn:
                    for statement, parameters in captured:
                        if not statement.lstrip().upper().startswith("SELECT"):
                            continue
                        times = []
                        for _ in range(repeat):
                            started = time.perf_counter()
                            conn.exec_driver_sql(statement, parameters).fetchall()
                            times.append((time.perf_counter() - started) * 1000)
                        print(
                            f"\n--- {statistics.median(times):.2f} ms (SQL only, median)\n"
                            f"{statement}\n{parameters}"
                        )
                        prefix = (
                            "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
                        )
                        for row in conn.exec_driver_sql(prefix + statement, parameters):
                            print("   ", " | ".join(str(value) for value in row))
            seen_numbers.add(who)
        db.session.remove()
        engine.dispose()


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{seed_queue.DEFAULT_SQLITE}",
        help="SQLite (default bench/queue.db) or postgresql+psycopg://…/bench "
        "(the database is wiped: its name must contain 'bench')",
    )
    common.add_load_arguments(parser)
    parser.add_argument("--reseed", action="store_true", help="seed again even if reusable")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--app",
        action="append",
        help=f"WSGI app to serve (default {APP}); give it more than once to "
        "measure several side by side, their slices taking turns (to try "
        "a change: a module on PYTHONPATH that patches the app)",
    )
    parser.add_argument(
        "--pages",
        default=",".join(LABELS),
        help=f"pages to measure, of {','.join(LABELS)} (default all)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each queue statement's time and plan instead of loading",
    )
    parser.add_argument("--repeat", type=int, default=20, help="timings per statement (--explain)")
    for field, default in seed_queue.Params.__dataclass_fields__.items():
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            type=int,
            default=default.default,
            help=f"seed parameter (default {default.default:,})",
        )
    args = parser.parse_args()
    instance = common.prepare_run(args.database_url, "kindred-queue-bench-", wrk=not args.explain)
    params = seed_queue.Params(
        **{field: getattr(args, field) for field in seed_queue.Params.__dataclass_fields__}
    )
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    meta = seed_queue.ensure_seeded(args.database_url, params, force=args.reseed)
    if args.explain:
        explain(args.database_url, meta, args.repeat)
        return 0

    board = meta["filter_board"]
    env = common.server_env()
    apps = args.app or [APP]
    pages = [page for page in args.pages.split(",") if page]
    if unknown := set(pages) - set(LABELS):
        raise SystemExit(f"unknown pages: {', '.join(sorted(unknown))}")
    running: list[common.Server] = []
    try:
        servers = {}
        for app in apps:
            label = "" if len(apps) == 1 else "as shipped" if app == APP else app.split(":")[0]
            servers[label] = common.Server(env, instance / f"gunicorn-{len(running)}.log", app=app)
            running.append(servers[label])
        for server in running:
            server.wait_ready("/")
        # One SECRET_KEY for all: a session cookie from one server is good on the others.
        first = running[0]
        admin = common.login(first.base, meta["admin"], meta["password"])
        moderator = common.login(first.base, meta["moderator"], meta["password"])
        filtered = f"/review?kind=reported_post&board={board}"
        paths = {
            "admin-first": ("/review", admin),
            "admin-filtered": (filtered, admin),
            "mod-filtered": (filtered, moderator),
            "mod-first": ("/review", moderator),
        }
        targets = {
            f"{page} {label}".strip(): Target(server, *paths[page])
            for page in pages
            for label, server in servers.items()
        }
        sizes = check_pages(targets, meta, per_page=25)
        print("Checked: every page lists 25 items; the waiting figures agree with the seed.")
        measured, slices = common.measure_interleaved(targets, args, width=24)
    finally:
        for server in running:
            server.stop()

    load = (load_before, os.getloadavg()[0])
    print(render_report(args, meta, sizes, measured, slices, time.perf_counter() - started, load))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "meta": meta,
                    "sizes": sizes,
                    "database": common.backend(args.database_url),
                    "date": f"{datetime.now(UTC):%Y-%m-%d}",
                    "cores": os.cpu_count(),
                    "load": load,
                    "results": {name: vars(result) for name, result in measured.items()},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
