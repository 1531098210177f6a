"""How many members can write at once on the embedded default (SQLite, WAL)?

    .venv/bin/python -m bench.load.writers [--seconds 5] [--writers 1,2,5,10,20]

For each number of writers, that many processes (each its own connection, as
gunicorn workers are) post replies and now and then a topic through
forum.services.posting, the same functions the forms call, for --seconds, all
starting together. Prints posts per second, p50/p99 time per post and the
errors by kind: any "database is locked" would be one a member sees. The
database is a fresh SQLite file in a temporary folder, with the settings
create_app() gives every SQLite connection (WAL, busy_timeout 15 s).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import seed  # its post text generator
from bench.common import REPO_ROOT

TOPICS = 20
NEW_TOPIC_SHARE = 0.1


def _app(url: str):
    from forum import create_app

    return create_app(
        {"SECRET_KEY": "bench-writers", "SQLALCHEMY_DATABASE_URI": url, "MAIL_BACKEND": "memory"}
    )


def prepare(url: str, writers: int) -> None:
    """Schema from the migrations, one board, trusted members and some topics."""
    import flask_migrate
    from argon2 import PasswordHasher

    from forum.extensions import db
    from forum.services import accounts, admin, posting

    accounts.password_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    app = _app(url)
    with app.app_context():
        flask_migrate.upgrade(directory=str(REPO_ROOT / "migrations"))
        board = admin.create_board("writers", "Writers", "Where the bench writes")
        members = []
        for number in range(writers):
            member = accounts.create_user(
                f"writer{number}",
                f"writer{number}@example.org",
                "a long bench password",
                verified=True,
            )
            member.approved_post_count = 1_000  # trusted: posts go out at once
            members.append(member)
        db.session.commit()
        for number in range(TOPICS):
            posting.create_topic(
                members[number % writers],
                board,
                f"Topic {number}",
                seed.post_source(1, number, 400, reply=False),
            )
        db.engine.dispose()


def write(url: str, number: int, seconds: float, ready, go, results) -> None:
    """One writer: post until the time is up; report (latencies, errors)."""
    import sqlalchemy as sa

    from forum.extensions import db
    from forum.models import Board, Topic, User
    from forum.services import posting

    app = _app(url)
    rng = random.Random(number)
    latencies, errors = [], Counter()
    with app.test_request_context():
        author = db.session.scalar(sa.select(User).where(User.username == f"writer{number}"))
        board = db.session.scalar(sa.select(Board))
        topic_ids = list(db.session.scalars(sa.select(Topic.id)))
        db.session.rollback()
        ready.put(number)
        go.wait()  # every writer starts at once, when all have loaded the app
        deadline = time.time() + seconds
        count = 0
        while time.time() < deadline:
            count += 1
            body = seed.post_source(number, count, rng.randint(200, 1200), reply=True)
            began = time.perf_counter()
            try:
                if rng.random() < NEW_TOPIC_SHARE:
                    posting.create_topic(author, board, f"From writer {number}, {count}", body)
                else:
                    posting.create_reply(author, db.session.get(Topic, rng.choice(topic_ids)), body)
                latencies.append((time.perf_counter() - began) * 1000)
            except Exception as error:  # noqa: BLE001 (counted and shown, whatever it is)
                db.session.rollback()
                errors[f"{type(error).__name__}: {str(error).splitlines()[0][:80]}"] += 1
        db.engine.dispose()
    results.put((latencies, dict(errors)))


def measure(url: str, writers: int, seconds: float) -> dict:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per writer
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=write, args=(url, number, seconds, ready, go, results))
        for number in range(writers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=300)
    go.set()
    latencies, errors = [], Counter()
    for _ in processes:
        done, failed = results.get(timeout=seconds + 120)
        latencies += done
        errors.update(failed)
    for process in processes:
        process.join(timeout=30)
    ordered = sorted(latencies)
    return {
        "writers": writers,
        "posts": len(ordered),
        "posts_per_second": len(ordered) / seconds,
        "p50_ms": statistics.median(ordered) if ordered else float("nan"),
        "p99_ms": ordered[max(0, round(0.99 * len(ordered)) - 1)] if ordered else float("nan"),
        "errors": dict(errors),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per step (5)")
    parser.add_argument(
        "--writers",
        default="1,2,5,10,20",
        help="numbers of concurrent writers to try (1,2,5,10,20)",
    )
    args = parser.parse_args()
    steps = [int(value) for value in args.writers.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="kindred-writers-"))
    os.environ["INSTANCE_PATH"] = str(folder)
    url = f"sqlite:///{folder / 'writers.db'}"
    prepare(url, max(steps))
    print(
        f"SQLite (WAL, busy_timeout 15 s), {os.cpu_count()} cores, {args.seconds:g}s per step, "
        "posts through forum.services.posting, one process per writer"
    )
    print("| writers | posts/s | p50 ms | p99 ms | errors |")
    print("|--------:|--------:|-------:|-------:|--------|")
    failed = False
    for writers in steps:
        figures = measure(url, writers, args.seconds)
        errors = "; ".join(f"{count} × {text}" for text, count in figures["errors"].items())
        failed = failed or bool(figures["errors"])
        print(
            f"| {writers:7} | {figures['posts_per_second']:7.1f} | {figures['p50_ms']:6.1f} | "
            f"{figures['p99_ms']:6.1f} | {errors or '0'} |",
            flush=True,
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{folder / 'writers.db'}{suffix}").unlink(missing_ok=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
