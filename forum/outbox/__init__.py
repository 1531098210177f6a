"""The outbox: mail written in the same transaction as what it reports, sent afterwards.

`queue()` adds a row inside the caller's transaction, so a change that rolls back
takes its mail with it. `send_waiting()` sends what waits over one SMTP session.

The message's bytes are kept apart from its row, in outbox_bodies: written once when
queued, read when claimed, deleted with the row (ON DELETE CASCADE). The row holds
only what senders update and ask about, so the two updates each message gets (the
claim, then sent_at) rewrite a few dozen bytes, not the whole message (SQLite
rewrites all of a row's overflow pages on every update).

Each row is claimed before it is sent, by a conditional UPDATE that only one
sender can win (on SQLite writers take turns; on PostgreSQL the loser's UPDATE
waits for the winner's commit, then finds the row no longer matches), so several
senders at once never send a message twice. The claim is committed before the
message goes and sent_at right after the server accepts it. A sender that dies in
between leaves a claim that goes stale after CLAIM_EXPIRES: only then may that one
message go a second time, the one case no sender can rule out.

What the server refuses for a while goes back to waiting. When the refusal is
about the server or the connection (a dropped connection, a timeout, 421, a 4xx
to the message's data) the batch stops: the server is unwell or asks us to slow
down, and the next run starts again with that message. When it is about one
recipient (a 4xx to RCPT: a full mailbox, greylisting), that message waits and
the batch goes on, so one member's mailbox cannot hold up everyone's mail. A
message still refused "for now" after RETRY_FOR is marked failed, and so is one
the server refuses for good (5xx) or cannot take (SMTPUTF8): the batch goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from queue import Queue

import sqlalchemy as sa
from flask.globals import app_ctx

from .. import mail
from ..extensions import db
from ..models import MailKind, OutboxBody, OutboxMessage, utcnow
from .answers import RETRY_FOR as RETRY_FOR  # part of the outbox's interface
from .answers import StopBatch, send_one
from .claims import CLAIM_EXPIRES, NOT_DONE, OUTBOX, WAITING, Claimed, claim, record, still_wanted

# Sent mail is kept a week (to answer "did it go?"), failed mail a month; then it goes:
# a message holds a member's address and words they may since have deleted.
KEEP_SENT = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)
_PAGE = 200  # rows read at a time while looking for work


@dataclass(frozen=True)
class SendReport:
    sent: int  # accepted by the server in this run
    failed: int  # refused for good in this run
    left: int  # still waiting when the run ended (of those asked for, with send_these)
    dropped: int = 0  # no longer wanted when their turn came (stopped, paused, new address)


@dataclass(frozen=True)
class Letter:
    """A message ready for the outbox: its one recipient and its bytes."""

    recipient: str
    message: bytes


def prepare(message: EmailMessage) -> Letter:
    """The message as the outbox keeps it. A digest run prepares a batch's messages
    before its transaction takes SQLite's write lock, which the senders need too."""
    recipients = message["To"].addresses
    if len(recipients) != 1:
        raise ValueError("an outbox message goes to exactly one address")
    return Letter(recipients[0].addr_spec, mail.as_bytes(message))


def queue(message: EmailMessage | Letter, *, user_id: int | None, kind: str) -> OutboxMessage:
    """Add the message to the outbox in the caller's transaction (no commit); `kind` is a
    MailKind or its value."""
    letter = message if isinstance(message, Letter) else prepare(message)
    row = OutboxMessage(
        user_id=user_id,
        kind=MailKind(kind),
        recipient=letter.recipient,
        attempts=0,
        body=OutboxBody(message=letter.message),
    )
    db.session.add(row)
    return row


def send_waiting(
    limit: int | None = None, *, now: datetime | None = None, connections: int = 1
) -> SendReport:
    """Send what waits, oldest first, at most `limit` messages; see the module's notes.

    `connections` SMTP sessions send side by side (a digest run: most of the time
    of one message is waiting for the server's answers).
    """
    return _send(None, limit, now, connections)


def send_these(ids: Iterable[int], *, now: datetime | None = None) -> SendReport:
    """Send only these rows, if they still wait: the mail a transaction has just queued.

    A request that queued a notice sends it at once, without taking on the whole
    backlog (a digest run may have queued thousands).
    """
    return _send(sorted(set(ids)), None, now)


def prune(now: datetime | None = None) -> int:
    """Delete mail sent more than KEEP_SENT ago and mail failed more than KEEP_FAILED ago.

    The messages' bodies go with their rows (the foreign key's ON DELETE CASCADE)."""
    now = now or utcnow()
    with db.engine.begin() as database:
        return database.execute(
            sa.delete(OUTBOX).where(
                sa.or_(OUTBOX.c.sent_at < now - KEEP_SENT, OUTBOX.c.failed_at < now - KEEP_FAILED)
            )
        ).rowcount


def _send(
    only_ids: list[int] | None, limit: int | None, now: datetime | None, connections: int = 1
) -> SendReport:
    # Its own connections: the caller's session may be mid-commit (notices send from
    # after_commit), and every claim and every sent_at here is committed on its own.
    with db.engine.connect() as database:
        with Sending(connections, now=now) as sending:
            after_id = 0
            while (limit is None or sending.tried < limit) and not sending.stopped:
                page = sa.select(OUTBOX.c.id).where(WAITING, OUTBOX.c.id > after_id)
                if only_ids is not None:
                    page = page.where(OUTBOX.c.id.in_(only_ids))
                size = _PAGE if limit is None else min(_PAGE, limit - sending.tried)
                ids = database.scalars(
                    page.order_by(OUTBOX.c.id).limit(size),
                    {"stale_before": sending.clock() - CLAIM_EXPIRES},
                ).all()
                database.commit()
                if not ids:
                    break
                after_id = ids[-1]
                sending.send(ids)
        still_waiting = sa.select(sa.func.count()).select_from(OUTBOX).where(NOT_DONE)
        if only_ids is not None:
            still_waiting = still_waiting.where(OUTBOX.c.id.in_(only_ids))
        left = database.scalar(still_waiting) or 0
        database.commit()
    return SendReport(sent=sending.sent, failed=sending.failed, left=left, dropped=sending.dropped)


class Sending:
    """Outbox messages sent in the background while the caller goes on: a digest run
    builds its next batch while the last one goes out.

        with outbox.Sending(connections) as sending:
            sending.send(ids)  # claims them, hands them to the senders, returns

    `connections` threads each send over their own SMTP session and record each
    message on their own database connection. Leaving the block waits for them.
    When the server cannot take more, they stop, and claimed messages not yet tried
    go back to waiting, as do any sent after that: the next run sends them.
    """

    # Messages handed over and not yet sent, at most: the caller waits beyond that,
    # so memory stays flat however far ahead it could build.
    BACKLOG = 2 * _PAGE

    def __init__(self, connections: int, *, now: datetime | None = None) -> None:
        self._now = now
        self._app = app_ctx.app
        self._rows: Queue[Claimed | None] = Queue(maxsize=self.BACKLOG)
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._database: sa.Connection | None = None
        self.tried = self.dropped = self.sent = self.failed = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"outbox-sender-{number}", daemon=True)
            for number in range(max(1, connections))
        ]

    def clock(self) -> datetime:
        return self._now or utcnow()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def __enter__(self) -> Sending:
        self._database = db.engine.connect()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        for _ in self._threads:
            self._rows.put(None)
        for thread in self._threads:
            thread.join()
        self._connection().close()
        if self._error is not None and exc_info[0] is None:
            raise self._error

    def send(self, outbox_ids: Sequence[int]) -> None:
        """Claim these (those still waiting) and hand them to the senders."""
        if not outbox_ids or self.stopped:
            return  # after a stop they wait, unclaimed, for the next run
        database = self._connection()
        rows = claim(database, outbox_ids, self.clock())  # less any another took
        wanted = still_wanted(database, rows, self.clock())
        self.tried += len(rows)
        self.dropped += len(rows) - len(wanted)
        for row in wanted:
            self._rows.put(row)

    def _connection(self) -> sa.Connection:
        """The caller's connection, for claiming: open from entering the block."""
        if self._database is None:
            raise RuntimeError("Sending is used in a with block")
        return self._database

    def _work(self) -> None:
        try:
            with (
                self._app.app_context(),
                db.engine.connect() as database,
                mail.connection() as connection,
            ):
                self._send_rows(database, connection)
        except BaseException as error:  # noqa: BLE001 - raised again in the caller
            self._error = self._error or error
            self._stop.set()
            # Keep taking what the caller hands over, so that it never waits for ever;
            # those claims go stale and the next run sends them (CLAIM_EXPIRES).
            while self._rows.get() is not None:
                pass

    def _send_rows(self, database: sa.Connection, connection: mail.Connection) -> None:
        while (row := self._rows.get()) is not None:
            if self.stopped:
                record(database, row, claimed_at=None, count_attempt=False)
                continue
            try:
                outcome = send_one(database, connection, row, self.clock)
            except StopBatch:
                self._stop.set()
                continue
            with self._lock:
                self.sent += outcome is True
                self.failed += outcome is False
