"""Mail leaves through a real SMTP conversation, with safe headers."""

from __future__ import annotations

import socket
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller

from forum import mail


class Recorder:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesParser(policy=policy.default).parsebytes(
            envelope.original_content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, recorder
    controller.stop()


def test_registration_mail_goes_through_smtp(app, client, smtp_server):
    controller, recorder = smtp_server
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port,
                      SMTP_STARTTLS=False, MAIL_FROM="Kindred <hello@kindred.example>")
    client.post("/register", data={
        "username": "river", "email": "river@example.org", "password": "long password here",
        "confirm": "long password here", "accept_guidelines": "y"})
    (message,) = recorder.messages
    assert message["To"] == "river@example.org"
    assert message["From"] == "Kindred <hello@kindred.example>"
    assert message["Message-ID"] and message["Date"]
    assert "https://kindred.example/verify/" in message.get_body(("plain",)).get_content()


def test_user_text_cannot_inject_headers(app):
    with app.test_request_context():
        message = mail.build_message("a@example.org", "Hello\r\nBcc: victim@example.org",
                                     "reset_password", username="x\r\nBcc: v@example.org",
                                     minutes=60, link="https://kindred.example/reset/x")
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]


def test_a_mail_server_that_is_down_does_not_lose_the_sign_up(app, client, make):
    """The account is kept; the member is told to ask again once the server is back."""
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(),
                      SMTP_STARTTLS=False, SMTP_TIMEOUT=2)
    response = client.post("/register", data={
        "username": "river", "email": "river@example.org", "password": "long password here",
        "confirm": "long password here", "accept_guidelines": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register/check-email")
    login = client.post("/login", data={"login": "river", "password": "long password here"})
    assert login.status_code == 302
    failed = client.post("/verify/resend", follow_redirects=True)
    assert "We couldn" in failed.text and "send the email just now" in failed.text

    app.config["MAIL_BACKEND"] = "memory"
    sent = client.post("/verify/resend", follow_redirects=True)
    assert "sent a new confirmation link" in sent.text
    assert [m["To"] for m in mail.outbox] == ["river@example.org"]
