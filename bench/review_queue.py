"""The review queue under load: 100,000 items, gunicorn -w 2, wrk as a logged-in moderator.

    .venv/bin/python bench/review_queue.py [--database-url URL] [--duration 10] [--rounds 3]
    .venv/bin/python bench/review_queue.py --explain     # query plans and timings, no load

Seeds (or reuses) a forum with 100,000 review items (bench/seed_queue.py),
starts gunicorn with 2 workers on a free 127.0.0.1 port serving the app as
shipped, logs in over HTTP (the login form, its CSRF token, POST /login) as the
admin and as a moderator of two boards, checks the pages, then drives each
queue page with `wrk -t2 -c4 --latency` carrying that session cookie (2-second
slices, the pages taking turns, 3 rounds of 10 s per page) and prints requests
per second, p50 and p99 latency and the workers' CPU time per request. The goal
is p99 under 50 ms. gunicorn is stopped at the end, whatever happens.

(Not named queue.py: bench/ is on sys.path here and in gunicorn, where a
queue.py would shadow the standard library's `queue`.) See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import html
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run  # noqa: E402  (gunicorn, wrk output, aggregation: shared with the page benchmark)
import seed_queue  # noqa: E402

GOAL_P99_MS = 50.0
APP = "forum:create_app()"


# --- HTTP with a session ---------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login(base: str, username: str, password: str) -> str:
    """Log in through the form as a browser would; return the Cookie header to send."""
    jar = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(jar, _NoRedirect)
    with opener.open(base + "/login", timeout=30) as response:
        form = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    if token is None:
        raise RuntimeError("no CSRF token in the login form")
    data = urllib.parse.urlencode({"csrf_token": html.unescape(token.group(1)),
                                   "login": username, "password": password}).encode()
    try:
        opener.open(base + "/login", data=data, timeout=30)
        raise RuntimeError(f"logging in as {username} did not redirect")
    except urllib.error.HTTPError as answer:
        if answer.code != 302:
            raise RuntimeError(f"logging in as {username} answered {answer.code}") from None
    cookies = {cookie.name: cookie.value for cookie in jar.cookiejar}
    if "session" not in cookies:
        raise RuntimeError("no session cookie after logging in")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def fetch(url: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def run_wrk(url: str, cookie: str, seconds: int, threads: int, connections: int) -> run.Result:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "10s", "-H", f"Cookie: {cookie}", url]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                               check=True)
    return run.parse_wrk(completed.stdout)


# --- the pages -------------------------------------------------------------------------

def _waiting(body: str, label: str) -> int:
    match = re.search(rf"<dt>{label} waiting</dt><dd>(\d+)</dd>", body)
    if match is None:
        raise RuntimeError(f"no '{label} waiting' figure on the page")
    return int(match.group(1))


def check_pages(targets: dict, meta: dict, per_page: int) -> dict[str, int]:
    """Each page answers 200 with a full page of items; the figures agree with the seed."""
    sizes = {}
    for name, (server, path, cookie) in targets.items():
        status, body = fetch(server.base + path, cookie)
        if status != 200:
            raise RuntimeError(f"{name} ({path}) answered {status}")
        sizes[name] = len(body.encode())
        rows = body.count('name="selected"')
        if rows != per_page:
            raise RuntimeError(f"{name} lists {rows} items, expected {per_page}")
        if name.startswith("admin"):  # the admin sees every board
            expected = meta["by_kind_status"].get("reported_post/pending", 0)
            if _waiting(body, "Reported posts") != expected:
                raise RuntimeError(f"{name}: the page says {_waiting(body, 'Reported posts')} "
                                   f"reported posts wait, the seed {expected}")
        if name.startswith("mod"):
            mine = sum(meta["pending_by_board"].get(str(board), 0)
                       for board in meta["moderator_boards"])
            shown = sum(_waiting(body, label) for label in
                        ("Held posts", "Reported posts", "Flagged posts", "Accounts to review"))
            if shown != mine:
                raise RuntimeError(f"{name}: the page counts {shown} waiting items, "
                                   f"the moderator's boards hold {mine}")
        if "kind=reported_post" in path and body.count(">Reported post #") != per_page:
            raise RuntimeError(f"{name}: not every item listed is a reported post")
    return sizes


def measure(targets: dict, args) -> tuple[dict, dict]:
    """As bench/run.py measures: interleaved slices, median of the slices' percentiles."""
    slices = max(1, args.duration // args.slice)
    runs: dict[str, list[run.Result]] = {name: [] for name in targets}
    for server, path, cookie in targets.values():
        run_wrk(server.base + path, cookie, args.warmup, args.threads, args.connections)
    for round_number in range(args.rounds):
        for slice_number in range(slices):
            order = list(targets.items())
            if (round_number * slices + slice_number) % 2:
                order.reverse()
            for name, (server, path, cookie) in order:
                workers = server.worker_pids()
                cpu_before = server.cpu_seconds(workers)
                result = run_wrk(server.base + path, cookie, args.slice, args.threads,
                                 args.connections)
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors}")
                if server.worker_pids() == workers:
                    result.cpu_ms = (server.cpu_seconds(workers) - cpu_before) * 1000 \
                        / max(result.requests, 1)
                runs[name].append(result)
        for name in targets:
            done = run.aggregate(runs[name])
            print(f"  after round {round_number + 1}/{args.rounds}: {name:<24} "
                  f"{done.rps:6.0f} req/s  p50 {done.p50_ms:6.2f} ms  p99 {done.p99_ms:6.2f} ms"
                  f"  max slice p99 {max(r.p99_ms for r in runs[name]):6.2f} ms"
                  f"  server CPU {done.cpu_ms:5.2f} ms/req", flush=True)
    return {name: run.aggregate(results) for name, results in runs.items()}, runs


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
        f"Python {platform.python_version()}, database: {run._backend(args.database_url)}",
        f"Seed: {meta['items']:,} review items ({pending:,} pending), {meta['posts']:,} posts, "
        f"{meta['topics']:,} topics, {meta['boards']} boards, {meta['users']:,} members; "
        f"moderator {meta['moderator']} of boards {meta['moderator_boards']}; "
        f"filter board {meta['filter_board']} has {meta['filter_board_pending_reported']:,} "
        "pending reported posts",
        f"Server: gunicorn --workers {run.WORKERS} (sync) on 127.0.0.1 serving "
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
        lines.append(f"| {labels[name]:<{width}} | {sizes[name]:>6,} | {result.rps:>5.0f} | "
                     f"{result.p50_ms:>6.2f} | {result.p99_ms:>6.2f} | {worst:>15.2f} "
                     f"| {result.cpu_ms:>17.2f} |")
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
        ("moderator", meta["moderator"], {"kind": "reported_post",
                                          "board_id": meta["filter_board"]}),
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
            parts = {"queue_page": functools.partial(queue.queue_page, user, per_page,
                                                     **filters),
                     "queue_numbers": functools.partial(queue.queue_numbers, user)}
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
                print(f"\n=== {who} {filters or '(no filter)'}: {part}() "
                      f"median {statistics.median(timings):.2f} ms in-process "
                      f"(of {repeat}), {len(captured)} statements")
                with engine.connect() as conn:
                    for statement, parameters in captured:
                        if not statement.lstrip().upper().startswith("SELECT"):
                            continue
                        times = []
                        for _ in range(repeat):
                            started = time.perf_counter()
                            conn.exec_driver_sql(statement, parameters).fetchall()
                            times.append((time.perf_counter() - started) * 1000)
                        print(f"\n--- {statistics.median(times):.2f} ms (SQL only, median)\n"
                              f"{statement}\n{parameters}")
                        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres \
                            else "EXPLAIN QUERY PLAN "
                        for row in conn.exec_driver_sql(prefix + statement, parameters):
                            print("   ", " | ".join(str(value) for value in row))
            seen_numbers.add(who)
        db.session.remove()
        engine.dispose()


# --- main --------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"sqlite:///{seed_queue.DEFAULT_SQLITE}",
                        help="SQLite (default bench/queue.db) or postgresql+psycopg://…/bench "
                             "(the database is wiped: its name must contain 'bench')")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slice", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--reseed", action="store_true", help="seed again even if reusable")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--app", action="append",
                        help=f"WSGI app to serve (default {APP}); give it more than once to "
                             "measure several side by side, their slices taking turns (to try "
                             "a change: a module on PYTHONPATH that patches the app)")
    parser.add_argument("--pages", default=",".join(LABELS),
                        help=f"pages to measure, of {','.join(LABELS)} (default all)")
    parser.add_argument("--explain", action="store_true",
                        help="print each queue statement's time and plan instead of loading")
    parser.add_argument("--repeat", type=int, default=20, help="timings per statement (--explain)")
    for field, default in seed_queue.Params.__dataclass_fields__.items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, default=default.default,
                            help=f"seed parameter (default {default.default:,})")
    args = parser.parse_args()
    if shutil.which("wrk") is None and not args.explain:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    instance = Path(tempfile.mkdtemp(prefix="kindred-queue-bench-"))
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    os.environ["INSTANCE_PATH"] = str(instance)
    os.environ["DATABASE_URL"] = args.database_url
    params = seed_queue.Params(**{field: getattr(args, field)
                                  for field in seed_queue.Params.__dataclass_fields__})
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    meta = seed_queue.ensure_seeded(args.database_url, params, force=args.reseed)
    if args.explain:
        explain(args.database_url, meta, args.repeat)
        return 0

    board = meta["filter_board"]
    env = dict(os.environ, INSTANCE_PATH=str(instance), SECRET_KEY=secrets.token_urlsafe(32),
               DATABASE_URL=args.database_url)
    apps = args.app or [APP]
    pages = [page for page in args.pages.split(",") if page]
    if unknown := set(pages) - set(LABELS):
        raise SystemExit(f"unknown pages: {', '.join(sorted(unknown))}")
    running: list[run.Server] = []
    try:
        servers = {}
        for app in apps:
            label = "" if len(apps) == 1 else "as shipped" if app == APP else app.split(":")[0]
            servers[label] = run.Server(env, instance / f"gunicorn-{len(running)}.log", app=app)
            running.append(servers[label])
        for server in running:
            server.wait_ready("/")
        # One SECRET_KEY for all: a session cookie from one server is good on the others.
        first = running[0]
        admin = login(first.base, meta["admin"], meta["password"])
        moderator = login(first.base, meta["moderator"], meta["password"])
        filtered = f"/review?kind=reported_post&board={board}"
        paths = {
            "admin-first": ("/review", admin),
            "admin-filtered": (filtered, admin),
            "mod-filtered": (filtered, moderator),
            "mod-first": ("/review", moderator),
        }
        targets = {f"{page} {label}".strip(): (server, *paths[page])
                   for page in pages for label, server in servers.items()}
        sizes = check_pages(targets, meta, per_page=25)
        print("Checked: every page lists 25 items; the waiting figures agree with the seed.")
        measured, slices = measure(targets, args)
    finally:
        for server in running:
            server.stop()

    load = (load_before, os.getloadavg()[0])
    print(render_report(args, meta, sizes, measured, slices, time.perf_counter() - started,
                        load))
    if args.json:
        args.json.write_text(json.dumps({
            "meta": meta, "sizes": sizes, "database": run._backend(args.database_url),
            "date": f"{datetime.now(UTC):%Y-%m-%d}", "cores": os.cpu_count(), "load": load,
            "results": {name: vars(result) for name, result in measured.items()},
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
