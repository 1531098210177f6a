"""Fixtures for the browser tests: Debian's Chromium, a live server, a real SMTP server, axe.

Chromium comes from Debian (never downloaded), launched without background networking.
"""

from __future__ import annotations

import email.policy
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from axe_playwright_python.sync_playwright import Axe
from flask import Flask, got_request_exception
from playwright.sync_api import Page
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps trying to reach the internet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, never a downloaded one."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


# --- mail --------------------------------------------------------------------


def _free_port() -> int:
    """aiosmtpd 1.4.6 cannot listen on port 0, so ask the OS for a free port first."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.port = 0
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = BytesParser(policy=email.policy.default).parsebytes(envelope.original_content)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def wait_for(self, recipient: str, timeout: float = 30.0) -> EmailMessage:
        """The one message sent to `recipient` (fails if none arrives or there are several)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [message for rcpt_tos, message in self.messages if recipient in rcpt_tos]
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(found) == 1, f"expected one message to {recipient}, got {len(found)}"
        return found[0]


@pytest.fixture
def mailbox():
    """A real SMTP server on 127.0.0.1 that the app delivers to."""
    handler = Mailbox()
    handler.port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


# --- the live server ---------------------------------------------------------


@pytest.fixture
def app_config(app_config: dict, mailbox: Mailbox) -> dict:
    """The root app_config, as a real browser needs it: CSRF on, mail over SMTP."""
    return {
        **app_config,
        "TESTING": False,  # errors are rendered as in production; the live_server records them
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": False,
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": mailbox.port,
        "SMTP_STARTTLS": False,
        "SMTP_SSL": False,
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",
        "SMTP_TIMEOUT": 5,
    }


@dataclass
class LiveServer:
    app: Flask
    url: str
    errors: list[BaseException] = field(default_factory=list)

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


class _CloseWhenSent:
    """Close each response as soon as its last byte is written, as gunicorn does.

    Werkzeug's development server first drains what is left of the request, and when
    that read fails (the browser has already reset the connection) it never calls the
    response's close(): mail queued with response.call_on_close (account mail) was then
    never sent, and the walk's confirmation mail went missing once in a while.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        response = self.app(environ, start_response)
        try:
            yield from response
        finally:
            if hasattr(response, "close"):
                response.close()


@pytest.fixture
def live_server(app: Flask):
    """The app (from the root `app` fixture, database emptied) served on a free port.

    A daemon thread serves it; SQLite is a file, so the server's threads and the
    test's factory share the same database. Any exception a request raises fails
    the test in teardown, even if the page the browser saw looked fine.
    """
    server = make_server("127.0.0.1", 0, _CloseWhenSent(app), threaded=True)
    live = LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    # Links in mail are built from BASE_URL: point them at this server.
    app.config["BASE_URL"] = live.url

    def record(sender, exception, **extra):
        live.errors.append(exception)

    got_request_exception.connect(record, app)

    class RecordErrors(logging.Handler):
        """Errors the app only logs (mail that could not be sent) fail the test too."""

        def emit(self, log_record):
            live.errors.append(RuntimeError(self.format(log_record)))

    logged_errors = RecordErrors(level=logging.ERROR)
    app.logger.addHandler(logged_errors)
    # One log line per request is noise here; errors are still logged.
    request_log = logging.getLogger("werkzeug")
    level = request_log.level
    request_log.setLevel(logging.WARNING)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield live
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    got_request_exception.disconnect(record, app)
    app.logger.removeHandler(logged_errors)
    request_log.setLevel(level)
    assert not live.errors, f"the live server raised: {live.errors!r}"


# --- browsing and auditing ---------------------------------------------------


class Auditor:
    """Runs axe-core on a page and fails with axe's report when it finds violations.

    axe needs timers, which never fire in a context with JavaScript off (axe.run
    would wait for ever). Pages from such a context are audited by replaying the
    exact document they received in a twin context with JavaScript on and the
    same display settings; the stylesheet still comes from the live server.
    """

    def __init__(self, new_context) -> None:
        self._new_context = new_context
        self._axe = Axe()
        # page -> the options its context was made with; only pages made without JS
        self._no_js: dict[Page, dict] = {}
        self._twins: dict[tuple, Page] = {}
        self.audited: list[str] = []

    def register_without_js(self, page: Page, context_options: dict) -> None:
        self._no_js[page] = context_options

    def __call__(self, page: Page) -> None:
        target = page
        if page in self._no_js:
            target = self._twin_with(page)
        results = self._axe.run(target)
        assert results.violations_count == 0, (
            f"axe found problems on {page.url}:\n{results.generate_report()}"
        )
        self.audited.append(page.url)

    def _twin_with(self, page: Page) -> Page:
        options = self._no_js[page]
        key = tuple(sorted((name, repr(value)) for name, value in options.items()))
        twin = self._twins.get(key)
        if twin is None:
            context = self._new_context(**options, java_script_enabled=True)
            context.set_default_timeout(TIMEOUT_MS)
            twin = self._twins[key] = context.new_page()
        document = page.content()
        url = page.url.split("#", 1)[0]

        def replay(route):
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=document)

        def is_document(address: str) -> bool:
            return address == url

        twin.route(is_document, replay)
        try:
            twin.goto(url, wait_until="load")
        finally:
            twin.unroute(is_document, replay)
        return twin


@pytest.fixture
def audit(new_context) -> Auditor:
    return Auditor(new_context)


@pytest.fixture
def browse(new_context, audit: Auditor):
    """Open a page in a fresh browser context: browse(javascript=False, color_scheme=...)."""

    def open_page(*, javascript: bool = True, **context_options) -> Page:
        context = new_context(java_script_enabled=javascript, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        if not javascript:
            audit.register_without_js(page, context_options)
        return page

    return open_page
