"""A lean SMTP sink for benchmarks: takes every message and hands it to a handler.

    controller = smtp_sink.start(handler)   # handler.received(rcpt_tos, content)
    ... send to 127.0.0.1:controller.port ...
    controller.stop()

Why not aiosmtpd: it reads a message's DATA line by line in Python, 1.6-2.8 ms of
CPU per 30 KB message alone and about 3 ms next to a busy sender (27-30 s for a
10,000-digest run), and a benchmark's sink shares the machine's cores with the sender
being measured. A real mail server runs elsewhere or in C (Postfix ships `smtp-sink`
for this, but we do not ask users to install Postfix). This one takes the data in the
chunks the socket gives and looks only for the end marker, so its cost per message is
a few replies and a copy or two of the bytes.

It speaks what `smtplib.SMTP.sendmail` and `send_message` need, no more: the 220
greeting, EHLO (advertising 8BITMIME, SMTPUTF8, PIPELINING and SIZE) or HELO, MAIL
FROM (parameters accepted and ignored), one or more RCPT TO, DATA, RSET, NOOP and QUIT.
No TLS, no AUTH, no limits on line length or size: it trusts its client, so it listens
on 127.0.0.1 only, on a port the OS picks. Commands may come pipelined and split
across chunks; several clients are served at once on one asyncio event loop (the
low-level Protocol API: no streams, no task per connection) in a background thread.

`content` is what aiosmtpd's `envelope.original_content` gives: the message as the
client's `sendmail` was given it, CRLF line ends, dot-stuffing undone (smtplib adds a
final CRLF when the message lacks one, as the protocol requires).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Protocol

#: Ends a message's data. The CRLF before the dot belongs to the message's last line.
END_OF_DATA = b"\r\n.\r\n"
HOSTNAME = "kindred-bench-sink"
MAX_SIZE = 64 * 1024 * 1024  # advertised only, not enforced


class Handler(Protocol):
    def received(self, rcpt_tos: list[str], content: bytes) -> None: ...


class SMTPConnection(asyncio.Protocol):
    """One client's session: reads commands, or a message's data after DATA."""

    def __init__(self, handler: Handler, connections: set[SMTPConnection]) -> None:
        self.handler = handler
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.in_data = False
        # Where the next search for END_OF_DATA starts: only the bytes that arrived since
        # the last search, and the few before them that may hold the marker's beginning.
        self.searched_to = 0
        self.mail_from: str | None = None
        self.rcpt_tos: list[str] = []

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.connections.add(self)
        self.reply(f"220 {HOSTNAME} ESMTP")

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        # A chunk may finish a message and carry the next commands, or the other way round.
        while self.transport is not None and not self.transport.is_closing():
            if self.in_data:
                if not self.take_data():
                    return
            else:
                line_end = self.buffer.find(b"\r\n")
                if line_end < 0:
                    return
                line = bytes(self.buffer[:line_end]).decode("utf-8", "surrogateescape")
                del self.buffer[: line_end + 2]
                self.command(line)

    # --- SMTP --------------------------------------------------------------------------

    def reply(self, text: str) -> None:
        self.transport.write(text.encode("utf-8", "surrogateescape") + b"\r\n")

    def command(self, line: str) -> None:
        verb, _, argument = line.partition(" ")
        verb = verb.upper()
        if verb == "EHLO":
            self.reset_envelope()
            self.reply(
                f"250-{HOSTNAME}\r\n250-SIZE {MAX_SIZE}\r\n250-8BITMIME\r\n"
                "250-SMTPUTF8\r\n250 PIPELINING"
            )
        elif verb == "HELO":
            self.reset_envelope()
            self.reply(f"250 {HOSTNAME}")
        elif verb == "MAIL":
            address = _address(argument, "FROM:")
            if address is None:
                self.reply("501 Syntax: MAIL FROM:<address>")
            elif self.mail_from is not None:
                self.reply("503 Error: nested MAIL command")
            else:
                self.mail_from = address
                self.reply("250 OK")
        elif verb == "RCPT":
            address = _address(argument, "TO:")
            if self.mail_from is None:
                self.reply("503 Error: need MAIL command")
            elif not address:
                self.reply("501 Syntax: RCPT TO:<address>")
            else:
                self.rcpt_tos.append(address)
                self.reply("250 OK")
        elif verb == "DATA":
            if not self.rcpt_tos:
                self.reply("503 Error: need RCPT command")
                return
            self.reply("354 End data with <CR><LF>.<CR><LF>")
            # Keep the CRLF that ended the DATA line in front of the data: then the end
            # marker is found the same way for an empty message (".\r\n" straight away).
            self.buffer[:0] = b"\r\n"
            self.in_data = True
            self.searched_to = 0
        elif verb == "RSET":
            self.reset_envelope()
            self.reply("250 OK")
        elif verb == "NOOP":
            self.reply("250 OK")
        elif verb == "QUIT":
            self.reply("221 Bye")
            self.transport.close()
        elif verb in ("STARTTLS", "AUTH", "VRFY", "EXPN", "HELP", "BDAT"):
            self.reply("502 Error: command not implemented")
        else:
            self.reply("500 Error: command not recognized")

    def take_data(self) -> bool:
        """Finish the message if its end has arrived; False to wait for more bytes."""
        end = self.buffer.find(END_OF_DATA, self.searched_to)
        if end < 0:
            self.searched_to = max(0, len(self.buffer) - len(END_OF_DATA) + 1)
            return False
        stuffed = bytes(self.buffer[2 : end + 2])  # without the DATA line's CRLF; last CRLF kept
        del self.buffer[: end + len(END_OF_DATA)]
        self.in_data = False
        # Dot-stuffing undone (RFC 5321 4.5.2): a line that starts with a dot lost it.
        content = stuffed[1:] if stuffed.startswith(b".") else stuffed
        content = content.replace(b"\r\n.", b"\r\n")
        rcpt_tos = self.rcpt_tos
        self.reset_envelope()
        self.handler.received(rcpt_tos, content)
        self.reply("250 OK")
        return True

    def reset_envelope(self) -> None:
        self.mail_from = None
        self.rcpt_tos = []


def _address(argument: str, keyword: str) -> str | None:
    """The address in `FROM:<a@b> SIZE=123` (parameters ignored); None if malformed."""
    if argument[: len(keyword)].upper() != keyword:
        return None
    rest = argument[len(keyword) :].strip()
    if rest.startswith("<"):
        closing = rest.find(">")
        return rest[1:closing] if closing > 0 else None
    return rest.split(" ", 1)[0] if rest else None


class Controller:
    """The sink's event loop in a background thread, like aiosmtpd's Controller."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.port = 0
        self.connections: set[SMTPConnection] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="smtp-sink", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def stop(self) -> None:
        """Stop listening, close every connection, and wait for the thread to end."""
        if self.loop is not None and self._stopping is not None:
            self.loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # noqa: BLE001  (handed to start() if it was starting)
            self._failure = error
            self._ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await self.loop.create_server(
            lambda: SMTPConnection(self.handler, self.connections), self.host, 0
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        for connection in list(self.connections):
            connection.transport.close()
        await server.wait_closed()
        await asyncio.sleep(0)  # let the closed connections' connection_lost run


def start(handler: Handler, host: str = "127.0.0.1") -> Controller:
    """A running sink on `host`, on a port the OS picked (`controller.port`)."""
    controller = Controller(handler, host)
    controller.start()
    return controller
