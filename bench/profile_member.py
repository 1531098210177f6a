"""Where a logged-in member's topic page spends its time: cProfile over test-client requests.

    .venv/bin/python -m bench.profile_member [--database-url URL] [--requests 200] [--page topic]

Uses the page benchmark's seed and member (bench/seed.py, bench/member.py: run
`python -m bench.run` once first, or this seeds them), logs the member in through the
login form of Flask's test client, warms up, then profiles `--requests` GETs of the
member's topic page (or board page 1) in this process and prints the functions with
the most cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import os
import pstats
import re
import tempfile
import time

from bench import common, seed
from bench import member as bench_member


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or f"sqlite:///{seed.DEFAULT_SQLITE}",
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--page", choices=("topic", "board"), default="topic")
    parser.add_argument("--top", type=int, default=25, help="rows of each listing")
    args = parser.parse_args()
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="kindred-profile-"))
    meta = seed.ensure_seeded(args.database_url, seed.Params())
    member = bench_member.ensure_member(args.database_url, meta)
    path = f"/t/{member['topic_id']}" if args.page == "topic" else f"/b/{meta['deep_board_slug']}"
    app = common.app_for(args.database_url, MAIL_BACKEND="memory", RATELIMIT_ENABLED=False)
    with app.test_client() as client:
        form = client.get("/login").get_data(as_text=True)
        token = html.unescape(
            re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
        )
        login = {"csrf_token": token, "login": member["username"], "password": member["password"]}
        if client.post("/login", data=login).status_code != 302:
            raise SystemExit("could not log the member in")
        for _ in range(20):
            client.get(path)
        profiler = cProfile.Profile()
        began = time.process_time()
        profiler.enable()
        for _ in range(args.requests):
            if client.get(path).status_code != 200:
                raise SystemExit(f"{path} did not answer 200")
        profiler.disable()
        spent = (time.process_time() - began) * 1000 / args.requests
    print(f"{path} as {member['username']}: {spent:.2f} ms of CPU a request under cProfile")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
