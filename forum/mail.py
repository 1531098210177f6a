"""One interface to send mail, with interchangeable backends.

MAIL_BACKEND chooses: "console" (print, the default for a new install),
"smtp" (a real server) or "memory" (kept in a list, for tests).
Headers are set through email.message.EmailMessage, which refuses CR/LF in
header values, so user text cannot inject headers.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from flask import after_this_request, current_app, g, has_request_context, render_template

from .models import utcnow

#: Messages sent with the "memory" backend, newest last.
outbox: list[EmailMessage] = []


def build_message(to: str, subject: str, template: str, **context) -> EmailMessage:
    """Render templates/email/<template>.txt (and .html when present)."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(utcnow())
    domain = urlsplit(config["BASE_URL"]).hostname or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    context.setdefault("site_name", config["SITE_NAME"])
    context.setdefault("base_url", config["BASE_URL"])
    message.set_content(render_template(f"email/{template}.txt", **context))
    return message


def send(message: EmailMessage) -> None:
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "memory":
        outbox.append(message)
    elif backend == "console":
        print(message.as_string(), file=sys.stdout, flush=True)
    elif backend == "smtp":
        _send_smtp([message])
    else:
        raise RuntimeError(f"unknown MAIL_BACKEND {backend!r}: use console, smtp or memory")


def deliver(message: EmailMessage) -> bool:
    """Send a message about something already committed; report failure, don't raise.

    The change the message reports (a new account, a reset token) stands either
    way, and the member can ask for the mail again; a traceback would help nobody.
    """
    try:
        send(message)
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception("could not send mail %s (%s)", message["Message-ID"],
                                     message["Subject"])
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
        messages, app = g.mail_after_response, current_app._get_current_object()

        @after_this_request
        def send_when_closed(response):
            def send_all():
                with app.app_context():
                    for queued in messages:
                        deliver(queued)

            response.call_on_close(send_all)
            return response

    g.mail_after_response.append(message)


def _send_smtp(messages: list[EmailMessage]) -> None:
    config = current_app.config
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    context = ssl.create_default_context()
    if config["SMTP_SSL"]:
        connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
    with connection:
        if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
            connection.starttls(context=context)
        if config["SMTP_USERNAME"]:
            connection.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        for message in messages:
            connection.send_message(message)


def absolute_url(path: str) -> str:
    """Links in mail come from BASE_URL, never from the request's Host header."""
    return current_app.config["BASE_URL"] + path
