"""Build and send every digest: 10,000 members due, 100,000 posts in their day.

    .venv/bin/python -m bench.digests                 # SQLite and PostgreSQL, 0, 1,000, 10,000
    .venv/bin/python -m bench.digests --database-url sqlite:///bench/digests.db
    .venv/bin/python -m bench.digests --profile        # one 1,000-member send under cProfile
    .venv/bin/python -m bench.digests --sink aiosmtpd  # the old sink, for comparison

Seeds (or reuses) a forum with a busy day (bench/seed_digests.py), starts an
SMTP sink on 127.0.0.1, no TLS (it counts messages and bytes, keeps one message
in a hundred to read afterwards, and drops the rest), then for each
run: moves the forum's clock to now, clears digest_deliveries and the outbox,
makes exactly N members due (their digest covering the last 24 hours) and the
others due in ten years, and runs `python -m flask --app wsgi digests send` as
one or two subprocesses, as cron would. It measures the wall time until the
last one exits, each one's CPU time (os.wait4) and its peak and final resident
size (VmHWM and VmRSS from /proc as it exits), then checks that every due member
got exactly one digest: one delivery row each and none for anyone else, one
message each at the sink, nothing left waiting in the outbox, and nothing hidden
or pending in the messages kept.

The sink runs in this process, on the cores the sender is measured on: by default
the lean one in bench/smtp_sink.py, as a real mail server (elsewhere, or in C)
costs the sender's machine nothing; aiosmtpd spends 2-5 ms of CPU per digest
reading it line by line in Python, which the wall time would largely measure.

Goals (issue 4): under 60 seconds for 10,000 members on one process; memory flat
as the member count grows (10,000 against 1,000). See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import sqlalchemy as sa

from bench import common, seed_digests, smtp_sink
from bench.common import REPO_ROOT

DEFAULT_URLS = [
    f"sqlite:///{seed_digests.DEFAULT_SQLITE}",
    "postgresql+psycopg://postgres@127.0.0.1:5432/bench_digests",
]
GOAL_SECONDS = 60.0
GOAL_MEMBERS = 10_000
SECRET_KEY = "bench-digests-secret"
BASE_URL = "https://kindred.example"
KEEP_EVERY = 100  # the sink keeps one message in this many, to read after the run
SUMMARY = re.compile(
    r"(\d+) members due: sent (\d+), nothing new for (\d+), "
    r"skipped (\d+), failed (\d+)\."
)


# --- the SMTP sink ---------------------------------------------------------------------


class Sink:
    """The sinks' handler: counts what arrives, per recipient, and drops it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.messages = 0
            self.bytes = 0
            self.recipients: collections.Counter[str] = collections.Counter()
            self.kept: list[bytes] = []

    def received(self, rcpt_tos: list[str], content: bytes) -> None:
        """One message (as the sender's `sendmail` was given it), from either sink."""
        with self.lock:
            self.messages += 1
            self.bytes += len(content)
            self.recipients.update(rcpt_tos)
            if self.messages % KEEP_EVERY == 1:
                self.kept.append(content)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's)
        self.received(envelope.rcpt_tos, envelope.original_content or b"")
        return "250 OK"


SINKS = ("lean", "aiosmtpd")


def start_sink(kind: str = "lean"):
    """(handler, controller): either has `.port` and `.stop()`."""
    sink = Sink()
    if kind == "lean":
        return sink, smtp_sink.start(sink)
    from aiosmtpd.controller import Controller

    # aiosmtpd 1.4.6 cannot listen on port 0: ask the OS for a free port first.
    controller = Controller(sink, hostname="127.0.0.1", port=common.free_port())
    controller.start()
    return sink, controller


# --- one run -----------------------------------------------------------------------------


@dataclass
class Result:
    database: str
    members: int
    processes: int
    seconds: float
    peak_rss_mb: list[float]
    last_rss_mb: list[float]  # resident as it exits
    cpu_seconds: list[float]  # user + system, per process
    system_cpu_seconds: list[float]  # the kernel's part of it (sockets, file writes)
    sent_per_process: list[int]
    messages: int
    megabytes: float
    sink_cpu_seconds: float  # this process meanwhile: the SMTP sink's share of the cores
    reset_seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.members / self.seconds if self.seconds else 0.0


def _engine(url: str):
    # This process builds no app, so it attaches the SQLite connect hook itself (WAL,
    # the busy timeout and foreign keys on every connection), as create_app would.
    from forum import sqlite_tuning

    sqlite_tuning.attach_listeners()
    return sa.create_engine(url)


def reset(engine, meta: dict, members: int, log=print) -> tuple[dict, datetime]:
    """Make exactly the first `members` digest members due, each at their own last
    scheduled time (their hour, in their timezone, within the last day), their digest
    covering the last 24 hours; the others due in ten years."""
    from forum.digests import schedule
    from forum.models import MailSettings, UTCDateTime

    now = datetime.now(UTC)
    meta = seed_digests.shift_to_now(engine, meta, now, log)
    utc = UTCDateTime()
    settings = MailSettings.__table__
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM digest_deliveries"))
        # Bodies first, not left to ON DELETE CASCADE: SQLite enforces foreign keys
        # only on connections that ask (forum's connect hook), and this is raw SQL.
        conn.execute(sa.text("DELETE FROM outbox_bodies"))
        conn.execute(sa.text("DELETE FROM outbox"))
        conn.execute(
            sa.update(settings)
            .where(settings.c.digest == "daily")
            .values(
                next_digest_at=now + timedelta(days=3650),
                digest_covered_until=now - seed_digests.PERIOD,
            )
        )
        chosen = conn.execute(
            sa.select(
                settings.c.user_id,
                settings.c.digest_hour,
                settings.c.digest_weekday,
                settings.c.timezone,
            ).where(settings.c.digest == "daily", settings.c.user_id <= members)
        ).all()
        if chosen:
            # A real due time, so the period and the next due time come out as in
            # production (due "a minute ago" would be the start of a period for some).
            conn.execute(
                sa.update(settings)
                .where(settings.c.user_id == sa.bindparam("member"))
                .values(next_digest_at=sa.bindparam("due", type_=utc)),
                [
                    {
                        "member": user_id,
                        "due": schedule.next_due(
                            "daily", hour, weekday, timezone, now - timedelta(days=1)
                        ),
                    }
                    for user_id, hour, weekday, timezone in chosen
                ],
            )
        due = conn.scalar(
            sa.text("SELECT count(*) FROM mail_settings WHERE next_digest_at <= :now").bindparams(
                sa.bindparam("now", type_=utc)
            ),
            {"now": now},
        )
    if due != members:
        raise SystemExit(f"reset made {due} members due, not {members}")
    if engine.dialect.name == "postgresql":
        # What the previous run deleted and rewrote, and the clock's move (every post
        # rewritten): as autovacuum would soon leave it, so runs do not read dead rows.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                sa.text(
                    "VACUUM ANALYZE digest_deliveries, outbox, outbox_bodies, "
                    "mail_settings, posts, topics, boards"
                )
            )
    else:
        with engine.connect() as conn:
            conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return meta, now


def _environment(url: str, port: int, instance: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_STARTTLS": "0",
        "SMTP_SSL": "0",
        "SECRET_KEY": SECRET_KEY,
        "INSTANCE_PATH": instance,
        "BASE_URL": BASE_URL,
        "PYTHONUNBUFFERED": "1",
    }


#: `python -m flask`, plus a note of the process's memory as it exits. The peak comes from
#: /proc (VmHWM: this program's own, from its exec on); wait4's ru_maxrss would not do,
#: as Linux carries the parent's resident size at fork into it.
LAUNCH = """\
import atexit, runpy, sys
status = sys.argv.pop(1)
def keep():
    with open("/proc/self/status") as source, open(status, "w") as out:
        out.write(source.read())
atexit.register(keep)
sys.argv[0] = "flask"
runpy.run_module("flask", run_name="__main__", alter_sys=True)
"""


def run_senders(url: str, processes: int, port: int, instance: str) -> dict:
    """Start the senders together; wall time to the last exit, each one's CPU and memory."""
    env = _environment(url, port, instance)
    outputs = [tempfile.TemporaryFile() for _ in range(processes)]
    statuses = [Path(instance) / f"status-{index}" for index in range(processes)]
    for status in statuses:
        status.unlink(missing_ok=True)
    finished: dict[int, tuple[float, int, object]] = {}

    began = time.perf_counter()
    senders = [
        subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(status), "--app", "wsgi", "digests", "send"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        for output, status in zip(outputs, statuses, strict=True)
    ]

    def wait(index: int, sender: subprocess.Popen) -> None:
        _, status, usage = os.wait4(sender.pid, 0)
        finished[index] = (time.perf_counter() - began, os.waitstatus_to_exitcode(status), usage)
        sender.returncode = finished[index][1]

    waiters = [
        threading.Thread(target=wait, args=(index, sender)) for index, sender in enumerate(senders)
    ]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()
    seconds = max(at for at, _, _ in finished.values())

    texts = []
    for output in outputs:
        output.seek(0)
        texts.append(output.read().decode(errors="replace"))
        output.close()
    for index in range(processes):
        if finished[index][1] != 0:
            raise SystemExit(
                f"sender {index + 1} exited with {finished[index][1]}:\n{texts[index][-3000:]}"
            )
    summaries = []
    for text in texts:
        found = SUMMARY.search(text)
        if found is None:
            raise SystemExit(f"no summary line in the sender's output:\n{text[-3000:]}")
        summaries.append([int(number) for number in found.groups()])
    memory = [_memory(status) for status in statuses]
    return {
        "seconds": seconds,
        "peak_rss_mb": [peak for peak, _ in memory],
        "last_rss_mb": [last for _, last in memory],
        "cpu_seconds": [
            finished[index][2].ru_utime + finished[index][2].ru_stime for index in range(processes)
        ],
        "system_cpu_seconds": [finished[index][2].ru_stime for index in range(processes)],
        "summaries": summaries,
    }


def _memory(status: Path) -> tuple[float, float]:
    """(peak, at exit) resident size in MB, from the /proc status a sender left."""
    text = status.read_text()
    peak, last = (
        int(re.search(rf"^{name}:\s+(\d+) kB", text, re.MULTILINE).group(1)) / 1024
        for name in ("VmHWM", "VmRSS")
    )
    return peak, last


def check(
    engine, sink: Sink, members: int, summaries: list[list[int]], reset_at: datetime
) -> list[str]:
    """Everything that must hold after a run; returns the problems found."""
    problems = []
    with engine.connect() as conn:
        due_emails = set(
            conn.scalars(
                sa.text(
                    "SELECT u.email FROM users u JOIN mail_settings m ON m.user_id = u.id "
                    "WHERE m.digest = 'daily' AND m.user_id <= :n"
                ),
                {"n": members},
            )
        )
        deliveries = dict(
            conn.execute(
                sa.text("SELECT status, count(*) FROM digest_deliveries GROUP BY status")
            ).all()
        )
        per_member = conn.execute(
            sa.text("SELECT count(DISTINCT user_id), count(*), max(user_id) FROM digest_deliveries")
        ).one()
        outbox = conn.execute(
            sa.text(
                "SELECT count(*), sum(CASE WHEN sent_at IS NULL AND failed_at IS NULL "
                "THEN 1 ELSE 0 END), sum(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END) "
                "FROM outbox"
            )
        ).one()
        # Moved on past the run's start (a member whose next hour came during a long
        # run is rightly due again by now).
        still_due = conn.scalar(
            sa.text("SELECT count(*) FROM mail_settings WHERE next_digest_at <= :reset").bindparams(
                sa.bindparam("reset", type_=_utc())
            ),
            {"reset": reset_at},
        )
    if per_member[0] != members or per_member[1] != members or (per_member[2] or 0) > members:
        problems.append(
            f"deliveries: {per_member[1]} rows for {per_member[0]} members "
            f"(want exactly one for each of {members}, none for others)"
        )
    if deliveries.get("queued", 0) != members:
        problems.append(
            f"deliveries by status {deliveries}: expected every digest to have "
            "news (the seed gives every member some)"
        )
    if outbox[0] != members or outbox[1] or outbox[2]:
        problems.append(f"outbox: {outbox[0]} rows, {outbox[1]} waiting, {outbox[2]} failed")
    if still_due:
        problems.append(f"{still_due} members not moved on past the run")
    sent = sum(summary[1] for summary in summaries)
    if sent != members or any(summary[3] or summary[4] for summary in summaries):
        problems.append(f"the senders reported {summaries} (members, sent, empty, skipped, failed)")
    with sink.lock:
        received, recipients, kept = sink.messages, sink.recipients, list(sink.kept)
    if (
        received != members
        or set(recipients) != due_emails
        or any(count != 1 for count in recipients.values())
    ):
        twice = sum(1 for count in recipients.values() if count > 1)
        problems.append(
            f"sink: {received} messages to {len(recipients)} addresses "
            f"({twice} more than once, {len(due_emails - set(recipients))} due "
            "members missing)"
        )
    problems += _read_kept(kept)
    return problems


def _utc():
    from forum.models import UTCDateTime

    return UTCDateTime()


def _read_kept(kept: list[bytes]) -> list[str]:
    """The messages the sink kept: digests with an unsubscribe link, nothing held back."""
    problems = []
    for raw in kept:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        parts = [
            part.get_content()
            for part in message.walk()
            if part.get_content_type() in ("text/plain", "text/html")
        ]
        text = "\n".join(parts)
        if "digest" not in message["Subject"] or not message["List-Unsubscribe"] or len(parts) != 2:
            problems.append(f"a message does not look like a digest: {message['Subject']!r}")
        for marker in (seed_digests.HIDDEN_MARKER, seed_digests.PENDING_MARKER):
            if marker in text:
                problems.append(f"a digest shows a post it must not ({marker})")
    return problems


def measure(
    url: str,
    meta: dict,
    members: int,
    processes: int,
    sink: Sink,
    port: int,
    instance: str,
    log=print,
) -> tuple[Result, dict]:
    engine = _engine(url)
    try:
        began = time.perf_counter()
        meta, reset_at = reset(engine, meta, members, log)
        reset_seconds = time.perf_counter() - began
        sink.reset()
        sink_began = time.process_time()
        figures = run_senders(url, processes, port, instance)
        sink_cpu = time.process_time() - sink_began
        problems = check(engine, sink, members, figures["summaries"], reset_at)
    finally:
        engine.dispose()
    with sink.lock:
        messages, size = sink.messages, sink.bytes
    return Result(
        database=_label(url),
        members=members,
        processes=processes,
        seconds=figures["seconds"],
        peak_rss_mb=figures["peak_rss_mb"],
        last_rss_mb=figures["last_rss_mb"],
        cpu_seconds=figures["cpu_seconds"],
        system_cpu_seconds=figures["system_cpu_seconds"],
        sent_per_process=[summary[1] for summary in figures["summaries"]],
        messages=messages,
        megabytes=size / 1e6,
        sink_cpu_seconds=sink_cpu,
        reset_seconds=reset_seconds,
        problems=problems,
    ), meta


def _absolute(url: str) -> str:
    """A relative SQLite path, made absolute: Flask-SQLAlchemy would read it against the
    app's instance folder, the subprocess's a temporary one."""
    parsed = sa.engine.make_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and parsed.database
        and not Path(parsed.database).is_absolute()
    ):
        return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(
            hide_password=False
        )
    return url


def _label(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


# --- the profile -------------------------------------------------------------------------


def profile(url: str, meta: dict, members: int, sink: Sink, port: int, instance: str) -> None:
    """One send in this process under cProfile: where the time goes."""
    import cProfile
    import pstats

    engine = _engine(url)
    try:
        meta, _ = reset(engine, meta, members)
    finally:
        engine.dispose()
    sink.reset()
    os.environ.update(_environment(url, port, instance))
    from forum import create_app
    from forum.digests import run

    app = create_app({"SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        report = run.send_due()
        profiler.disable()
        seconds = time.perf_counter() - began
    print(
        f"\n{_label(url)}: {members:,} members in {seconds:.1f} s under cProfile "
        f"(sent {report.sent}, empty {report.empty}, skipped {report.skipped}, "
        f"failed {report.failed}; the sink took {sink.messages:,})"
    )
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)


# --- output ------------------------------------------------------------------------------


def print_table(results: list[Result]) -> None:
    header = (
        f"| {'database':<10} | {'members':>7} | {'processes':>9} | {'seconds':>7} | "
        f"{'digests/s':>9} | {'peak RSS MB':<11} | {'RSS at exit MB':<14} | "
        f"{'CPU s':<11} "
        f"| {'messages':>8} | {'MB sent':>7} | {'sink CPU s':>10} |"
    )
    print()
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for r in results:
        rss = ", ".join(f"{value:.0f}" for value in r.peak_rss_mb)
        end = ", ".join(f"{value:.0f}" for value in r.last_rss_mb)
        cpu = ", ".join(f"{value:.1f}" for value in r.cpu_seconds)
        print(
            f"| {r.database:<10} | {r.members:>7,} | {r.processes:>9} | {r.seconds:>7.1f} | "
            f"{r.per_second:>9.0f} | {rss:<11} | {end:<14} | {cpu:<11} | {r.messages:>8,} | "
            f"{r.megabytes:>7.1f} | {r.sink_cpu_seconds:>10.1f} |"
        )


def goal_lines(results: list[Result]) -> list[str]:
    lines = []
    for database in dict.fromkeys(r.database for r in results):
        single = sorted(
            (r for r in results if r.database == database and r.processes == 1),
            key=lambda r: r.members,
        )
        if not single:
            continue
        largest = single[-1]
        if largest.members < GOAL_MEMBERS:
            verdict = f"the goal is for {GOAL_MEMBERS:,} members"
        else:
            verdict = "met" if largest.seconds < GOAL_SECONDS else "NOT met"
        lines.append(
            f"{database}: {largest.members:,} members on one process in "
            f"{largest.seconds:.1f} s, {largest.cpu_seconds[0]:.1f} s of CPU "
            f"({largest.system_cpu_seconds[0]:.1f} s of it in the kernel) "
            f"(goal under {GOAL_SECONDS:.0f} s): {verdict}"
        )
        some = [r for r in single if r.members]
        if len(some) > 1:
            smallest = some[0]
            ratio = largest.peak_rss_mb[0] / smallest.peak_rss_mb[0]
            lines.append(
                f"{database}: peak RSS {smallest.peak_rss_mb[0]:.0f} MB at "
                f"{smallest.members:,} members, {largest.peak_rss_mb[0]:.0f} MB at "
                f"{largest.members:,} (x{ratio:.2f}); at exit "
                f"{smallest.last_rss_mb[0]:.0f} and {largest.last_rss_mb[0]:.0f} MB"
            )
        for r in single:
            if not r.members:
                lines.append(
                    f"{database}: with nobody due the command takes {r.seconds:.1f} s "
                    f"and {r.peak_rss_mb[0]:.0f} MB (start-up: imports, the app)"
                )
        for r in results:
            if r.database == database and r.processes > 1:
                lines.append(
                    f"{database}: {r.members:,} members on {r.processes} processes in "
                    f"{r.seconds:.1f} s (each sent "
                    f"{', '.join(f'{n:,}' for n in r.sent_per_process)})"
                )
    return lines


#: What the measured work runs (uncommitted changes included): figures name its hash.
CODE = [
    "forum/digests/*.py",
    "forum/outbox/*.py",
    "forum/mail/*.py",
    "forum/mail_rules.py",
    "forum/services/mail_settings.py",
    "templates/email/*",
]


def code_fingerprint() -> str:
    return common.source_fingerprint(CODE, length=10)


def machine(sink: str) -> dict:
    import sqlite3
    from importlib.metadata import version

    facts = common.machine()
    return {
        "python": facts["python"],
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
        "flask": version("flask"),
        "psycopg": version("psycopg"),
        "sink": sink if sink == "lean" else f"aiosmtpd {version('aiosmtpd')}",
        "cores": facts["cores"],
        "commit": facts["commit"],
        "code": code_fingerprint(),
        "date": facts["date"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        action="append",
        help="database to seed and use (may be given twice; default: "
        "bench/digests.db and PostgreSQL bench_digests)",
    )
    parser.add_argument(
        "--members-list",
        default="0,1000,10000",
        help="members due in each single-process run (comma-separated; 0 "
        "measures start-up); PostgreSQL also runs 2 processes at the "
        "largest",
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if current")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--sink",
        choices=SINKS,
        default="lean",
        help="the SMTP sink in this process: lean (bench/smtp_sink.py) or "
        "aiosmtpd, which costs 2-5 ms of CPU a message (default: lean)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: one 1,000-member send in this process under cProfile",
    )
    args = parser.parse_args()
    urls = [_absolute(url) for url in args.database_url or DEFAULT_URLS]
    counts = sorted({int(n) for n in args.members_list.split(",")})
    p = seed_digests.Params()
    if counts[-1] > p.members:
        raise SystemExit(f"the seed has {p.members:,} members with a digest")

    facts = machine(args.sink)
    print(", ".join(f"{key} {value}" for key, value in facts.items()))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    metas = {url: seed_digests.ensure_seeded(url, p, force=args.reseed) for url in urls}
    sink, controller = start_sink(args.sink)
    instance = tempfile.mkdtemp(prefix="kindred-bench-digests-")
    results: list[Result] = []
    try:
        if args.profile:
            for url in urls:
                profile(url, metas[url], min(1000, counts[-1]), sink, controller.port, instance)
            return
        for url in urls:
            plan = [(n, 1) for n in counts]
            if url.startswith("postgresql"):
                plan.append((counts[-1], 2))
            for members, processes in plan:
                print(
                    f"{_label(url)}: {members:,} members, {processes} process"
                    f"{'es' if processes > 1 else ''}...",
                    flush=True,
                )
                result, metas[url] = measure(
                    url, metas[url], members, processes, sink, controller.port, instance
                )
                results.append(result)
                print(
                    f"  {result.seconds:.1f} s, peak RSS "
                    f"{', '.join(f'{v:.0f}' for v in result.peak_rss_mb)} MB, "
                    f"{result.messages:,} messages"
                    + (f"; PROBLEMS: {result.problems}" if result.problems else "; checks ok"),
                    flush=True,
                )
    finally:
        controller.stop()
        shutil.rmtree(instance, ignore_errors=True)
    print_table(results)
    print()
    for line in goal_lines(results):
        print(line)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if code_fingerprint() != facts["code"]:
        print(
            "WARNING: the digest, outbox or mail code changed during the run; "
            "the figures mix two versions."
        )
    failed = [r for r in results if r.problems]
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": facts,
                    "seeds": metas,
                    "results": [{**asdict(r), "per_second": r.per_second} for r in results],
                    "goals": goal_lines(results),
                },
                indent=2,
            )
        )
    if failed:
        raise SystemExit(f"{len(failed)} runs failed their checks")


if __name__ == "__main__":
    main()
