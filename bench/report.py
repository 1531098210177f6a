"""The page benchmark's tables and goals (bench/run.py measures, this prints)."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from bench import common
from bench.common import Result

TOPIC_GOAL = 0.5  # logged-out topic page throughput / floor throughput, at least
DEEP_GOAL = 1.5  # page-N latency / page-1 latency, at most
#: The members' pages (issue "part 6"): throughput against each floor, at least; server
#: CPU per request against the logged-out cached topic page, at most; the topic page's size.
MEMBER_IN_APP_GOAL = 0.45
MEMBER_BARE_GOAL = 0.25
MEMBER_CPU_GOAL = 2.0
MEMBER_TOPIC_KB_GOAL = 60

_TABLE_HEAD = [
    "| page                               |   KB |  req/s | p50 ms | p99 ms | vs in-app floor "
    "| vs bare floor | server CPU ms/req |",
    "|------------------------------------|-----:|-------:|-------:|-------:|----------------:"
    "|--------------:|------------------:|",
]


def labels(deep_page: int) -> dict[str, str]:
    return {
        "floor-topic": "floor (topic-page size)",
        "topic": "topic page, 20 posts",
        "topic-uncached": "topic page, cache off",
        "floor-board": "floor (board-page size)",
        "board-1": "board page 1",
        f"board-{deep_page}": f"board page {deep_page}",
        "floor-member-topic": "in-app floor (member topic size)",
        "bare-member-topic": "bare Flask floor (same bytes)",
        "member-topic": "member: topic page, 20 posts",
        "floor-member-board": "in-app floor (member board size)",
        "bare-member-board": "bare Flask floor (same bytes)",
        "member-board": "member: board page 1",
    }


def floors(deep_page: int) -> dict[str, tuple[str, str | None]]:
    """Each page's (in-app floor, bare floor or None)."""
    return {
        "floor-topic": ("floor-topic", None),
        "topic": ("floor-topic", None),
        "topic-uncached": ("floor-topic", None),
        "floor-board": ("floor-board", None),
        "board-1": ("floor-board", None),
        f"board-{deep_page}": ("floor-board", None),
        "floor-member-topic": ("floor-member-topic", "bare-member-topic"),
        "bare-member-topic": ("floor-member-topic", "bare-member-topic"),
        "member-topic": ("floor-member-topic", "bare-member-topic"),
        "floor-member-board": ("floor-member-board", "bare-member-board"),
        "bare-member-board": ("floor-member-board", "bare-member-board"),
        "member-board": ("floor-member-board", "bare-member-board"),
    }


def _share(r: dict[str, Result], name: str, floor: str | None) -> str:
    if floor is None or floor not in r:
        return ""
    return f"{r[name].rps / r[floor].rps:.2f}"


def table(args, sizes: dict[str, int], r: dict[str, Result]) -> list[str]:
    names, floor_of = labels(args.deep_page), floors(args.deep_page)
    lines = list(_TABLE_HEAD)
    for name, result in r.items():
        in_app, bare = floor_of[name]
        lines.append(
            f"| {names[name]:<34} | {sizes[name] / 1000:>4.1f} | {result.rps:>6.0f} | "
            f"{result.p50_ms:>6.2f} | {result.p99_ms:>6.2f} | {_share(r, name, in_app):>15} "
            f"| {_share(r, name, bare):>13} | {result.cpu_ms:>17.2f} |"
        )
    return lines


def logged_out_goals(args, r: dict[str, Result]) -> list[str]:
    lines = []
    if {"topic", "floor-topic"} <= r.keys():
        topic_share = r["topic"].rps / r["floor-topic"].rps
        cpu_share = r["floor-topic"].cpu_ms / r["topic"].cpu_ms
        lines.append(
            f"{common.goal_line('Topic page throughput / floor', topic_share, TOPIC_GOAL)}  "
            f"[by server CPU per request: {cpu_share:.2f}]"
        )
    if {"topic-uncached", "floor-topic"} <= r.keys():
        uncached = r["topic-uncached"].rps / r["floor-topic"].rps
        lines.append(f"  with the page cache off (PAGE_CACHE_MB=0): {uncached:.2f}")
    deep = f"board-{args.deep_page}"
    if {deep, "board-1"} <= r.keys():
        p50 = r[deep].p50_ms / r["board-1"].p50_ms
        p99 = r[deep].p99_ms / r["board-1"].p99_ms
        label = f"Board page {args.deep_page} p50 latency / page 1"
        lines.append(
            f"{common.goal_line(label, p50, DEEP_GOAL, at_most=True)}  [p99 {p99:.2f}; "
            f"server CPU per request: {r[deep].cpu_ms / r['board-1'].cpu_ms:.2f}]"
        )
    return lines


def member_goals(sizes: dict[str, int], r: dict[str, Result]) -> list[str]:
    """Whether each of the members' goals is met, one line each."""
    lines = []
    for page, label in (
        ("member-topic", "Member topic page"),
        ("member-board", "Member board page 1"),
    ):
        kind = page.split("-")[1]
        in_app = r[page].rps / r[f"floor-member-{kind}"].rps
        bare = r[page].rps / r[f"bare-member-{kind}"].rps
        lines.append(common.goal_line(f"{label} / in-app floor", in_app, MEMBER_IN_APP_GOAL))
        lines.append(common.goal_line(f"{label} / bare Flask floor", bare, MEMBER_BARE_GOAL))
        cpu = r[page].cpu_ms / r["topic"].cpu_ms
        lines.append(
            common.goal_line(
                f"{label} server CPU / logged-out cached topic page",
                cpu,
                MEMBER_CPU_GOAL,
                at_most=True,
            )
        )
    kb = sizes["member-topic"] / 1000
    lines.append(
        f"Member topic page size: {kb:.1f} KB (goal < {MEMBER_TOPIC_KB_GOAL} KB): "
        f"{'MET' if kb < MEMBER_TOPIC_KB_GOAL else 'MISSED'}"
    )
    return lines


def render(args, meta: dict, member: dict | None, sizes, r, elapsed: float, load) -> str:
    facts = common.machine()
    lines = [
        "",
        f"Kindred benchmark, {facts['date']}, commit {facts['commit']}, {facts['cores']} cores, "
        f"Python {platform.python_version()}, database: {common.backend(args.database_url)}",
        f"Seed: {meta['posts']:,} posts, {meta['topics']:,} topics, {meta['boards']} boards, "
        f"{meta['users']:,} members; bodies {meta['body_min']}-{meta['body_max']} chars "
        f"(mean {meta['body_avg']}); board /b/{meta['deep_board_slug']} has "
        f"{meta['deep_board_topics']:,} topics",
    ]
    if member:
        lines.append(
            f"Member {member['username']}, logged in: {member['blocks']} blocks, "
            f"{member['muted_phrases']} muted phrases, {member['muted_boards']} muted board; "
            f"their topic /t/{member['topic_id']}: {member['posts']} posts, "
            f"{member['own_posts']} their own, {member['reactions']} reactions"
        )
    lines += [
        f"Server: gunicorn --workers {common.WORKERS} (sync) on 127.0.0.1; "
        f"load: wrk -t{args.threads} -c{args.connections} -d{args.slice}s --latency "
        f"(separate process), pages taking turns, {args.rounds} x {args.duration}s per page "
        f"after {args.warmup}s warm-up; req/s over all slices, p50/p99 the median of the "
        "slices; server CPU from the workers' /proc/<pid>/stat before and after each slice",
        "",
        *table(args, sizes, r),
    ]
    if goals := logged_out_goals(args, r):
        lines += ["", *goals]
    if member:
        lines += ["", *member_goals(sizes, r)]
    lines.append(
        f"Total time {elapsed:.0f}s. 1-minute load average {load[0]:.1f} before the run, "
        f"{load[1]:.1f} at its end (the run itself adds about 2); anything else running "
        "shares the 2 cores, so compare the ratios, not absolute figures across runs."
    )
    return "\n".join(lines)


def as_json(args, meta, member, sizes, r, load) -> dict:
    return {
        "meta": meta,
        "member": member,
        "sizes": sizes,
        "database": common.backend(args.database_url),
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "commit": common.commit(),
        "cores": os.cpu_count(),
        "load": load,
        "duration": args.duration,
        "rounds": args.rounds,
        "results": {name: vars(result) for name, result in r.items()},
    }
