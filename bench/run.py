"""Kindred's page benchmark: seeded forum, gunicorn -w 2, load from wrk in a second process.

    .venv/bin/python bench/run.py [--database-url URL] [--duration 10] [--rounds 3]

Seeds (or reuses) a forum of 100,000 posts across 10 boards, starts gunicorn
with 2 workers on a free 127.0.0.1 port serving bench/floor_app.py (the real
app plus bench-only "floor" routes) and a second one with the topic page cache
off (PAGE_CACHE_MB=0), checks the pages, then drives each URL
with `wrk -t2 -c4 --latency` (2-second slices, the pages taking turns, 3 rounds
of 10 s per page) and prints requests per second, p50 and p99 latency, the
workers' CPU time per request, and each page's throughput as a share of its floor.
Both gunicorns are stopped at the end, whatever happens. See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import html
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import seed  # noqa: E402

WORKERS = 2
TOPIC_GOAL = 0.5  # topic page throughput / floor throughput, at least
DEEP_PAGE = 500
DEEP_GOAL = 1.5  # page-500 latency / page-1 latency, at most


# --- wrk ---------------------------------------------------------------------------

@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str
    seconds: float = 0.0
    cpu_ms: float = float("nan")  # gunicorn workers' CPU time per request


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> Result:
    def find(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise RuntimeError(f"could not read {pattern!r} in wrk output:\n{output}")
        return match.group(1)

    errors = []
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"{match.group(1)} non-2xx")
    if match := re.search(r"Socket errors: (.*)", output):
        errors.append(f"socket errors: {match.group(1)}")
    return Result(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")),
        requests=int(find(r"^\s+(\d+) requests in")),
        seconds=_ms(find(r"^\s+\d+ requests in ([\d.]+(?:us|ms|s|m)),")) / 1000,
        errors="; ".join(errors),
    )


def run_wrk(url: str, seconds: int, threads: int, connections: int) -> Result:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "10s", url]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                               check=True)
    return parse_wrk(completed.stdout)


# --- gunicorn ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, timeout: float = 30) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _has_control_socket() -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)


class Server:
    """gunicorn -w 2 on 127.0.0.1, in its own session so it can be stopped cleanly."""

    def __init__(self, env: dict, log_path: Path, app: str = "floor_app:app"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
                   "--bind", f"127.0.0.1:{self.port}", "--pythonpath", str(BENCH_DIR),
                   "--timeout", "60", "--error-logfile", str(log_path)]
        if _has_control_socket():
            command.append("--no-control-socket")  # gunicorn 27+ would open ~/.gunicorn/…
        command.append(app)
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env,
                                        start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()}")
            try:
                if fetch(self.base + path, timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer in {timeout}s:\n{self.log_path.read_text()}")

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry))
        return sorted(pids)

    @staticmethod
    def cpu_seconds(pids: list[int]) -> float:
        """User + system CPU time of these processes (Linux /proc); NaN if one has gone."""
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return float("nan")
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the session we started, only
            self.process.wait(timeout=10)


# --- the pages -----------------------------------------------------------------------

def deep_cursor(database_url: str, board_id: int, page: int) -> tuple[str, int]:
    """The ?after= cursor of page `page`, made as forum.queries does it, and the page size."""
    import sqlalchemy as sa

    from forum import create_app, queries
    from forum.extensions import db
    from forum.models import Topic

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        per_page = app.config["TOPICS_PER_PAGE"]
        last_of_previous = db.session.scalars(
            sa.select(Topic).where(Topic.board_id == board_id)
            .order_by(Topic.is_pinned.desc(), Topic.last_post_at.desc(), Topic.id.desc())
            .offset((page - 1) * per_page - 1).limit(1)).first()
        if last_of_previous is None:
            raise SystemExit(f"the board has fewer than {page} pages")
        cursor = queries._encode_cursor(last_of_previous)
        db.engine.dispose()
    return cursor, per_page


_NEXT = re.compile(r'href="([^"]+)" rel="next"')


def walk_to(server: Server, first_path: str, page: int) -> str:
    """Follow "Older topics" links from page 1 to `page`; return that page's path."""
    path = first_path
    for _ in range(page - 1):
        status, body = fetch(server.base + path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        match = _NEXT.search(body)
        if not match:
            raise RuntimeError(f"{path} has no 'Older topics' link")
        path = html.unescape(match.group(1))
    return path


def check_pages(targets: dict[str, tuple[Server, str]], per_page: int,
                posts_on_topic: int) -> dict[str, int]:
    sizes = {}
    for name, (server, path) in targets.items():
        status, body = fetch(server.base + path)
        if status != 200:
            raise RuntimeError(f"{name} ({path}) answered {status}")
        sizes[name] = len(body.encode())
        if name.startswith("board"):
            rows = body.count('<th scope="row">')
            if rows != per_page:
                raise RuntimeError(f"{name} lists {rows} topics, expected {per_page}")
        if name.startswith("topic"):
            posts = body.count('<article class="post"')
            if posts != posts_on_topic:
                raise RuntimeError(f"the topic page shows {posts} posts, expected 20")
    return sizes


# --- measuring ------------------------------------------------------------------------

def aggregate(runs: list[Result]) -> Result:
    requests = sum(run.requests for run in runs)
    timed = [run for run in runs if run.cpu_ms == run.cpu_ms]  # not NaN
    cpu = sum(run.cpu_ms * run.requests for run in timed) / max(1, sum(r.requests for r in timed))
    return Result(rps=requests / sum(run.seconds for run in runs),
                  p50_ms=statistics.median(run.p50_ms for run in runs),
                  p99_ms=statistics.median(run.p99_ms for run in runs),
                  requests=requests, errors="", seconds=sum(run.seconds for run in runs),
                  cpu_ms=cpu if timed else float("nan"))


def measure(targets: dict[str, tuple[Server, str]], args) -> dict[str, Result]:
    """Each page for `duration` seconds per round, in interleaved slices of `slice` seconds.

    Other work on a shared machine comes in bursts; cycling through the pages in
    short slices spreads those bursts over all of them, so the ratios stay fair.
    """
    slices = max(1, args.duration // args.slice)
    runs: dict[str, list[Result]] = {name: [] for name in targets}
    for server, path in targets.values():
        run_wrk(server.base + path, args.warmup, args.threads, args.connections)
    for round_number in range(args.rounds):
        for slice_number in range(slices):
            order = list(targets.items())
            if (round_number * slices + slice_number) % 2:
                order.reverse()
            for name, (server, path) in order:
                workers = server.worker_pids()
                cpu_before = server.cpu_seconds(workers)
                result = run_wrk(server.base + path, args.slice, args.threads,
                                 args.connections)
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors}")
                if server.worker_pids() == workers:  # no worker restarted meanwhile
                    result.cpu_ms = (server.cpu_seconds(workers) - cpu_before) * 1000 \
                        / max(result.requests, 1)
                runs[name].append(result)
        for name in targets:
            done = aggregate(runs[name])
            print(f"  after round {round_number + 1}/{args.rounds}: {name:<10} "
                  f"{done.rps:7.0f} req/s  p50 {done.p50_ms:6.2f} ms  p99 {done.p99_ms:6.2f} ms"
                  f"  server CPU {done.cpu_ms:5.2f} ms/req", flush=True)
    return {name: aggregate(results) for name, results in runs.items()}


# --- main --------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"sqlite:///{seed.DEFAULT_SQLITE}",
                        help="SQLite (default bench/bench.db) or postgresql+psycopg://…/bench "
                             "(the database is wiped: its name must contain 'bench')")
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds of load per page in each round (default 10)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over all pages (default 3)")
    parser.add_argument("--slice", type=int, default=2,
                        help="each page's seconds are run in wrk slices this long, the pages "
                             "taking turns (default 2)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of wrk on each page before measuring (default 2)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--reseed", action="store_true", help="seed again even if cached")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--app", default="floor_app:app",
                        help="WSGI app to serve (default floor_app:app); to measure a change "
                             "before committing it, point this at a module that imports "
                             "floor_app and patches it (put its folder on PYTHONPATH)")
    for field, default in seed.Params.__dataclass_fields__.items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, default=default.default,
                            help=f"seed parameter (default {default.default:,})")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    # A SIGTERM to this script unwinds like Ctrl-C, so the gunicorns are stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    instance = Path(tempfile.mkdtemp(prefix="kindred-bench-"))
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    os.environ["INSTANCE_PATH"] = str(instance)
    os.environ["DATABASE_URL"] = args.database_url
    params = seed.Params(**{field: getattr(args, field)
                            for field in seed.Params.__dataclass_fields__})
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    meta = seed.ensure_seeded(args.database_url, params, force=args.reseed)
    cursor, per_page = deep_cursor(args.database_url, meta["deep_board_id"], DEEP_PAGE)

    slug = meta["deep_board_slug"]
    targets = {
        "floor-topic": "/_bench/floor/topic",
        "topic": f"/t/{meta['topic_id']}",
        "topic-uncached": f"/t/{meta['topic_id']}",
        "floor-board": "/_bench/floor/board",
        "board-1": f"/b/{slug}",
        f"board-{DEEP_PAGE}": f"/b/{slug}?after={cursor}",
    }
    env = dict(os.environ, INSTANCE_PATH=str(instance), SECRET_KEY=secrets.token_urlsafe(32),
               DATABASE_URL=args.database_url, BENCH_TOPIC_PATH=targets["topic"],
               BENCH_BOARD_PATH=targets["board-1"])
    running: list[Server] = []
    try:
        server = Server(env, instance / "gunicorn.log", app=args.app)
        running.append(server)
        # The same app with its topic page cache off: what a member or a cache miss costs.
        uncached = Server(dict(env, PAGE_CACHE_MB="0"), instance / "gunicorn-uncached.log",
                          app=args.app)
        running.append(uncached)
        served = {name: (uncached if name == "topic-uncached" else server, path)
                  for name, path in targets.items()}
        server.wait_ready(targets["floor-topic"])
        uncached.wait_ready(targets["topic-uncached"])
        walked = walk_to(server, targets["board-1"], DEEP_PAGE)
        if walked != targets[f"board-{DEEP_PAGE}"]:
            raise RuntimeError(f"walking the pager gave {walked}, "
                               f"the computed cursor {targets[f'board-{DEEP_PAGE}']}")
        sizes = check_pages(served, per_page, posts_on_topic=20)
        print(f"Checked: following 'Older topics' {DEEP_PAGE - 1} times lands on the computed "
              f"page-{DEEP_PAGE} cursor; the topic page shows 20 posts.")
        measured = measure(served, args)
    finally:
        for started_server in running:
            started_server.stop()

    load = (load_before, os.getloadavg()[0])
    report = render_report(args, meta, sizes, measured, time.perf_counter() - started, load)
    print(report)
    if args.json:
        args.json.write_text(json.dumps({
            "meta": meta, "sizes": sizes, "database": _backend(args.database_url),
            "date": f"{datetime.now(UTC):%Y-%m-%d}", "cores": os.cpu_count(), "load": load,
            "duration": args.duration, "rounds": args.rounds,
            "results": {name: vars(result) for name, result in measured.items()},
        }, indent=2))
    return 0


def _backend(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


def render_report(args, meta: dict, sizes: dict, r: dict[str, Result], elapsed: float,
                  load: tuple[float, float]) -> str:
    floor_of = {"floor-topic": "floor-topic", "topic": "floor-topic",
                "topic-uncached": "floor-topic",
                "floor-board": "floor-board", "board-1": "floor-board",
                f"board-{DEEP_PAGE}": "floor-board"}
    labels = {
        "floor-topic": "floor (topic-page size)",
        "topic": "topic page, 20 posts",
        "topic-uncached": "topic page, cache off",
        "floor-board": "floor (board-page size)",
        "board-1": "board page 1",
        f"board-{DEEP_PAGE}": f"board page {DEEP_PAGE}",
    }
    lines = [
        "",
        f"Kindred benchmark, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, database: {_backend(args.database_url)}",
        f"Seed: {meta['posts']:,} posts, {meta['topics']:,} topics, {meta['boards']} boards, "
        f"{meta['users']:,} members; bodies {meta['body_min']}-{meta['body_max']} chars "
        f"(mean {meta['body_avg']}); board /b/{meta['deep_board_slug']} has "
        f"{meta['deep_board_topics']:,} topics",
        f"Server: gunicorn --workers {WORKERS} (sync) on 127.0.0.1; load: wrk -t{args.threads} "
        f"-c{args.connections} -d{args.slice}s --latency (separate process), pages taking "
        f"turns, {args.rounds} x {args.duration}s per page after {args.warmup}s warm-up; "
        "req/s over all slices, p50/p99 the median of the slices",
        "",
        "| page                     |   bytes |  req/s | p50 ms | p99 ms | req/s vs floor "
        "| server CPU ms/req |",
        "|--------------------------|--------:|-------:|-------:|-------:|---------------:"
        "|------------------:|",
    ]
    for name, result in r.items():
        share = result.rps / r[floor_of[name]].rps
        lines.append(f"| {labels[name]:<24} | {sizes[name]:>7,} | {result.rps:>6.0f} | "
                     f"{result.p50_ms:>6.2f} | {result.p99_ms:>6.2f} | {share:>14.2f} "
                     f"| {result.cpu_ms:>17.2f} |")
    topic_share = r["topic"].rps / r["floor-topic"].rps
    cpu_share = r["floor-topic"].cpu_ms / r["topic"].cpu_ms
    uncached_share = r["topic-uncached"].rps / r["floor-topic"].rps
    deep = r[f"board-{DEEP_PAGE}"]
    p50_ratio = deep.p50_ms / r["board-1"].p50_ms
    p99_ratio = deep.p99_ms / r["board-1"].p99_ms
    lines += [
        "",
        f"Topic page throughput / floor: {topic_share:.2f} (goal >= {TOPIC_GOAL}): "
        f"{'MET' if topic_share >= TOPIC_GOAL else 'MISSED'}  "
        f"[by server CPU per request: {cpu_share:.2f}]; with the page cache off "
        f"(PAGE_CACHE_MB=0, as members always get it): {uncached_share:.2f}",
        f"Board page {DEEP_PAGE} latency / page 1: p50 {p50_ratio:.2f}, p99 {p99_ratio:.2f} "
        f"(goal p50 <= {DEEP_GOAL}): {'MET' if p50_ratio <= DEEP_GOAL else 'MISSED'}  "
        f"[server CPU per request: {deep.cpu_ms / r['board-1'].cpu_ms:.2f}]",
        f"Total time {elapsed:.0f}s. 1-minute load average {load[0]:.1f} before the run, "
        f"{load[1]:.1f} at its end (the run itself adds about 2); anything else running "
        "shares the 2 cores, so compare the ratios, not absolute figures across runs.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
