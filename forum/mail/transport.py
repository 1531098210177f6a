"""Sending mail: one interface, interchangeable backends (MAIL_BACKEND): "console"
(print, the default for a new install), "smtp" (a real server) or "memory" (kept in
a list, for tests).
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import parseaddr
from functools import cache

from flask import after_this_request, current_app, g, has_request_context
from flask.globals import app_ctx

from .message import parse

#: Messages sent with the "memory" backend, newest last.
outbox: list[EmailMessage] = []


class Connection:
    """One way out for a batch of messages: with the smtp backend, one SMTP session.

    The session opens at the first send, so a batch with nothing to send never
    connects. smtplib's exceptions go to the caller unchanged: the outbox tells a
    temporary failure from a permanent one by them.
    """

    def __init__(self, config) -> None:
        self._config = config
        self._backend = config["MAIL_BACKEND"]
        if self._backend not in ("smtp", "console", "memory"):
            raise RuntimeError(
                f"unknown MAIL_BACKEND {self._backend!r}: use console, smtp or memory"
            )
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(self, message: EmailMessage) -> None:
        """Send a message built by build_message (account mail)."""
        if self._backend == "smtp":
            self._session().send_message(message)
        else:
            self._keep_or_print(message)

    def send_raw(self, raw: bytes, recipient: str) -> None:
        """Send a message stored as bytes (the outbox) to one recipient."""
        if self._backend == "smtp":
            options = ("SMTPUTF8",) if not recipient.isascii() else ()
            self._session().sendmail(
                parseaddr(self._config["MAIL_FROM"])[1], [recipient], raw, mail_options=options
            )
        else:
            self._keep_or_print(parse(raw))

    def _keep_or_print(self, message: EmailMessage) -> None:
        if self._backend == "memory":
            outbox.append(message)
        else:
            print(message.as_string(), file=sys.stdout, flush=True)

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        config = self._config
        host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
        session: smtplib.SMTP
        if config["SMTP_SSL"]:
            session = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context())
        else:
            session = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
                session.starttls(context=_tls_context())
            if config["SMTP_USERNAME"]:
                session.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        except BaseException:
            session.close()
            raise
        return session

    def close(self) -> None:
        session, self._smtp = self._smtp, None
        if session is None:
            return
        try:
            session.quit()
        except (smtplib.SMTPException, OSError):
            session.close()  # the server went first; everything sent was already accepted


@cache
def _tls_context() -> ssl.SSLContext:
    """Made once: loading the system's certificates took longer than sending a digest
    batch, and a run opens a connection per sender per batch. (Contexts are safe to
    share between threads.)"""
    return ssl.create_default_context()


def connection() -> Connection:
    """`with mail.connection() as connection:` send several messages over one session."""
    return Connection(current_app.config)


def send(message: EmailMessage) -> None:
    with connection() as open_connection:
        open_connection.send(message)


def deliver(message: EmailMessage) -> bool:
    """Send a message about something already committed; report failure, don't raise.

    The change the message reports (a new account, a reset token) stands either
    way, and the member can ask for the mail again; a traceback would help nobody.
    """
    try:
        send(message)
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception(
            "could not send mail %s (%s)", message["Message-ID"], message["Subject"]
        )
        return False
    return True


def deliver_after_response(message: EmailMessage) -> None:
    """Send once the response has gone out (right away outside a request).

    For account mail: how long the mail server takes must not tell an observer
    whether an address has an account, and a slow server must not hold the
    page up.
    """
    if not has_request_context():
        deliver(message)
        return
    if "mail_after_response" not in g:
        g.mail_after_response = []
        messages, app = g.mail_after_response, app_ctx.app

        @after_this_request
        def send_when_closed(response):
            def send_all():
                with app.app_context():
                    for queued in messages:
                        deliver(queued)

            response.call_on_close(send_all)
            return response

    g.mail_after_response.append(message)
