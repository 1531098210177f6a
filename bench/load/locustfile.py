"""Kindred's load scenario for Locust: readers, members writing, moderators at the queue.

Started by bench/load/run.py (headless, against gunicorn on 127.0.0.1), which
passes a plan as JSON in LOAD_PLAN: how many users of each kind, the members'
and moderators' usernames and password, the journal file and a run id.

Every request is written to the journal (one JSON line: page kind, status, time);
every write also records what it sent (a unique marker in the post's text, or the
review item and version) and what the server answered, so bench/load/checker.py
can prove afterwards that what was acknowledged is stored exactly once.

Each simulated person comes from their own address (X-Forwarded-For, gunicorn runs
with TRUSTED_PROXIES=1 as behind a reverse proxy), so per-address rate limits apply
to each of them as they would on a real site, not to all 50 at once.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import sys
import time
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task

# Locust loads this file by its path: the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import seed  # noqa: E402  (its post text generator)

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
TIMEOUT = 30  # seconds; a write with no answer by then is reported as unanswered
#: Answers kept in full in the journal (failures): enough to judge the message.
KEPT_BODY = 4000

_journal = open(PLAN["journal"], "a", buffering=1)  # noqa: SIM115 (open for the whole run)
_requests = itertools.count(1)
_member_names = itertools.cycle(PLAN["member_names"])
_moderator_names = itertools.cycle(PLAN["moderator_names"])
_addresses = itertools.count(1)
_markers = itertools.count(1)

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input [^>]*type="hidden"[^>]*>')
ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')
TOPIC_LINK = re.compile(r'href="/t/(\d+)"')
BOARD_LINK = re.compile(r'href="/b/([a-z0-9-]+)"')
OLDER_LINK = re.compile(r'href="([^"]+)" rel="next"')
ITEM_LINK = re.compile(r'href="/review/(\d+)"')
VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"')
ACTIONS = re.compile(r'name="action" value="([a-z_]+)"')
CLAIM_FORM = re.compile(r'action="/review/\d+/claim"')


def _record(entry: dict) -> None:
    _journal.write(json.dumps(entry) + "\n")


@events.request.add_listener
def _on_request(
    request_type, name, response_time, response_length, response=None, exception=None, **kwargs
):
    status = response.status_code if response is not None and exception is None else 0
    if status == 0 and response is not None:
        status = response.status_code or 0
    entry = {
        "kind": name,
        "ms": round(response_time, 2),
        "status": status,
        "t": round(time.time(), 3),
    }
    if exception is not None and status == 0:
        entry["error"] = repr(exception)[:300]
    if status >= 500 or status == 0:
        entry["body"] = (response.text or "")[:KEPT_BODY] if response is not None else ""
    _record(entry)
    if next(_requests) == PLAN["max_requests"]:
        # The request budget is spent: stop everyone (from outside this user's greenlet).
        gevent.spawn(_stop_runner)


_environment = None


@events.init.add_listener
def _on_init(environment, **kwargs):
    global _environment
    _environment = environment


def _stop_runner():
    if _environment is not None and _environment.runner is not None:
        _environment.runner.quit()


def _token(body: str) -> str | None:
    match = CSRF.search(body)
    return html.unescape(match.group(1)) if match else None


def hidden_fields(page: str) -> dict:
    """The hidden inputs (CSRF token, submission key, …) of the page's post form, the
    one with the text box, as a browser would send them."""
    box = page.find('name="body"')
    start, end = page.rfind("<form", 0, box), page.find("</form>", box)
    if box < 0 or start < 0 or end < 0:
        return {}
    fields = {}
    for tag in HIDDEN_INPUT.findall(page[start:end]):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return fields


class Person(HttpUser):
    """Someone on their own address, reading pages as a browser would."""

    abstract = True

    def on_start(self):
        number = next(_addresses)
        self.client.headers["X-Forwarded-For"] = f"10.20.{number // 250}.{number % 250 + 1}"
        self.topics: list[int] = []
        self.boards: list[str] = []

    def get(self, path: str, kind: str):
        return self.client.get(path, name=kind, timeout=TIMEOUT, allow_redirects=False)

    def post(self, path: str, kind: str, data: dict):
        return self.client.post(path, name=kind, data=data, timeout=TIMEOUT, allow_redirects=False)

    def browse(self) -> None:
        """Index → a board (sometimes its next page) → a topic (sometimes a later page)."""
        if not self.boards or random.random() < 0.2:
            answer = self.get("/", "index")
            self.boards = BOARD_LINK.findall(answer.text) or self.boards
        if not self.boards:
            return
        answer = self.get(f"/b/{random.choice(self.boards)}", "board")
        if random.random() < 0.2 and (older := OLDER_LINK.search(answer.text)):
            answer = self.get(html.unescape(older.group(1)), "board, older page")
        found = [int(topic) for topic in TOPIC_LINK.findall(answer.text)]
        if found:
            self.topics = found
            topic = random.choice(found)
            path = f"/t/{topic}" + (
                f"?page={random.randint(2, 4)}" if random.random() < 0.15 else ""
            )
            self.get(path, "topic")

    def log_in(self, username: str) -> bool:
        form = self.get("/login", "login form")
        answer = self.post(
            "/login",
            "log in",
            {
                "csrf_token": _token(form.text) or "",
                "login": username,
                "password": PLAN["password"],
            },
        )
        _record({"write": "login", "who": username, "status": answer.status_code})
        return answer.status_code == 302


class Reader(Person):
    """A logged-out visitor browsing boards and topics."""

    fixed_count = PLAN["readers"]
    wait_time = between(0.5, 2.0)

    @task
    def read(self):
        self.browse()


class Member(Person):
    """A logged-in member who reads, replies and now and then starts a topic."""

    fixed_count = PLAN["writers"]
    wait_time = between(1.0, 3.0)

    def on_start(self):
        super().on_start()
        self.username = next(_member_names)
        self.logged_in = self.log_in(self.username)

    def _text(self) -> tuple[str, str]:
        number = next(_markers)
        marker = f"loadmark-{PLAN['run_id']}-{number}"
        body = seed.post_source(PLAN["run_seed"], number, random.randint(200, 900), reply=True)
        return marker, f"{body}\n\n{marker}"

    def _write(self, kind: str, form_path: str, fields: dict, topic: int | None = None):
        form = self.get(form_path, f"{kind} form")
        if form.status_code != 200:  # a locked topic, a board closed to posts
            return
        marker, body = self._text()
        data = {**hidden_fields(form.text), "body": body, "content_warning": "", **fields}
        started = time.time()
        answer = self.post(form_path, kind, data)
        entry = {
            "write": kind,
            "marker": marker,
            "who": self.username,
            "status": answer.status_code,
            "location": answer.headers.get("Location", ""),
            "topic": topic,
            "at": started,
        }
        if answer.status_code != 302:
            entry["body"] = (answer.text or "")[:KEPT_BODY]
            entry["retry_after"] = answer.headers.get("Retry-After")
        _record(entry)

    @task(5)
    def read(self):
        self.browse()

    @task(3)
    def reply(self):
        if not self.logged_in:
            return
        if not self.topics:
            self.browse()
        if self.topics:
            topic = random.choice(self.topics)
            self._write("reply", f"/t/{topic}/reply", {}, topic=topic)

    @task(1)
    def start_topic(self):
        if not self.logged_in:
            return
        if not self.boards:
            self.browse()
        if self.boards:
            marker_title = f"Load test {PLAN['run_id']} {random.randint(1, 10**6)}"
            self._write(
                "new topic", f"/b/{random.choice(self.boards)}/new", {"title": marker_title}
            )


class Moderator(Person):
    """A moderator working the queue: look, claim, then approve or reject as of a version."""

    fixed_count = PLAN["moderators"]
    wait_time = between(1.0, 3.0)

    def on_start(self):
        super().on_start()
        self.username = next(_moderator_names)
        self.logged_in = self.log_in(self.username)

    @task
    def work_the_queue(self):
        if not self.logged_in:
            return
        queue = self.get("/review", "review queue")
        items = ITEM_LINK.findall(queue.text)
        if not items:
            return
        # Most moderators take from the top: two of them will meet on an item now and then.
        item = int(random.choice(items[:3]))
        page = self.get(f"/review/{item}", "review item")
        if page.status_code != 200:
            return
        if CLAIM_FORM.search(page.text) and "I'm handling this" in page.text:
            answer = self.post(
                f"/review/{item}/claim", "claim", {"csrf_token": _token(page.text) or ""}
            )
            _record(
                {"write": "claim", "item": item, "who": self.username, "status": answer.status_code}
            )
            page = self.get(f"/review/{item}", "review item")
            if page.status_code != 200:
                return
        version = VERSION.search(page.text)
        actions = set(ACTIONS.findall(page.text))
        choice = "reject" if random.random() < 0.2 and "reject" in actions else "approve"
        if version is None or choice not in actions:
            return
        data = {
            "csrf_token": _token(page.text) or "",
            "version": version.group(1),
            "action": choice,
            "template": "",
            "body": "",
            "board": "",
            "days": "",
            "reason": "Thank you: please say this again without the details."
            if choice == "reject"
            else "",
        }
        # The CSRF token of the page is the same for each of its forms (one per session).
        answer = self.post(f"/review/{item}", "decide", data)
        entry = {
            "write": "decide",
            "item": item,
            "version": int(version.group(1)),
            "action": choice,
            "who": self.username,
            "status": answer.status_code,
        }
        if answer.status_code not in (302, 409):
            entry["body"] = (answer.text or "")[:KEPT_BODY]
        _record(entry)
