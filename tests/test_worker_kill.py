"""A gunicorn worker killed (SIGKILL) in the middle of a burst of posts loses nothing.

Members post replies and topics from several threads, faster than two workers
can answer, while the test kills a worker four times. Afterwards the database
has no half-written post, no topic without its first post and no wrong counter,
and every post the server acknowledged is stored exactly once.
"""

from __future__ import annotations

import html
import http.client
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Post
from forum.services import integrity
from tests.helpers.app import TEST_PASSWORD
from tests.helpers.smtp import free_port

# They start processes (gunicorn, senders, load) and want both cores: one worker runs them.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input [^>]*type="hidden"[^>]*>')
ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')
THREADS = 6
KILLS = 4
# More kills, if none of the first ones caught a request in flight (a quick machine can
# answer between two of them): the test is about a kill that cuts a request.
MAX_KILLS = 12
ACKNOWLEDGED = 10  # posts the server must have answered "saved" to, after the kills too


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A member's cookies and the answers they get, without following redirects."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
        )

    def open(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read().decode(errors="replace")

    def token(self, path: str) -> str:
        status, page = self.open(path)
        assert status == 200, (path, status)
        return html.unescape(CSRF.search(page).group(1))

    def form(self, path: str) -> dict:
        """The hidden fields of the form at `path` (CSRF token, submission key, …)."""
        status, page = self.open(path)
        assert status == 200, (path, status)
        box = page.find('name="body"')  # the post form, not the menu's log-out form
        fields = {}
        for tag in HIDDEN_INPUT.findall(
            page[page.rfind("<form", 0, box) : page.find("</form>", box)]
        ):
            attributes = dict(ATTRIBUTE.findall(tag))
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
        return fields

    def log_in(self, username: str) -> None:
        status, _ = self.open(
            "/login",
            {"csrf_token": self.token("/login"), "login": username, "password": TEST_PASSWORD},
        )
        assert status == 302


def _acknowledged(answers: list[tuple[str, str, int | None]]) -> int:
    return sum(1 for answer in answers if answer[2] == 302)


def _workers(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry))
    return pids


def _wait_for(server: subprocess.Popen, base: str, path: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as answer:
                answer.read()  # the whole page: the worker is done with it
                return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.1)


def test_killing_a_worker_mid_burst_leaves_every_post_whole(app, make, tmp_path):
    board = make.board("grief", "Grief")
    trusted = make.user("river")
    newcomer = make.user("wren", trusted=False)  # their posts wait, with a review item
    topic = make.topic(trusted, board, title="Holding on")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "worker-kill-key",
        "INSTANCE_PATH": str(tmp_path),
        "RATELIMIT_ENABLED": "0",
        "MAIL_BACKEND": "memory",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--error-logfile",
            str(tmp_path / "gunicorn.log"),
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    answers: list[tuple[str, str, int | None]] = []  # (kind, marker, status or None: cut)
    try:
        _wait_for(server, base, "/b/grief")
        browsers = {}
        for member in (trusted, newcomer):
            browsers[member.username] = Browser(base)
            browsers[member.username].log_in(member.username)
            # The session gets its CSRF token with the first form shown after logging in:
            # shown first by several threads at once, each would get a token of its own
            # and all but the last would be refused (a test-client race, not the app's).
            browsers[member.username].form(f"/t/{topic.id}/reply")
        stop = threading.Event()

        def post_in_a_loop(number: int) -> None:
            browser = browsers["wren" if number == 0 else "river"]
            sent = 0
            while not stop.is_set():
                sent += 1
                marker = f"burst-{number}-{sent}-end"
                new_topic = sent % 4 == 0
                path = "/b/grief/new" if new_topic else f"/t/{topic.id}/reply"
                try:
                    fields = browser.form(path)  # each post from a freshly shown form
                # The worker died showing it: before the answer (OSError), or halfway
                # through its body (IncompleteRead, an HTTPException).
                except (OSError, http.client.HTTPException, AssertionError):
                    answers.append(("form", marker, None))
                    continue
                fields.update(body=f"Still here. {marker}", content_warning="")
                if new_topic:
                    fields["title"] = f"Burst {number} {sent}"
                try:
                    status, _ = browser.open(path, fields)
                except (OSError, http.client.HTTPException):  # the worker died holding it
                    status = None
                answers.append(("topic" if new_topic else "reply", marker, status))

        threads = [
            threading.Thread(target=post_in_a_loop, args=(number,)) for number in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        killed = []
        while len(killed) < KILLS or (
            len(killed) < MAX_KILLS and all(status is not None for *_, status in answers)
        ):
            time.sleep(0.7)
            # Every worker (not one killed but not yet reaped): whichever holds a request
            # loses it (the listening socket may feed one worker far more than the other).
            for victim in [pid for pid in _workers(server.pid) if pid not in killed]:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
        # The replacements answer too: keep posting until enough posts were acknowledged
        # (a loaded machine takes longer; the deadline only stops a hang).
        deadline = time.monotonic() + 60
        while _acknowledged(answers) <= ACKNOWLEDGED and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        _wait_for(server, base, "/b/grief")
        # What the workers logged while they served and were killed; not what a worker
        # still answering a request might log as the shutdown below interrupts it.
        log = (tmp_path / "gunicorn.log").read_text()
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: the test is over
        server.wait(timeout=20)

    assert len(set(killed)) == len(killed) >= KILLS
    cut = [answer for answer in answers if answer[2] is None]
    assert cut, "no request was in flight when a worker was killed"
    answers = [answer for answer in answers if answer[0] != "form"]
    assert _acknowledged(answers) > ACKNOWLEDGED
    assert {status for _, _, status in answers} <= {302, None}, answers

    with app.app_context():
        assert [str(problem) for problem in integrity.find_problems()] == []
        bodies = db.session.scalars(
            sa.select(Post.body_source).where(Post.body_source.like("%burst-%"))
        ).all()
        stored = [marker for body in bodies for marker in re.findall(r"burst-\d+-\d+-end", body)]
        for _, marker, status in answers:
            copies = stored.count(marker)
            assert copies == 1 if status == 302 else copies <= 1, (marker, status, copies)
        half_written = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Post)
            .where(Post.status == "published", sa.or_(Post.body_source == "", Post.body_html == ""))
        )
        assert half_written == 0
    assert "Traceback" not in log
