"""One database, Redis database and set of ports per pytest-xdist worker.

Under `pytest -n N` each worker process has PYTEST_XDIST_WORKER set (gw0, gw1, ...).
Worker k then uses:
- SQLite: its own temporary file (pytest's tmp dirs are already per worker);
- PostgreSQL: the database `<name>_gwk` beside the one DATABASE_URL names, created
  from that one's connection if it is missing (its schema is emptied each run);
- Redis: database number TEST_REDIS_URL's number + k (so `/14` with two workers uses 14
  and 15);
- ports: every server a test starts asks the OS for a free port, so workers never clash.
The rewritten DATABASE_URL and TEST_REDIS_URL are put back into the environment before any
test module is imported, so module-level reads and child processes see the worker's own.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlalchemy.engine import make_url

REDIS_DATABASES = 16  # redis.conf's default `databases`


def worker_index() -> int | None:
    """0 for gw0, 1 for gw1, ...; None outside xdist (or with -n 0)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name.removeprefix("gw")) if name.startswith("gw") else None


def normalised(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def worker_database_url(base_url: str, index: int) -> str:
    url = make_url(normalised(base_url))
    suffix = f"_gw{index}"
    if url.database.endswith(suffix):  # already this worker's (a child process)
        return url.render_as_string(hide_password=False)
    return url.set(database=url.database + suffix).render_as_string(hide_password=False)


def worker_redis_url(base_url: str, index: int) -> str:
    head, _, number = base_url.rstrip("/").rpartition("/")
    if not number.isdigit():  # no database number given: Redis's default 0
        head, number = base_url.rstrip("/"), "0"
    chosen = int(number) + index
    if chosen >= REDIS_DATABASES:
        raise RuntimeError(
            f"TEST_REDIS_URL {base_url} with worker gw{index} needs Redis database {chosen}; "
            f"give a lower number (workers use number + worker index, up to {REDIS_DATABASES - 1})"
        )
    return f"{head}/{chosen}"


def use_worker_services() -> str | None:
    """Point DATABASE_URL and TEST_REDIS_URL at this worker's own; the base database URL."""
    index = worker_index()
    base = os.environ.get("DATABASE_URL")
    if index is None or os.environ.get("KINDRED_TEST_WORKER_SERVICES") == str(index):
        return os.environ.get("KINDRED_TEST_BASE_DATABASE_URL", base)
    os.environ["KINDRED_TEST_WORKER_SERVICES"] = str(index)  # rewrite once per process tree
    if base:
        os.environ["KINDRED_TEST_BASE_DATABASE_URL"] = base
        if base.startswith("postgres"):
            os.environ["DATABASE_URL"] = worker_database_url(base, index)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        os.environ["TEST_REDIS_URL"] = worker_redis_url(redis_url, index)
    return base


def create_database_if_missing(base_url: str, url: str) -> None:
    """CREATE DATABASE `url`'s database through the base database's connection."""
    name = make_url(url).database
    engine = sa.create_engine(normalised(base_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
