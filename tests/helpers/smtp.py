"""A real SMTP server (aiosmtpd on 127.0.0.1) for the mail tests, which can misbehave.

It keeps every message it accepts, parsed with the standard library's parser, and
counts the connections made to it. Tests make it answer a temporary or permanent
refusal, or drop the connection, at a chosen message or for a chosen recipient.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller


def free_port() -> int:
    """aiosmtpd 1.4.6 cannot listen on port 0, so ask the OS for a free port first."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    recipients: list[str]
    message: EmailMessage
    connection: int  # which connection brought it, counting from 1


class SmtpServer:
    """The aiosmtpd handler, and what a test reads and sets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.connections = 0
        self.data_commands = 0  # messages the client tried to send, counting from 1
        # Message number -> the reply to give instead of accepting it ("451 ..."), or DROP.
        self.answer_at: dict[int, str] = {}
        # Recipient address -> the reply to its RCPT command ("550 ...").
        self.refuse_recipient: dict[str, str] = {}
        self.delay = 0.0  # seconds to think before accepting each message
        # Message number to hold without ever answering (holding is set meanwhile): the
        # moment to kill a sender that has handed over a message nobody accepted yet.
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self._lock = threading.Lock()

    DROP = "drop the connection"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        with self._lock:
            self.connections += 1
            session.connection_number = self.connections
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse_recipient:
            return self.refuse_recipient[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self._lock:
            self.data_commands += 1
            answer = self.answer_at.get(self.data_commands)
        if answer == self.DROP:
            # Gone before answering: the client cannot know whether the message arrived.
            server.transport.abort()
            await asyncio.sleep(1)  # connection_lost() cancels us here
            return "250 never sent"
        if answer is not None:
            return answer
        if self.data_commands == self.hold_at:
            self.holding.set()
            await asyncio.sleep(60)  # until the client goes: connection_lost() cancels us
            return "451 4.3.0 held too long"
        if self.delay:
            await asyncio.sleep(self.delay)
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        with self._lock:
            self.received.append(
                Received(list(envelope.rcpt_tos), message, getattr(session, "connection_number", 0))
            )
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [received.message for received in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        return [received.message for received in self.received if address in received.recipients]


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    """`with running_smtp_server() as server:` (make it a fixture in the test module)."""
    server = SmtpServer()
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def smtp_settings(server: SmtpServer, **overrides) -> dict:
    """App settings that send through `server`."""
    return {
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": server.port,
        "SMTP_STARTTLS": False,
        "SMTP_SSL": False,
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",
        "SMTP_TIMEOUT": 5,
        **overrides,
    }
