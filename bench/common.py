"""What the benchmarks share: where their figures come from, seeding, gunicorn and wrk.

* the facts a figure is only good with (commit, code fingerprint, machine, date);
* the seed's bookkeeping: refusing a database not meant for the benchmark, the
  fingerprint a seed is recorded under and the `bench_seed` record that lets a run reuse
  it, wiping and reseeding, the checks a seed must pass, what finishes a bulk load;
* a benchmark's set-up: wrk there, a temporary instance folder, the environment;
* HTTP as a browser does it (logging in through the form, a session cookie);
* gunicorn -w 2 on a free 127.0.0.1 port in a session of its own, its workers'
  CPU time from /proc, and wrk in a second process, its output read back;
* the interleaved measuring every page benchmark uses, and goals printed as met or missed.
"""

from __future__ import annotations

import atexit
import hashlib
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
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORKERS = 2


# --- where a figure comes from ---------------------------------------------------------


def source_fingerprint(patterns: Iterable[str], length: int = 16) -> str:
    """A hash of the files (globs under the repository) the figures or rows depend on."""
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(REPO_ROOT.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:length]


def commit() -> str:
    """The short commit the working tree is on (uncommitted changes are not in it)."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "commit": commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def backend(url: str) -> str:
    """ "sqlite" or "postgresql", from a database URL."""
    return url.split(":", 1)[0].split("+", 1)[0]


def stop_on_sigterm() -> None:
    """A SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop what the run started."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def prepare_run(database_url: str, prefix: str, *, wrk: bool = True) -> Path:
    """What a benchmark's main() does first: make sure wrk is installed (when the run will
    use it), let a SIGTERM stop what the run starts, and point Kindred, here and in the
    gunicorns started later, at `database_url` and a temporary instance folder (removed
    at exit). Returns the folder."""
    if wrk and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    stop_on_sigterm()
    instance = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, instance, ignore_errors=True)
    os.environ["INSTANCE_PATH"] = str(instance)
    os.environ["DATABASE_URL"] = database_url
    return instance


def server_env(**settings: str) -> dict:
    """The environment of the run's gunicorns: this process's (prepare_run's instance
    folder and database), a SECRET_KEY made for the run, and `settings`. Servers given the
    same one accept each other's session cookies."""
    return dict(os.environ, SECRET_KEY=secrets.token_urlsafe(32), **settings)


# --- seeding ---------------------------------------------------------------------------


def check_url_is_safe(url: str) -> None:
    """A seed wipes the database: refuse anything not plainly meant for the benchmark."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    if "bench" not in (parsed.database or ""):
        raise SystemExit(
            f"refusing to wipe database {parsed.database!r}: its name must contain 'bench'"
        )


def recorded_seed(url: str) -> dict | None:
    """The recorded seed, or None when the database is missing, empty or half-seeded."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return None
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("bench_seed"):
                return None
            row = conn.execute(sa.text("SELECT fingerprint, meta FROM bench_seed")).first()
            return {"fingerprint": row[0], "meta": json.loads(row[1])} if row else None
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if parsed.get_backend_name() == "postgresql":
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        return
    raise SystemExit(f"unsupported database: {parsed.get_backend_name()}")


def set_first_posts(conn: sa.Connection) -> None:
    """Bulk-inserted topics go in before their posts: give each its first_post_id
    afterwards, the lowest id among its posts (ids follow time), as the posting service
    sets it. A schema from before that column (migration 0012) is left as it is."""
    if "first_post_id" in {column["name"] for column in sa.inspect(conn).get_columns("topics")}:
        conn.execute(
            sa.text(
                "UPDATE topics SET first_post_id = "
                "(SELECT min(p.id) FROM posts p WHERE p.topic_id = topics.id)"
            )
        )


@dataclass(frozen=True)
class Seeder:
    """One benchmark's seed: how it is made, and what it is recorded under (its
    parameters, `version`, and a hash of `sources`, the files its rows depend on: a change
    to any of them makes the next run seed again).

    `make(url, params, fingerprint, log)` fills the wiped database at `url` and returns
    the seed's metadata (record_seed writes both once the seed is complete).
    `still_good(meta, log)` may refuse a recorded seed that is otherwise reusable.
    """

    make: Callable[..., dict]
    version: int
    sources: Sequence[str]
    reusing: str  # said when a recorded seed is reused
    seeding: str  # said before seeding
    scenario: str | None = None
    still_good: Callable[[dict, Callable[[str], None]], bool] = lambda meta, log: True

    def fingerprint(self, params) -> str:
        described = {
            "params": asdict(params),
            "seed_version": self.version,
            "sources": source_fingerprint(self.sources),
        }
        if self.scenario is not None:
            described["scenario"] = self.scenario
        return json.dumps(described, sort_keys=True)

    def ensure_seeded(self, url: str, params, force: bool = False, log=print) -> dict:
        """Seed `url` unless it already holds this seed; return the seed's metadata."""
        params.check()
        wanted = self.fingerprint(params)
        check_url_is_safe(url)
        recorded = None if force else recorded_seed(url)
        if (
            recorded
            and recorded["fingerprint"] == wanted
            and self.still_good(recorded["meta"], log)
        ):
            log(self.reusing)
            return recorded["meta"]
        log(self.seeding)
        fresh_database(url)
        return self.make(url, params, wanted, log)


def reset_sequences(conn: sa.Connection, tables: Iterable[str]) -> None:
    """After rows inserted with their ids, PostgreSQL's id sequences carry on past them
    (SQLite takes the next id from the table itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


def vacuum_analyze(engine: sa.Engine) -> None:
    """On PostgreSQL, what autovacuum would do soon after a bulk load, now: the plans (and
    a seed's checks) then run on settled statistics and all-visible pages."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def run_checks(engine: sa.Engine, checks: dict[str, str | sa.TextClause], seed_name: str) -> None:
    """Each query answers 0 (or false) when the seeded rows keep a rule; any other answer
    stops the seed, naming the rule."""
    with engine.connect() as conn:
        for name, query in checks.items():
            wrong = conn.scalar(sa.text(query) if isinstance(query, str) else query)
            if wrong:
                raise SystemExit(f"{seed_name} check failed: {name} ({wrong})")


def record_seed(engine: sa.Engine, fingerprint: str, meta: dict) -> None:
    """The last step of a seed: SQLite's write-ahead log folded into the database file,
    then the `bench_seed` record that lets later runs reuse it. Disposes of the engine."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_seed (fingerprint TEXT, meta TEXT)"))
        conn.execute(
            sa.text("INSERT INTO bench_seed VALUES (:f, :m)"),
            {"f": fingerprint, "m": json.dumps(meta)},
        )
    engine.dispose()


def app_for(url: str, **config):
    """Kindred's app on `url`, for seeding and set-up (an instance folder of its own);
    `config` overrides settings."""
    os.environ["DATABASE_URL"] = url
    from forum import create_app

    instance = Path(os.environ.get("INSTANCE_PATH") or BENCH_DIR / "instance")
    os.environ.setdefault("INSTANCE_PATH", str(instance))
    return create_app({"SECRET_KEY": "bench-seed", "SQLALCHEMY_DATABASE_URI": url, **config})


# --- HTTP as a browser -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


#: Every request of a run says it comes from the same browser (logging in, checking pages,
#: wrk): Flask-Login ties a session to its browser, and a session used from another one
#: is marked as not fresh, a change saved in a new cookie on every request.
USER_AGENT = "kindred-bench"


def fetch(url: str, cookie: str = "", timeout: float = 30) -> tuple[int, str]:
    """(status, body) of a GET, redirects not followed, with this Cookie header if any."""
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def login(base: str, username: str, password: str) -> str:
    """Log in through the form as a browser would; return the Cookie header to send."""
    jar = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(jar, _NoRedirect)
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(base + "/login", timeout=30) as response:
        form = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    if token is None:
        raise RuntimeError("no CSRF token in the login form")
    data = urllib.parse.urlencode(
        {"csrf_token": html.unescape(token.group(1)), "login": username, "password": password}
    ).encode()
    try:
        opener.open(base + "/login", data=data, timeout=30)
        raise RuntimeError(f"logging in as {username} did not redirect")
    except urllib.error.HTTPError as answer:
        if answer.code != 302:
            raise RuntimeError(f"logging in as {username} answered {answer.code}") from None
    # A browser then opens a page, whose forms give the session its CSRF secret, and keeps
    # the cookie that carries it. Replaying the cookie from before that page would make
    # every request of the run mint a new secret and send a new cookie.
    with opener.open(base + "/", timeout=30) as response:
        response.read()
    cookies = {cookie.name: cookie.value for cookie in jar.cookiejar}
    if "session" not in cookies:
        raise RuntimeError("no session cookie after logging in")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


# --- wrk ---------------------------------------------------------------------------------


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


def run_wrk(
    url: str,
    seconds: int,
    threads: int,
    connections: int,
    cookie: str = "",
    script: Path | None = None,
) -> Result:
    """wrk on `url` for `seconds`, with a session cookie or a Lua script if given."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "10s", "-H", f"User-Agent: {USER_AGENT}"]
    if script is not None:
        command += ["-s", str(script)]
    elif cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(url)
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    return parse_wrk(completed.stdout)


def aggregate(runs: list[Result]) -> Result:
    """Slices as one: requests over seconds; the median of the slices' percentiles."""
    requests = sum(run.requests for run in runs)
    timed = [run for run in runs if run.cpu_ms == run.cpu_ms]  # not NaN
    cpu = sum(run.cpu_ms * run.requests for run in timed) / max(1, sum(r.requests for r in timed))
    return Result(
        rps=requests / sum(run.seconds for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        requests=requests,
        errors="",
        seconds=sum(run.seconds for run in runs),
        cpu_ms=cpu if timed else float("nan"),
    )


# --- gunicorn --------------------------------------------------------------------------


def _has_control_socket() -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)


class Server:
    """gunicorn on 127.0.0.1 (sync workers), in its own session so it can be stopped cleanly.

    `app` is a WSGI path importable from the repository root, e.g. "bench.floor_app:app"
    or "forum:create_app()".
    """

    def __init__(self, env: dict, log_path: Path, app: str, workers: int = WORKERS):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.workers = workers
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
        command += ["--bind", f"127.0.0.1:{self.port}", "--pythonpath", str(REPO_ROOT)]
        command += ["--timeout", "60", "--error-logfile", str(log_path)]
        if _has_control_socket():
            command.append("--no-control-socket")  # gunicorn 27+ would open ~/.gunicorn/…
        command.append(app)
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

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


# --- measuring -------------------------------------------------------------------------


@dataclass
class Target:
    """A page to load: which server, which path, and the session cookie to send if any
    (or a wrk Lua script choosing the requests)."""

    server: Server
    path: str
    cookie: str = ""
    script: Path | None = None  # a wrk Lua script (it sends its own headers)


def _wrk(target: Target, seconds: int, args) -> Result:
    return run_wrk(
        target.server.base + target.path,
        seconds,
        args.threads,
        args.connections,
        cookie=target.cookie,
        script=target.script,
    )


def _timed_slice(target: Target, seconds: int, args) -> Result:
    """One wrk slice, with the workers' CPU time per request when no worker restarted."""
    server = target.server
    workers = server.worker_pids()
    cpu_before = server.cpu_seconds(workers)
    result = _wrk(target, seconds, args)
    if server.worker_pids() == workers:
        cpu = server.cpu_seconds(workers) - cpu_before
        result.cpu_ms = cpu * 1000 / max(result.requests, 1)
    return result


def measure_interleaved(
    targets: dict[str, Target], args, width: int = 10
) -> tuple[dict[str, Result], dict[str, list[Result]]]:
    """Each page for `args.duration` seconds per round, in turns of `args.slice` seconds.

    Other work on a shared machine comes in bursts; cycling through the pages in
    short slices spreads those bursts over all of them, so the ratios stay fair.
    Returns each page's aggregate and its slices.
    """
    slices = max(1, args.duration // args.slice)
    runs: dict[str, list[Result]] = {name: [] for name in targets}
    for target in targets.values():
        _wrk(target, args.warmup, args)
    for round_number in range(args.rounds):
        for slice_number in range(slices):
            order = list(targets.items())
            if (round_number * slices + slice_number) % 2:
                order.reverse()
            for name, target in order:
                result = _timed_slice(target, args.slice, args)
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors}")
                runs[name].append(result)
        for name in targets:
            done = aggregate(runs[name])
            print(
                f"  after round {round_number + 1}/{args.rounds}: {name:<{width}} "
                f"{done.rps:7.0f} req/s  p50 {done.p50_ms:6.2f} ms  p99 {done.p99_ms:6.2f} ms"
                f"  server CPU {done.cpu_ms:5.2f} ms/req",
                flush=True,
            )
    return {name: aggregate(results) for name, results in runs.items()}, runs


def add_load_arguments(parser, duration: int = 10, rounds: int = 3) -> None:
    """The wrk options every page benchmark takes."""
    parser.add_argument(
        "--duration",
        type=int,
        default=duration,
        help=f"seconds of load per page in each round (default {duration})",
    )
    parser.add_argument(
        "--rounds", type=int, default=rounds, help=f"rounds over all pages (default {rounds})"
    )
    parser.add_argument(
        "--slice",
        type=int,
        default=2,
        help="each page's seconds are run in wrk slices this long, the pages "
        "taking turns (default 2)",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of wrk on each page before measuring"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)


# --- goals -------------------------------------------------------------------------------


def met(value: float, goal: float, *, at_most: bool = False) -> str:
    """ "MET" or "MISSED": `value` against `goal`, at least it unless `at_most`."""
    ok = value <= goal if at_most else value >= goal
    return "MET" if ok else "MISSED"


def goal_line(label: str, value: float, goal: float, *, at_most: bool = False) -> str:
    sign = "<=" if at_most else ">="
    return f"{label}: {value:.2f} (goal {sign} {goal}): {met(value, goal, at_most=at_most)}"
