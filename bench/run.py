"""Kindred's page benchmark: seeded forum, gunicorn -w 2, load from wrk in a second process.

    .venv/bin/python -m bench.run [--database-url URL] [--duration 10] [--rounds 3]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.run

Seeds (or reuses) a forum of 100,000 posts across 10 boards (bench/seed.py) and a
logged-in member with blocks, muted phrases, a muted board, reactions and a 20-post
topic of their own (bench/member.py, through the services). Starts three gunicorns,
2 workers each, on free 127.0.0.1 ports: bench/floor_app.py (the real app plus
bench-only "floor" routes), the same with the topic page cache off
(PAGE_CACHE_MB=0), and a bare Flask app serving the same floor bytes. Logs the
member in through the login form, checks the pages, then drives each URL with
`wrk -t2 -c4 --latency` (2-second slices, the pages taking turns, 3 rounds of 10 s
per page) and prints requests per second, p50 and p99 latency, the workers' CPU
time per request (from /proc), page sizes, each page's throughput as a share of its
floors, and whether each goal is met. The gunicorns are stopped at the end, whatever
happens. See bench/README.md.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import time
from pathlib import Path

from bench import common, report, seed
from bench import member as bench_member
from bench.common import Server, Target

DEEP_PAGE = 500  # the default; --deep-page for a small forum


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
            sa.select(Topic)
            .where(Topic.board_id == board_id)
            .order_by(Topic.is_pinned.desc(), Topic.last_post_at.desc(), Topic.id.desc())
            .offset((page - 1) * per_page - 1)
            .limit(1)
        ).first()
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
        status, body = common.fetch(server.base + path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        match = _NEXT.search(body)
        if not match:
            raise RuntimeError(f"{path} has no 'Older topics' link")
        path = html.unescape(match.group(1))
    return path


def check_pages(targets: dict[str, Target], per_page: int, posts_on_topic: int) -> dict[str, int]:
    sizes = {}
    for name, target in targets.items():
        path = target.path
        status, body = common.fetch(target.server.base + path, target.cookie)
        if status != 200:
            raise RuntimeError(f"{name} ({path}) answered {status}")
        sizes[name] = len(body.encode())
        if name.startswith(("board", "member-board")):
            rows = body.count('<th scope="row">')
            if rows != per_page:
                raise RuntimeError(f"{name} lists {rows} topics, expected {per_page}")
        if name.startswith(("topic", "member-topic")):
            posts = body.count('<article class="post"')
            if posts != posts_on_topic:
                raise RuntimeError(f"{name} shows {posts} posts, expected {posts_on_topic}")
    return sizes


# --- the member's pages ----------------------------------------------------------------


def member_floors(server: Server, member: dict, paths: dict[str, str], folder: Path) -> str:
    """Log the member in, check their pages and write their bytes where the floors read
    them (BENCH_FLOOR_DIR); return the session's Cookie header."""
    cookie = common.login(server.base, member["username"], member["password"])
    folder.mkdir(exist_ok=True)
    for name in ("member-topic", "member-board"):
        status, body = common.fetch(server.base + paths[name], cookie)
        if status != 200:
            raise RuntimeError(f"{name} ({paths[name]}) answered {status}")
        if 'action="/logout"' not in body and "Log out" not in body:
            raise RuntimeError(f"{name}: the member's page does not show them logged in")
        (folder / f"{name}.html").write_bytes(body.encode())
    return cookie


LOGGED_OUT = ("floor-topic", "topic", "topic-uncached", "floor-board", "board-1", "board-deep")
MEMBERS = (
    "floor-member-topic",
    "bare-member-topic",
    "member-topic",
    "floor-member-board",
    "bare-member-board",
    "member-board",
)


def page_paths(meta: dict, member: dict, cursor: str) -> dict[str, str]:
    slug = meta["deep_board_slug"]
    return {
        "floor-topic": "/_bench/floor/topic",
        "topic": f"/t/{meta['topic_id']}",
        "topic-uncached": f"/t/{meta['topic_id']}",
        "floor-board": "/_bench/floor/board",
        "board-1": f"/b/{slug}",
        "board-deep": f"/b/{slug}?after={cursor}",
        "floor-member-topic": "/_bench/floor/member-topic",
        "bare-member-topic": "/_bench/floor/member-topic",
        "member-topic": f"/t/{member['topic_id']}",
        "floor-member-board": "/_bench/floor/member-board",
        "bare-member-board": "/_bench/floor/member-board",
        "member-board": f"/b/{slug}",
    }


# --- main --------------------------------------------------------------------------


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or f"sqlite:///{seed.DEFAULT_SQLITE}",
        help="DATABASE_URL if set, else SQLite bench/bench.db; or "
        "postgresql+psycopg://…/bench (the database is wiped when seeded: its name "
        "must contain 'bench')",
    )
    common.add_load_arguments(parser)
    parser.add_argument(
        "--pages",
        choices=("all", "members", "logged-out"),
        default="all",
        help="measure every page (default), only what the members' goals need "
        "(the floors, the logged-out cached topic page, the member's topic and board "
        "page), or only the logged-out pages",
    )
    parser.add_argument(
        "--deep-page",
        type=int,
        default=DEEP_PAGE,
        help=f"the deep board page measured against page 1 (default {DEEP_PAGE})",
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if cached")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--app",
        default="bench.floor_app:app",
        help="WSGI app to serve (default bench.floor_app:app); to measure a change "
        "before committing it, point this at a module that imports "
        "bench.floor_app and patches it (put its folder on PYTHONPATH)",
    )
    for field, default in seed.Params.__dataclass_fields__.items():
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            type=int,
            default=default.default,
            help=f"seed parameter (default {default.default:,})",
        )
    return parser.parse_args()


def chosen(pages: str) -> tuple[str, ...]:
    if pages == "members":
        return ("topic", *MEMBERS)
    if pages == "logged-out":
        return LOGGED_OUT
    return (*LOGGED_OUT, *MEMBERS)


def start_servers(args, env: dict, instance: Path, running: list[Server]) -> dict[str, Server]:
    """The app with its page cache, the same app with it off, and the bare floor."""
    servers = {
        "app": Server(env, instance / "gunicorn.log", app=args.app),
        "uncached": Server(
            dict(env, PAGE_CACHE_MB="0"), instance / "gunicorn-uncached.log", app=args.app
        ),
        "bare": Server(env, instance / "gunicorn-bare.log", app="bench.floor_app:bare"),
    }
    running.extend(servers.values())
    servers["app"].wait_ready("/_bench/floor/topic")
    servers["uncached"].wait_ready("/_bench/floor/topic")
    servers["bare"].wait_ready("/_bench/floor/topic")
    return servers


def measure_pages(args, meta: dict, member: dict, instance: Path):
    """Start the gunicorns, check every page, measure the chosen ones; stop them."""
    cursor, per_page = deep_cursor(args.database_url, meta["deep_board_id"], args.deep_page)
    paths = page_paths(meta, member, cursor)
    floors = instance / "floors"
    env = common.server_env(
        BENCH_TOPIC_PATH=paths["topic"],
        BENCH_BOARD_PATH=paths["board-1"],
        BENCH_FLOOR_DIR=str(floors),
    )
    running: list[Server] = []
    try:
        servers = start_servers(args, env, instance, running)
        walked = walk_to(servers["app"], paths["board-1"], args.deep_page)
        if walked != paths["board-deep"]:
            raise RuntimeError(f"walking the pager gave {walked}, computed {paths['board-deep']}")
        cookie = member_floors(servers["app"], member, paths, floors)
        names = chosen(args.pages)
        targets = {
            _name(name, args.deep_page): Target(
                servers[_server_of(name)], paths[name], cookie if name.startswith("member") else ""
            )
            for name in names
        }
        sizes = check_pages(targets, per_page, posts_on_topic=20)
        print(
            f"Checked: following 'Older topics' {args.deep_page - 1} times lands on the "
            f"computed page-{args.deep_page} cursor; the topic pages show 20 posts; the "
            f"member is logged in."
        )
        measured, _ = common.measure_interleaved(targets, args, width=18)
    finally:
        for server in running:
            server.stop()
    return sizes, measured


def _name(name: str, deep_page: int) -> str:
    return f"board-{deep_page}" if name == "board-deep" else name


def _server_of(name: str) -> str:
    if name.startswith("bare"):
        return "bare"
    return "uncached" if name == "topic-uncached" else "app"


def main() -> int:
    args = parse_arguments()
    instance = common.prepare_run(args.database_url, "kindred-bench-")
    params = seed.Params(
        **{field: getattr(args, field) for field in seed.Params.__dataclass_fields__}
    )
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    meta = seed.ensure_seeded(args.database_url, params, force=args.reseed)
    member = bench_member.ensure_member(args.database_url, meta)
    sizes, measured = measure_pages(args, meta, member, instance)

    load = (load_before, os.getloadavg()[0])
    shown = member if args.pages != "logged-out" else None
    print(report.render(args, meta, shown, sizes, measured, time.perf_counter() - started, load))
    if args.json:
        args.json.write_text(
            json.dumps(report.as_json(args, meta, member, sizes, measured, load), indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
