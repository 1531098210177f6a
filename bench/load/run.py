"""Kindred under load, with nothing lost: Locust against gunicorn, then a checker.

    .venv/bin/python -m bench.load.run --seconds 60 [--database-url URL]

Seeds (or reuses) a forum of 20,000 posts with bench/seed.py, makes two of its
moderators moderate every board, ten of its members writers (seven trusted,
three new, whose posts wait for a moderator) and one board premoderated, starts
gunicorn (2 workers, 127.0.0.1, as bench/run.py does, behind a pretend reverse
proxy: TRUSTED_PROXIES=1), and runs bench/load/locustfile.py headless: 40
readers browsing boards and topics, 10 members replying and starting topics
through the real forms, 2 moderators claiming and approving or rejecting held
posts as of the item's version, for --seconds (and at most --max-requests).
Then bench/load/checker.py proves that no answer was a 5xx, that every
acknowledged write is stored exactly once, that every refused one was a 429/503
with a message and left nothing behind, and that the counters are right, and
prints requests per second and p50/p99 by page kind. Exits 1 if the check fails.

The forum is kept between runs (seeding takes 20-40 s); each run's writes carry
its own markers. SQLite by default (bench/load/load.db); PostgreSQL with
--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_load (the
database is wiped when seeded, so its name must contain 'bench').
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import common, seed
from bench.common import REPO_ROOT
from bench.load import checker

LOAD_DIR = Path(__file__).resolve().parent

#: A smaller forum than the page benchmark's: enough boards and threads to spread the
#: load, quick to seed (bench/seed.py's Params, with these defaults).
LOAD_SEED = {
    "posts": 20_000,
    "topics": 3_000,
    "boards": 10,
    "deep_board_topics": 600,
    "users": 1_000,
    "seed": 20261126,
}
DEFAULT_SQLITE = LOAD_DIR / "load.db"
PASSWORD = "kindred-bench-password"  # bench/seed.py gives every member this one
TRUSTED_SHARE = 0.7  # of the writers; the others' posts wait for a moderator


def prepare_people(database_url: str, writers: int, moderators: int) -> tuple[list, list]:
    """Choose the writers and moderators in the seeded forum and set them up for the run.

    Bench set-up, written straight to the rows as bench/seed.py writes them: the
    moderators moderate every board, the first 70% of writers are trusted and the
    others new (their posts wait), and the last board is premoderated so the queue
    keeps filling once the new members are trusted.
    """
    import sqlalchemy as sa

    from forum.models import Board, BoardMode, Role, User

    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        staff = connection.execute(
            sa.select(User.id, User.username)
            .where(User.role == Role.MODERATOR)
            .order_by(User.id)
            .limit(moderators)
        ).all()
        members = connection.execute(
            sa.select(User.id, User.username)
            .where(User.role == Role.MEMBER)
            .order_by(User.id)
            .limit(writers)
        ).all()
        if len(staff) < moderators or len(members) < writers:
            raise SystemExit("the seed has too few moderators or members for this run")
        connection.execute(
            sa.update(User)
            .where(User.id.in_([row.id for row in staff]))
            .values(moderates_all_boards=True)
        )
        trusted = round(writers * TRUSTED_SHARE)
        for index, row in enumerate(members):
            connection.execute(
                sa.update(User)
                .where(User.id == row.id)
                .values(
                    approved_post_count=1_000 if index < trusted else 0,
                    suspended_until=None,
                    banned_at=None,
                )
            )
        last_board = connection.scalar(sa.select(sa.func.max(Board.id)))
        connection.execute(
            sa.update(Board).where(Board.id == last_board).values(mode=BoardMode.PREMODERATED)
        )
    engine.dispose()
    return [row.username for row in members], [row.username for row in staff]


def run_locust(plan: dict, plan_path: Path, base: str, seconds: int, log_path: Path) -> None:
    plan_path.write_text(json.dumps(plan))
    users = plan["readers"] + plan["writers"] + plan["moderators"]
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOAD_DIR / "locustfile.py"),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 2)),
        "--run-time",
        f"{seconds}s",
        # Users finish the task they are in (a write waits for its answer).
        "--stop-timeout",
        "40",
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, LOAD_PLAN=str(plan_path)),
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=seconds + 120)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the session we started, only
                process.wait(timeout=10)
    if code != 0:
        raise RuntimeError(f"locust exited with {code}:\n{log_path.read_text()[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the load (60)")
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{DEFAULT_SQLITE}",
        help="SQLite (default bench/load/load.db) or "
        "postgresql+psycopg://…/bench_load (wiped when seeded)",
    )
    parser.add_argument("--readers", type=int, default=40)
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--moderators", type=int, default=2)
    parser.add_argument(
        "--max-requests",
        type=int,
        default=100_000,
        help="stop early once this many requests were made (100,000)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=common.WORKERS,
        help=f"gunicorn workers ({common.WORKERS})",
    )
    parser.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="turn the rate limits off (RATELIMIT_ENABLED=0) to push more "
        "writes; by default each member is limited as on a real site",
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if reusable")
    parser.add_argument("--json", type=Path, help="also write the verdict and figures here")
    for field, default in LOAD_SEED.items():
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            type=int,
            default=default,
            help=f"seed parameter (default {default:,})",
        )
    args = parser.parse_args(argv)
    common.stop_on_sigterm()

    work = Path(tempfile.mkdtemp(prefix="kindred-load-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    os.environ["INSTANCE_PATH"] = str(work)
    params = seed.Params(**{field: getattr(args, field) for field in LOAD_SEED})
    started = time.perf_counter()
    seed.ensure_seeded(args.database_url, params, force=args.reseed)
    member_names, moderator_names = prepare_people(args.database_url, args.writers, args.moderators)
    if repaired := checker.repair_before_load(args.database_url):
        print(
            f"Before the load: {repaired} values the bulk seed leaves out filled in by "
            "forum.services.integrity.repair()"
        )

    run_id = secrets.token_hex(4)
    plan = {
        "readers": args.readers,
        "writers": args.writers,
        "moderators": args.moderators,
        "member_names": member_names,
        "moderator_names": moderator_names,
        "password": PASSWORD,
        "journal": str(work / "journal.jsonl"),
        "run_id": run_id,
        "run_seed": int(run_id, 16),
        "max_requests": args.max_requests,
    }
    env = dict(
        os.environ,
        INSTANCE_PATH=str(work),
        SECRET_KEY=secrets.token_urlsafe(32),
        DATABASE_URL=args.database_url,
        TRUSTED_PROXIES="1",
        MAIL_BACKEND="console",
        RATELIMIT_ENABLED="0" if args.no_rate_limits else "1",
    )
    server = common.Server(
        env, work / "gunicorn.log", app="forum:create_app()", workers=args.workers
    )
    try:
        server.wait_ready("/")
        print(
            f"gunicorn on {server.base}; {args.readers} readers, {args.writers} members "
            f"writing, {args.moderators} moderators for {args.seconds}s (run {run_id})",
            flush=True,
        )
        run_locust(plan, work / "plan.json", server.base, args.seconds, work / "locust.log")
    finally:
        server.stop()
    server_log = (work / "gunicorn.log").read_text(errors="replace")

    verdict = checker.check(Path(plan["journal"]), args.database_url, run_id, server_log)
    title = (
        f"Kindred load, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, database: "
        f"{common.backend(args.database_url)}, gunicorn --workers {args.workers}; "
        f"{args.readers} readers, {args.writers} members, {args.moderators} moderators, "
        f"{args.seconds}s; rate limits {'off' if args.no_rate_limits else 'on'}"
    )
    print(checker.render(verdict, title))
    print(f"(whole run {time.perf_counter() - started:.0f}s)")
    if args.json:
        args.json.write_text(
            json.dumps({"title": title, "run_id": run_id, **verdict}, indent=2, default=str)
        )
    return 0 if verdict["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
