"""Sending every digest that is due: `flask --app wsgi digests send`.

Members are taken in batches. One transaction per batch claims the due members'
settings rows, builds their digests (forum.digests.build: a fixed number of
queries per batch), puts each digest in the outbox, records it in
digest_deliveries and moves each member's schedule on. The outbox then sends
the batch over one SMTP connection.

Why this never sends a digest twice, nor skips one:
- a digest is recorded once per member and period (a unique key), in the same
  transaction as its mail in the outbox and the member's next due time;
- a crash before that commit leaves the members due, so the next run does them;
  after it, the mail waits in the outbox, which sends each message once;
- several copies at once: on PostgreSQL each claims its own rows
  (SELECT ... FOR UPDATE SKIP LOCKED); on SQLite, which has one writer at a time,
  each batch takes the write lock before it reads who is due, so batches queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import mail, outbox
from ..extensions import db
from ..models import DigestDelivery, DigestFrequency, MailKind, MailSettings, User, utcnow
from ..services import mail_settings
from . import schedule
from .build import Digest, Member, build_digests

BATCH_SIZE = 200
MAX_CLASHES = 50  # batches given up to other copies in one run before giving up
# A period's record is what stops a second digest for it; older ones serve no purpose.
KEEP_DELIVERIES = timedelta(days=35)


@dataclass
class RunReport:
    members: int = 0  # due members handled
    sent: int = 0  # digests put in the outbox (or that would be, with --dry-run)
    empty: int = 0  # nothing new: recorded, no mail
    skipped: int = 0  # not mailable now (unverified, banned, paused) or had this period's
    failed: int = 0  # could not be built (logged); their schedule moves on
    lines: list[str] = field(default_factory=list)  # --dry-run: what would be sent


def count_due(now: datetime | None = None) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(MailSettings).where(
        MailSettings.next_digest_at <= (now or utcnow()))) or 0


def send_due(now: datetime | None = None, *, limit: int | None = None, dry_run: bool = False,
             batch_size: int = BATCH_SIZE,
             progress: Callable[[RunReport, int], None] | None = None) -> RunReport:
    """Build and send every digest due at `now` (the clock, unless a test sets it).

    `progress(report, members_in_batch)` is called after each batch.
    """
    now = now or utcnow()
    report = RunReport()
    after_user_id = 0  # --dry-run changes nothing, so it walks the due members in order
    clashes = 0
    while limit is None or report.members < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.members)
        try:
            batch = _claim(now, size, after_user_id if dry_run else 0)
            if not batch:
                db.session.rollback()
                break
            _handle_batch(batch, now, report, dry_run)
            if dry_run:
                db.session.rollback()
                after_user_id = batch[-1][0].user_id
            else:
                db.session.commit()
        except (IntegrityError, OperationalError) as error:
            # Another copy did some of these members first (SQLite only: PostgreSQL's
            # SKIP LOCKED keeps copies apart): what it did is no longer due; try again.
            # Anything else (the database is down) is for the operator to see.
            db.session.rollback()
            clashes += 1
            if not _another_sender(error) or clashes > MAX_CLASHES:
                raise
            current_app.logger.info("digest batch met another sender; claiming again")
            time.sleep(0.05 * clashes)
            continue
        if not dry_run:
            outbox.send_waiting(now=now)
        if progress is not None:
            progress(report, len(batch))
    if not dry_run:
        outbox.send_waiting(now=now)  # also what an earlier run could not send
    return report


def _another_sender(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True  # the unique key on (member, period): someone recorded it first
    return db.engine.dialect.name == "sqlite" and "locked" in str(error.orig).lower()


def prune(now: datetime | None = None) -> None:
    """Forget digest records past any period they could guard, and old sent mail."""
    now = now or utcnow()
    db.session.execute(sa.delete(DigestDelivery).where(
        DigestDelivery.created_at < now - KEEP_DELIVERIES))
    db.session.commit()
    outbox.prune(now)


def _claim(now: datetime, size: int, after_user_id: int) -> list[tuple[MailSettings, User]]:
    query = (sa.select(MailSettings, User).join(User, User.id == MailSettings.user_id)
             .where(MailSettings.next_digest_at <= now, MailSettings.user_id > after_user_id)
             .order_by(MailSettings.user_id).limit(size))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=MailSettings)
    else:
        # Take SQLite's write lock before reading who is due (an UPDATE that matches
        # nothing still takes it), so that two copies cannot read the same members.
        db.session.execute(sa.update(MailSettings).where(sa.false())
                           .values(version=MailSettings.version))
    return [(settings, user) for settings, user in db.session.execute(query)]


def _handle_batch(batch, now: datetime, report: RunReport, dry_run: bool) -> None:
    periods = {settings.user_id: schedule.period_key(settings.digest, settings.next_digest_at,
                                                     settings.timezone)
               for settings, _ in batch}
    had = set(db.session.execute(
        sa.select(DigestDelivery.user_id, DigestDelivery.period)
        .where(DigestDelivery.user_id.in_(periods))))

    members, settings_of, users = [], {}, {}
    for settings, user in batch:
        report.members += 1
        settings_of[user.id], users[user.id] = settings, user
        mailable = bool(user.email) and user.is_verified and not user.is_banned
        paused = settings.paused_until is not None and settings.paused_until > now
        if (not mailable or paused or settings.digest == DigestFrequency.NONE
                or (user.id, periods[user.id]) in had):
            report.skipped += 1
            if not dry_run:
                mail_settings.reschedule(settings, now)
            continue
        # From where the last digest stopped, so nothing falls between two digests (a
        # 25-hour day, an hour moved later, a late run); but after a long pause or a
        # stretch without a digest, only the last two periods: old news is not news.
        oldest = now - 2 * schedule.PERIOD_LENGTH[DigestFrequency(settings.digest)]
        covered_from = max(settings.digest_covered_until or oldest, oldest)
        members.append(Member(user.id, user.username, covered_from, now))

    for digest in build_digests(members):
        user_id = digest.member.user_id
        settings, user = settings_of[user_id], users[user_id]
        if dry_run:
            if digest.is_empty:
                report.empty += 1
            else:
                report.sent += 1
                report.lines.append(
                    f"{user.username}: {settings.digest} digest for {periods[user_id]}, "
                    f"{len(digest.topics)} topics with news, {len(digest.unanswered)} waiting "
                    "for a reply")
            continue
        status = "empty"
        if not digest.is_empty:
            try:
                message = _message(digest, user, settings)
            except Exception:  # one member's digest must not stop everyone else's
                current_app.logger.exception("could not build the digest of member %s",
                                             user_id)
                report.failed += 1
                status = "failed"
            else:
                outbox.queue(message, user_id=user_id, kind=MailKind.DIGEST)
                status = "queued"
                report.sent += 1
        else:
            report.empty += 1
        db.session.add(DigestDelivery(
            user_id=user_id, period=periods[user_id], status=status,
            covered_from=digest.member.covered_from, covered_until=digest.member.covered_until))
        if status != "failed":  # a digest that could not be built: its news waits
            settings.digest_covered_until = digest.member.covered_until
        mail_settings.reschedule(settings, now)


def _message(digest: Digest, user: User, settings: MailSettings):
    frequency = "daily" if settings.digest == DigestFrequency.DAILY else "weekly"
    site = current_app.config["SITE_NAME"]
    return mail.build_message(
        user.email, f"Your {frequency} digest from {site}", "digest",
        unsubscribe_url=mail_settings.unsubscribe_url(settings, MailKind.DIGEST),
        digest=digest, frequency=frequency, username=user.username,
        zone=schedule.zone(settings.timezone), url_for_mail=mail.url_for_mail,
        settings_url=mail.url_for_mail("mail_settings.settings"))
