"""What a sender does with the mail server's answer to one message: recorded as
sent, refused for good, put back to wait for this recipient, or the whole batch
stopped because the server cannot take more now (see forum.outbox's notes).
"""

from __future__ import annotations

import re
import smtplib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .. import mail
from ..models import UTCDateTime
from .claims import OUTBOX, Claimed, record

RETRY_FOR = timedelta(days=3)
_ERROR_LENGTH = 300  # OutboxMessage.last_error


class StopBatch(Exception):
    """The server cannot take more just now: everything left waits for the next run."""


# The one write every message makes, built once like the statements above.
_MARK_SENT = (
    sa.update(OUTBOX)
    .where(OUTBOX.c.id == sa.bindparam("row_id"))
    .values(sent_at=sa.bindparam("at", type_=UTCDateTime()), attempts=OUTBOX.c.attempts + 1)
)


def _record_sent(database: sa.Connection, row: Claimed, at: datetime) -> None:
    database.execute(_MARK_SENT, {"row_id": row.id, "at": at})
    database.commit()


def send_one(
    database: sa.Connection, connection: mail.Connection, row: Claimed, clock
) -> bool | None:
    """True if the server took it, False if it refused it for good, None if this
    recipient cannot take it now; raises StopBatch (after putting the message back)
    when the server cannot take anything now."""
    try:
        connection.send_raw(row.message, row.recipient)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
        code = _reply_code(error)
        about_recipient = isinstance(error, smtplib.SMTPRecipientsRefused) and code != 421
        # A message refused "for now" for days (its recipient, or its data) is given up,
        # or one bad message would hold every message behind it for ever.
        if (code is not None and 500 <= code < 600) or (
            code != 421 and clock() - _aware(row.created_at) > RETRY_FOR
        ):
            reason = _describe(error, row.recipient)
            record(database, row, failed_at=clock(), last_error=reason)
            current_app.logger.warning(
                "mail %s to user %s refused for good: %s", row.id, row.user_id, reason
            )
            return False
        _put_back(database, row, error)
        if about_recipient:
            return None
        raise StopBatch from error
    except smtplib.SMTPNotSupportedError as error:
        if "SMTPUTF8" not in str(error):  # e.g. no AUTH for our login: our settings
            _put_back(database, row, error)
            raise StopBatch from error
        # This message needs what the server lacks (an address that is not ASCII, and
        # no SMTPUTF8): it will never go, and the others can.
        reason = _describe(error, row.recipient)
        record(database, row, failed_at=clock(), last_error=reason)
        current_app.logger.warning(
            "mail %s to user %s cannot be sent: %s", row.id, row.user_id, reason
        )
        return False
    except (smtplib.SMTPException, OSError) as error:
        # Refusals that are not about this message (the connection, STARTTLS, the login,
        # our sender address) fail no message: all of them wait until it is put right.
        _put_back(database, row, error)
        raise StopBatch from error
    except BaseException as error:
        _put_back(database, row, error)
        raise
    _record_sent(database, row, clock())
    return True


def _reply_code(
    error: smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException,
) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        # Permanent only when every refusal is: one temporary one means "try again".
        return max(codes) if codes and min(codes) >= 500 else min(codes, default=None)
    return error.smtp_code


def _aware(moment: datetime) -> datetime:
    """RETURNING hands back SQLite's stored text as a naive datetime: it is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _put_back(database: sa.Connection, row: Claimed, error: BaseException) -> None:
    reason = _describe(error, row.recipient)
    record(database, row, claimed_at=None, last_error=reason)
    current_app.logger.warning("mail %s waits for the next run: %s", row.id, reason)


def _describe(error: BaseException, recipient: str) -> str:
    """A short reason for the table and the log, without the member's address (servers
    often repeat it in their answer)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{code} {reply.decode(errors='replace')}" for code, reply in error.recipients.values()
        )
    elif isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        reply = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        text = f"{error.smtp_code} {reply}"
    else:
        text = f"{type(error).__name__}: {error}"
    text = re.sub(re.escape(recipient), "<recipient>", text, flags=re.IGNORECASE)
    return " ".join(text.split())[:_ERROR_LENGTH]
