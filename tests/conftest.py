"""Fixtures shared by the whole suite.

The database is migrated once per run with the real migrations (so the tests
exercise them), then emptied between tests. Set DATABASE_URL to a PostgreSQL
URL to run everything against PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask_sqlalchemy import SQLAlchemy

from forum import create_app, mail
from forum.extensions import db
from forum.services import accounts
from tests.helpers import workers
from tests.helpers.app import (
    TEMPLATE_CODE,
    TEST_PASSWORD,
    BufferedClient,
    EnginesForTheRun,
    Factory,
    app_settings,
    empty_database,
    log_in,
)

BASE_DATABASE_URL = pytest.StashKey[str | None]()


def pytest_configure(config):
    # Before any test module is imported: some read TEST_REDIS_URL at import time.
    config.stash[BASE_DATABASE_URL] = workers.use_worker_services()


E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.browser)


def pytest_report_header(config):
    return f"database: {_database_url_for_display()}"


def _database_url_for_display() -> str:
    return os.environ.get("DATABASE_URL") or "SQLite (temporary file)"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, pytestconfig) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kindred-test.db'}"
    url = workers.normalised(url)
    base = pytestconfig.stash[BASE_DATABASE_URL]
    # Under xdist, a worker's own database beside the base one (see tests/helpers/workers.py).
    if base and workers.normalised(base) != url and url.startswith("postgresql"):
        workers.create_database_if_missing(base, url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # a clean schema, so a second run starts clean
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def migrated_database(database_url, tmp_path_factory) -> str:
    """Run the real migrations once; tests then share the schema."""
    from flask_migrate import upgrade

    app = create_app(app_settings(database_url, None))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture(scope="session", autouse=True)
def engines_shared_by_the_run():
    """See EnginesForTheRun: each test's app reuses the engine its settings call for."""
    engines = EnginesForTheRun()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SQLAlchemy, "_make_engine", engines.wrap(SQLAlchemy._make_engine))
        yield
    engines.dispose_all()


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Argon2 at production cost would dominate the suite's run time."""
    production = accounts.password_hasher
    accounts.password_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts.password_hasher = production


@pytest.fixture
def app_config(migrated_database) -> dict:
    """Override in a test module (or mutate) to change settings for that test's app."""
    return app_settings(migrated_database, None)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = BufferedClient
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    mail.outbox.clear()
    with app.app_context():
        empty_database()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for calling services directly."""
    with app.test_request_context():
        yield


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


@pytest.fixture
def auth(client):
    class Auth:
        def login(self, user_or_name, password: str = TEST_PASSWORD):
            name = getattr(user_or_name, "username", user_or_name)
            response = log_in(client, name, password)
            assert response.status_code == 302, "login failed"
            return response

        def logout(self):
            return client.post("/logout")

    return Auth()
