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

import re
import smtplib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from queue import Queue

import sqlalchemy as sa
from flask import current_app

from . import mail
from .extensions import db
from .models import MailSettings, OutboxBody, OutboxMessage, User, UTCDateTime, utcnow
from .services import mail_settings

CLAIM_EXPIRES = timedelta(minutes=10)
RETRY_FOR = timedelta(days=3)
# Sent mail is kept a week (to answer "did it go?"), failed mail a month; then it goes:
# a message holds a member's address and words they may since have deleted.
KEEP_SENT = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)
_PAGE = 200  # rows read at a time while looking for work
_ERROR_LENGTH = 300  # OutboxMessage.last_error


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


def queue(message: EmailMessage | Letter, *, user_id: int | None,
          kind: str) -> OutboxMessage:
    """Add the message to the outbox in the caller's transaction (no commit)."""
    letter = message if isinstance(message, Letter) else prepare(message)
    row = OutboxMessage(user_id=user_id, kind=str(kind), recipient=letter.recipient,
                        attempts=0, body=OutboxBody(message=letter.message))
    db.session.add(row)
    return row


def send_waiting(limit: int | None = None, *, now: datetime | None = None,
                 connections: int = 1) -> SendReport:
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
        return database.execute(sa.delete(_outbox).where(sa.or_(
            _outbox.c.sent_at < now - KEEP_SENT,
            _outbox.c.failed_at < now - KEEP_FAILED))).rowcount


class _StopBatch(Exception):
    """The server cannot take more just now: everything left waits for the next run."""


# Core statements on the tables, built once: a digest run sends thousands of messages,
# three statements each, and building ORM statements cost more than running them.
_outbox, _bodies = OutboxMessage.__table__, OutboxBody.__table__
_NOT_DONE = sa.and_(_outbox.c.sent_at.is_(None), _outbox.c.failed_at.is_(None))
_WAITING = sa.and_(_NOT_DONE, sa.or_(_outbox.c.claimed_at.is_(None),
                                     _outbox.c.claimed_at < sa.bindparam("stale_before")))
_CLAIM = (sa.update(_outbox)
          .where(_outbox.c.id.in_(sa.bindparam("outbox_ids", expanding=True)), _WAITING)
          .values(claimed_at=sa.bindparam("now", type_=UTCDateTime()))
          .returning(_outbox.c.id, _outbox.c.user_id, _outbox.c.kind, _outbox.c.recipient,
                     _outbox.c.created_at))
_BODIES = sa.select(_bodies.c.outbox_id, _bodies.c.message).where(
    _bodies.c.outbox_id.in_(sa.bindparam("outbox_ids", expanding=True)))


def _send(only_ids: list[int] | None, limit: int | None, now: datetime | None,
          connections: int = 1) -> SendReport:
    # Its own connections: the caller's session may be mid-commit (notices send from
    # after_commit), and every claim and every sent_at here is committed on its own.
    with db.engine.connect() as database:
        with Sending(connections, now=now) as sending:
            after_id = 0
            while (limit is None or sending.tried < limit) and not sending.stopped:
                page = sa.select(_outbox.c.id).where(_WAITING, _outbox.c.id > after_id)
                if only_ids is not None:
                    page = page.where(_outbox.c.id.in_(only_ids))
                size = _PAGE if limit is None else min(_PAGE, limit - sending.tried)
                ids = database.scalars(page.order_by(_outbox.c.id).limit(size),
                                       {"stale_before": sending.clock() - CLAIM_EXPIRES}).all()
                database.commit()
                if not ids:
                    break
                after_id = ids[-1]
                sending.send(ids)
        still_waiting = sa.select(sa.func.count()).select_from(_outbox).where(_NOT_DONE)
        if only_ids is not None:
            still_waiting = still_waiting.where(_outbox.c.id.in_(only_ids))
        left = database.scalar(still_waiting) or 0
        database.commit()
    return SendReport(sent=sending.sent, failed=sending.failed, left=left,
                      dropped=sending.dropped)


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
        self._app = current_app._get_current_object()
        self._rows: Queue[_Claimed | None] = Queue(maxsize=self.BACKLOG)
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._database: sa.Connection | None = None
        self.tried = self.dropped = self.sent = self.failed = 0
        self._threads = [threading.Thread(target=self._work, name=f"outbox-sender-{number}",
                                          daemon=True) for number in range(max(1, connections))]

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
        self._database.close()
        if self._error is not None and exc_info[0] is None:
            raise self._error

    def send(self, outbox_ids: list[int]) -> None:
        """Claim these (those still waiting) and hand them to the senders."""
        if not outbox_ids or self.stopped:
            return  # after a stop they wait, unclaimed, for the next run
        rows = _claim(self._database, outbox_ids, self.clock())  # less any another took
        wanted = _still_wanted(self._database, rows, self.clock())
        self.tried += len(rows)
        self.dropped += len(rows) - len(wanted)
        for row in wanted:
            self._rows.put(row)

    def _work(self) -> None:
        try:
            with self._app.app_context(), db.engine.connect() as database, \
                    mail.connection() as connection:
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
                _record(database, row, claimed_at=None, count_attempt=False)
                continue
            try:
                outcome = _send_one(database, connection, row, self.clock)
            except _StopBatch:
                self._stop.set()
                continue
            with self._lock:
                self.sent += outcome is True
                self.failed += outcome is False


@dataclass(frozen=True)
class _Claimed:
    id: int
    user_id: int | None
    kind: str
    recipient: str
    created_at: datetime
    message: bytes


def _claim(database: sa.Connection, outbox_ids: list[int], now: datetime) -> list[_Claimed]:
    """The rows of these that this sender won (the UPDATE matched), oldest first, each
    with its message: read after the claim is committed, in one query for them all."""
    won = database.execute(_CLAIM, {"outbox_ids": outbox_ids, "now": now,
                                    "stale_before": now - CLAIM_EXPIRES}).all()
    database.commit()
    if not won:
        return []
    messages = dict(database.execute(_BODIES, {"outbox_ids": [row.id for row in won]}).all())
    database.commit()
    # A row whose body is gone was deleted since the claim (its member's account was
    # erased): there is nothing left to send, nor to record.
    return [_Claimed(*row, message=messages[row.id])
            for row in sorted(won, key=lambda row: row.id) if row.id in messages]


_users, _settings = User.__table__, MailSettings.__table__
_RECIPIENTS = (sa.select(_users.c.id, _users.c.email, _users.c.email_verified_at,
                         _users.c.banned_at, _users.c.deletion_due_at,
                         _settings.c.user_id.label("has_settings"),
                         _settings.c.digest, _settings.c.notify_reply, _settings.c.notify_quote,
                         _settings.c.notify_moderation, _settings.c.paused_until)
               .select_from(_users.outerjoin(_settings, _settings.c.user_id == _users.c.id))
               .where(_users.c.id.in_(sa.bindparam("user_ids", expanding=True))))


def _still_wanted(database: sa.Connection, rows: list[_Claimed],
                  now: datetime) -> list[_Claimed]:
    """Ask again when the messages' turn comes: mail that waited (the server was down)
    must not reach a member who has since said stop, paused, been banned, or moved to
    another address. Such a message is dropped (kept a while as failed, then pruned)."""
    user_ids = sorted({row.user_id for row in rows if row.user_id is not None})
    members = {member.id: member for member in database.execute(
        _RECIPIENTS, {"user_ids": user_ids})} if user_ids else {}
    database.commit()
    wanted = []
    for row in rows:
        member = members.get(row.user_id)
        if row.user_id is None or (
                member is not None and member.email == row.recipient
                and mail_settings.mail_wanted(
                    row.kind, address=member.email, verified=member.email_verified_at is not None,
                    banned=member.banned_at is not None,
                    leaving=member.deletion_due_at is not None,
                    settings=member if member.has_settings is not None else None, now=now)):
            wanted.append(row)
        else:
            _record(database, row, failed_at=now, claimed_at=None,
                    last_error="not sent: the member no longer wants this mail, or moved")
    return wanted


# The one write every message makes, built once like the statements above.
_MARK_SENT = (sa.update(_outbox).where(_outbox.c.id == sa.bindparam("row_id"))
              .values(sent_at=sa.bindparam("at", type_=UTCDateTime()),
                      attempts=_outbox.c.attempts + 1))


def _record_sent(database: sa.Connection, row: _Claimed, at: datetime) -> None:
    database.execute(_MARK_SENT, {"row_id": row.id, "at": at})
    database.commit()


def _record(database: sa.Connection, row: _Claimed, *, count_attempt: bool = True,
            **values) -> None:
    if count_attempt:
        values["attempts"] = _outbox.c.attempts + 1
    database.execute(sa.update(_outbox).where(_outbox.c.id == row.id).values(**values))
    database.commit()


def _send_one(database: sa.Connection, connection: mail.Connection, row: _Claimed,
              clock) -> bool | None:
    """True if the server took it, False if it refused it for good, None if this
    recipient cannot take it now; raises _StopBatch (after putting the message back)
    when the server cannot take anything now."""
    try:
        connection.send_raw(row.message, row.recipient)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
        code = _reply_code(error)
        about_recipient = isinstance(error, smtplib.SMTPRecipientsRefused) and code != 421
        # A message refused "for now" for days (its recipient, or its data) is given up,
        # or one bad message would hold every message behind it for ever.
        if (code is not None and 500 <= code < 600) or (
                code != 421 and clock() - _aware(row.created_at) > RETRY_FOR):
            reason = _describe(error, row.recipient)
            _record(database, row, failed_at=clock(), last_error=reason)
            current_app.logger.warning("mail %s to user %s refused for good: %s", row.id,
                                       row.user_id, reason)
            return False
        _put_back(database, row, error)
        if about_recipient:
            return None
        raise _StopBatch from error
    except smtplib.SMTPNotSupportedError as error:
        if "SMTPUTF8" not in str(error):  # e.g. no AUTH for our login: our settings
            _put_back(database, row, error)
            raise _StopBatch from error
        # This message needs what the server lacks (an address that is not ASCII, and
        # no SMTPUTF8): it will never go, and the others can.
        reason = _describe(error, row.recipient)
        _record(database, row, failed_at=clock(), last_error=reason)
        current_app.logger.warning("mail %s to user %s cannot be sent: %s", row.id,
                                   row.user_id, reason)
        return False
    except (smtplib.SMTPException, OSError) as error:
        # Refusals that are not about this message (the connection, STARTTLS, the login,
        # our sender address) fail no message: all of them wait until it is put right.
        _put_back(database, row, error)
        raise _StopBatch from error
    except BaseException as error:
        _put_back(database, row, error)
        raise
    _record_sent(database, row, clock())
    return True


def _reply_code(error: smtplib.SMTPException) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        # Permanent only when every refusal is: one temporary one means "try again".
        return max(codes) if codes and min(codes) >= 500 else min(codes, default=None)
    return error.smtp_code


def _aware(moment: datetime) -> datetime:
    """RETURNING hands back SQLite's stored text as a naive datetime: it is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _put_back(database: sa.Connection, row: _Claimed, error: BaseException) -> None:
    reason = _describe(error, row.recipient)
    _record(database, row, claimed_at=None, last_error=reason)
    current_app.logger.warning("mail %s waits for the next run: %s", row.id, reason)


def _describe(error: BaseException, recipient: str) -> str:
    """A short reason for the table and the log, without the member's address (servers
    often repeat it in their answer)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(f"{code} {reply.decode(errors='replace')}"
                         for code, reply in error.recipients.values())
    elif isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        reply = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        text = f"{error.smtp_code} {reply}"
    else:
        text = f"{type(error).__name__}: {error}"
    text = re.sub(re.escape(recipient), "<recipient>", text, flags=re.IGNORECASE)
    return " ".join(text.split())[:_ERROR_LENGTH]
