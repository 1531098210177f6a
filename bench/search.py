"""Search under load: 100,000 posts, gunicorn -w 2, wrk as a logged-in member.

    .venv/bin/python -m bench.search [--database-url URL] [--duration 10] [--rounds 3]

Seeds (or reuses) the forum of bench/seed.py (100,000 posts in 25,000 topics, 10 boards),
fills the search index with `forum.search.reindex` when it does not hold every published
post (the seed writes rows in bulk, past the session hooks), starts gunicorn with 2
workers on 127.0.0.1 serving the app as shipped (rate limits off: wrk is one client),
logs in as a member, checks each search answers 200 with results, then drives wrk with a
Lua script that walks a mix of searches round-robin: one and two words (from 7,700 to
74,000 matching posts, and none), with and without a board filter, first and second
pages. Each kind of search is then measured on its own, its searches taking turns in
slices (bench/common.py's measure_interleaved, with a warm-up for each). Prints requests
per second and p50/p99 latency (the median of the slices' percentiles, as bench/run.py
does). The goal is p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

from bench import common, seed

GOAL_P99_MS = 100.0
APP = "forum:create_app()"
DEFAULT_SQLITE = common.BENCH_DIR / "search.db"
PASSWORD = "kindred-bench-password"

#: (kind, query, board?, page). The seed's vocabulary is small, so most words are in tens
#: of thousands of posts (matches over 99,242 findable posts in brackets).
SEARCHES = [
    ("one word", "appointment", False, 1),  # 74,027
    ("one word", "today", False, 1),  # 56,954
    ("one word", "thank", False, 1),  # 17,847
    ("one word", "clearance", False, 1),  # 41,868
    ("one word, page 2", "feel", False, 2),  # 56,317
    ("two words", "panic attacks", False, 1),  # 41,732
    ("two words", "waiting list", False, 1),  # 41,919
    ("one word, one board", "slept", True, 1),  # 74,271 in all boards
    ("one word, one board", "group", True, 1),  # 58,524
    ("one word, one board", "council", True, 1),  # 42,239
    ("fewer matches", "leaflet", False, 1),  # 7,741
    ("no match", "zebra", False, 1),  # 0
]


def paths(board_slug: str) -> list[tuple[str, str]]:
    found = []
    for kind, query, with_board, page in SEARCHES:
        params = {"q": query}
        if with_board:
            params["board"] = board_slug
        if page > 1:
            params["page"] = str(page)
        found.append((kind, "/search?" + urllib.parse.urlencode(params)))
    return found


def ensure_indexed(url: str) -> dict:
    """Fill the index from the seeded rows unless it already holds every findable post."""
    import sqlalchemy as sa

    from forum import search
    from forum.extensions import db
    from forum.models import Post, Topic
    from forum.queries import published_in_published_topic

    app = common.app_for(url)
    with app.app_context():
        findable = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Post)
            .join(Topic, Topic.id == Post.topic_id)
            .where(published_in_published_topic())
        )
        held = search.entry_count()
        if held != findable:
            print(
                f"Indexing {findable:,} published posts (the index holds {held:,})...", flush=True
            )
            began = time.perf_counter()
            search.reindex(
                lambda done, total: (
                    done % 20_000 == 0
                    and print(
                        f"  {done:,} of {total:,} ({time.perf_counter() - began:.0f}s)", flush=True
                    )
                )
            )
            print(f"  indexed in {time.perf_counter() - began:.1f}s", flush=True)
        member = db.session.scalar(
            sa.text("SELECT username FROM users WHERE role = 'member' ORDER BY id LIMIT 1")
        )
        db.session.rollback()
        db.engine.dispose()
    return {"findable": findable, "member": member}


def lua_script(directory: Path, targets: list[str], cookie: str) -> Path:
    """wrk walks the paths in turn (each thread from its own starting point)."""
    script = directory / "search_mix.lua"
    quoted = ", ".join(json.dumps(path) for path in targets)
    script.write_text(
        f"local paths = {{{quoted}}}\n"
        "local i = 0\n"
        "function setup(thread) i = i + 1; thread:set('start', i) end\n"
        "function init(args) n = start end\n"
        f"wrk.headers['Cookie'] = {json.dumps(cookie)}\n"
        "function request()\n"
        "  n = n % #paths + 1\n"
        "  return wrk.format('GET', paths[n])\n"
        "end\n"
    )
    return script


def measure(
    server: common.Server, script: Path, by_kind: dict[str, list[str]], cookie: str, args
) -> dict[str, common.Result]:
    """The mix first, for `args.rounds` rounds of `args.duration` seconds; then each kind
    of search on its own, its searches taking turns, one slice each per round."""
    mix = {"mix": common.Target(server, "/", cookie, script=script)}
    measured, _ = common.measure_interleaved(mix, args, width=26)
    one_slice = argparse.Namespace(**{**vars(args), "duration": args.slice})
    for kind, kind_paths in by_kind.items():
        searches = {
            f"{kind} #{number}": common.Target(server, path, cookie)
            for number, path in enumerate(kind_paths, 1)
        }
        _, slices = common.measure_interleaved(searches, one_slice, width=26)
        measured[kind] = common.aggregate([run for runs in slices.values() for run in runs])
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{DEFAULT_SQLITE}",
        help="SQLite (default bench/search.db) or postgresql+psycopg://…/"
        "bench_search (wiped when seeded: its name must contain 'bench')",
    )
    common.add_load_arguments(parser)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    instance = common.prepare_run(args.database_url, "kindred-search-bench-")
    load_before = os.getloadavg()
    meta = seed.ensure_seeded(args.database_url, seed.Params(), force=args.reseed)
    indexed = ensure_indexed(args.database_url)

    server = common.Server(
        common.server_env(RATELIMIT_ENABLED="0"), instance / "gunicorn.log", app=APP
    )
    try:
        server.wait_ready("/")
        cookie = common.login(server.base, indexed["member"], PASSWORD)
        targets = paths(meta["deep_board_slug"])
        by_kind: dict[str, list[str]] = {}
        for kind, path in targets:
            status, body = common.fetch(server.base + path, cookie)
            results = body.count('<h3><a href="/p/')
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            if kind != "no match" and results == 0:
                raise RuntimeError(f"{path} found nothing")
            print(f"  {path:<55} {results:2d} results on the page", flush=True)
            by_kind.setdefault(kind, []).append(path)
        script = lua_script(instance, [path for _, path in targets], cookie)
        measured = measure(server, script, by_kind, cookie, args)
    finally:
        server.stop()

    load_after = os.getloadavg()
    database = common.backend(args.database_url)
    print(
        f"\nKindred search benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"database: {database}; {meta['posts']:,} posts ({indexed['findable']:,} findable) "
        f"in {meta['topics']:,} topics; gunicorn -w {common.WORKERS}, wrk -t{args.threads} "
        f"-c{args.connections}, logged in as a member"
    )
    print(f"Load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}\n")
    print(f"| {'searches':<26} | req/s | p50 ms | p99 ms |")
    print(f"| {'-' * 26} | ----: | -----: | -----: |")
    for kind, result in measured.items():
        print(f"| {kind:<26} | {result.rps:5.0f} | {result.p50_ms:6.1f} | {result.p99_ms:6.1f} |")
    worst = max(result.p99_ms for result in measured.values())
    print(
        f"\nGoal p99 < {GOAL_P99_MS:.0f} ms: {'met' if worst < GOAL_P99_MS else 'NOT met'} "
        f"(worst p99 {worst:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
