"""The load scenario (bench/load) in 10 seconds, and its checker catching what it must.

The 60-second run is `python -m bench.load.run` (see README, "How many members can SQLite
serve"); this runs the same scenario with fewer users against gunicorn, on
SQLite, or on PostgreSQL when DATABASE_URL names it (in a scratch database
made and dropped here), and asserts the checker's verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.load import checker
from forum.extensions import db
from forum.models import Topic

ROOT = Path(__file__).resolve().parent.parent

# They start processes (gunicorn, senders, load) and want both cores: one worker runs them.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]

#: A small forum bench/seed.py makes in a few seconds (seed 1 has the 20-post topic
#: the seed looks for).
SMALL_FORUM = [
    "--posts",
    "1500",
    "--topics",
    "200",
    "--boards",
    "4",
    "--deep-board-topics",
    "80",
    "--users",
    "150",
    "--seed",
    "1",
]


@pytest.fixture
def load_database_url(tmp_path):
    """SQLite in tmp_path, or a scratch PostgreSQL database beside the suite's."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'load.db'}"
        return
    url = make_url(url).set(drivername="postgresql+psycopg")
    scratch = f"{url.database}_loadbench"  # the seed wipes only databases named *bench*
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
    try:
        yield url.set(database=scratch).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


def test_ten_seconds_of_load_lose_nothing(load_database_url, tmp_path):
    verdict_path = tmp_path / "verdict.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load.run",
            "--seconds",
            "10",
            "--readers",
            "8",
            "--writers",
            "4",
            "--moderators",
            "1",
            "--database-url",
            load_database_url,
            "--json",
            str(verdict_path),
            *SMALL_FORUM,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "INSTANCE_PATH": str(tmp_path)},
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    verdict = json.loads(verdict_path.read_text())
    assert verdict["passed"], verdict["problems"]
    assert verdict["problems"] == []
    assert verdict["pages"]["board"]["requests"] > 0 and verdict["pages"]["topic"]["requests"] > 0
    acknowledged = sum(
        verdict["writes"].get(kind, {}).get("302", 0) for kind in ("reply", "new topic")
    )
    assert acknowledged > 0, verdict["writes"]
    assert not any(status.startswith("5") for status in verdict["statuses"])


def _journal(path: Path, *entries: dict) -> Path:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return path


def test_the_checker_catches_lost_doubled_and_badly_refused_writes(app, make, tmp_path):
    member = make.user("river")
    board = make.board("grief", "Grief")
    topic = make.topic(member, board, body="First words loadmark-r1-1")
    make.reply(member, topic, "Stored once loadmark-r1-2")
    make.reply(member, topic, "Stored twice loadmark-r1-3")
    make.reply(member, topic, "And again loadmark-r1-3")
    make.reply(member, topic, "Refused but kept loadmark-r1-5")
    calm_429 = (
        "<main><h1>Please wait a moment</h1><p>That has been tried too many times "
        "in a short while.</p></main>"
    )
    traceback_503 = '<pre>Traceback (most recent call last):\n  File "x.py", line 1</pre>'
    journal = _journal(
        tmp_path / "journal.jsonl",
        {"kind": "topic", "ms": 5, "status": 200, "t": 1.0},
        {"kind": "reply", "ms": 9, "status": 500, "t": 2.0, "body": ""},
        {
            "write": "new topic",
            "marker": "loadmark-r1-1",
            "status": 302,
            "location": f"/t/{topic.id}",
            "topic": None,
        },
        {
            "write": "reply",
            "marker": "loadmark-r1-2",
            "status": 302,
            "location": f"/t/{topic.id}#waiting",
            "topic": topic.id,
        },
        {
            "write": "reply",
            "marker": "loadmark-r1-3",
            "status": 302,
            "location": f"/t/{topic.id}#waiting",
            "topic": topic.id,
        },
        {
            "write": "reply",
            "marker": "loadmark-r1-4",
            "status": 302,
            "location": f"/t/{topic.id}#waiting",
            "topic": topic.id,
        },
        {
            "write": "reply",
            "marker": "loadmark-r1-5",
            "status": 429,
            "body": calm_429,
            "topic": topic.id,
        },
        {
            "write": "reply",
            "marker": "loadmark-r1-6",
            "status": 429,
            "body": calm_429,
            "topic": topic.id,
        },
        {
            "write": "reply",
            "marker": "loadmark-r1-7",
            "status": 503,
            "body": traceback_503,
            "topic": topic.id,
        },
    )
    with app.app_context():  # and a counter gone wrong
        db.session.execute(sa.update(Topic).where(Topic.id == topic.id).values(post_count=99))
        db.session.commit()

    verdict = checker.check(journal, app.config["SQLALCHEMY_DATABASE_URI"], "r1")

    problems = "\n".join(verdict["problems"])
    assert not verdict["passed"]
    assert "reply: answered 500" in problems
    assert "loadmark-r1-3: acknowledged, stored 2 times" in problems
    assert "loadmark-r1-4: acknowledged, stored 0 times" in problems
    assert "loadmark-r1-5: refused with 429 but stored 1 times" in problems
    assert "loadmark-r1-7: 503 without a clear message" in problems
    assert "database:" in problems and "99" in problems
    for fine in ("loadmark-r1-1", "loadmark-r1-2", "loadmark-r1-6"):
        assert fine not in problems
