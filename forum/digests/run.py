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
from functools import partial
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import mail, mail_rules, outbox
from ..extensions import db
from ..models import (
    DigestDelivery,
    DigestFrequency,
    DigestStatus,
    MailKind,
    MailSettings,
    User,
    utcnow,
)
from ..services import mail_settings
from . import schedule
from .build import Digest, DigestTopic, Member, RunCache, build_digests

BATCH_SIZE = 500
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
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(MailSettings)
            .where(MailSettings.next_digest_at <= (now or utcnow()))
        )
        or 0
    )


def send_due(
    now: datetime | None = None,
    *,
    limit: int | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[RunReport, int], None] | None = None,
) -> RunReport:
    """Build and send every digest due at `now` (the clock, unless a test sets it).

    `progress(report, members_in_batch)` is called after each batch. While a batch is
    built, the one before it is sent (outbox.Sending): most of the time a message
    takes to send is waiting for the SMTP server's answers.
    """
    now = now or utcnow()
    report = RunReport()
    after_user_id = 0  # --dry-run changes nothing, so it walks the due members in order
    clashes = 0
    sections, cache = _Sections(), RunCache()
    with outbox.Sending(current_app.config["SMTP_CONNECTIONS"], now=now) as sending:
        while limit is None or report.members < limit:
            size = batch_size if limit is None else min(batch_size, limit - report.members)
            try:
                batch = _claim(now, size, after_user_id if dry_run else 0)
                if not batch:
                    db.session.rollback()
                    break
                queued = _handle_batch(batch, now, report, dry_run, sections, cache)
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
            sending.send(queued)
            if progress is not None:
                progress(report, len(batch))
    if not dry_run:  # what an earlier run, or this one, could not send
        outbox.send_waiting(now=now, connections=current_app.config["SMTP_CONNECTIONS"])
    return report


def _another_sender(error: IntegrityError | OperationalError) -> bool:
    if isinstance(error, IntegrityError):
        return True  # the unique key on (member, period): someone recorded it first
    return db.engine.dialect.name == "sqlite" and "locked" in str(error.orig).lower()


def prune(now: datetime | None = None) -> None:
    """Forget digest records past any period they could guard, and old sent mail."""
    now = now or utcnow()
    db.session.execute(
        sa.delete(DigestDelivery).where(DigestDelivery.created_at < now - KEEP_DELIVERIES)
    )
    db.session.commit()
    outbox.prune(now)


def _claim(now: datetime, size: int, after_user_id: int) -> list[tuple[MailSettings, User]]:
    """Due members, in order. On PostgreSQL their rows stay locked to this copy until the
    batch commits; on SQLite (one writer, which _write_lock takes before any write) a
    copy may read members another is building, and _still_due sorts that out."""
    query = (
        sa.select(MailSettings, User)
        .join(User, User.id == MailSettings.user_id)
        .where(MailSettings.next_digest_at <= now, MailSettings.user_id > after_user_id)
        .order_by(MailSettings.user_id)
        .limit(size)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=MailSettings)
    return [(settings, user) for settings, user in db.session.execute(query)]


@dataclass
class _Outcome:
    """What a batch decided for one member, written once the batch has SQLite's lock."""

    settings: MailSettings
    user: User
    due: datetime  # the scheduled time it was claimed for (next_digest_at <= now)
    period: str
    digest: Digest | None = None  # None: skipped
    letter: outbox.Letter | None = None
    failed: bool = False


def _handle_batch(
    batch, now: datetime, report: RunReport, dry_run: bool, sections: _Sections, cache: RunCache
) -> list[int]:
    """Build the batch's digests, then record them: the outbox ids queued."""
    outcomes = _outcomes(batch)
    for digest in build_digests(_members_to_build(outcomes, now), cache):
        outcome = outcomes[digest.member.user_id]
        outcome.digest = digest
        if not digest.is_empty and not dry_run:
            _prepare_letter(outcome, digest, sections)
    if dry_run:
        _report_dry_run(outcomes, report)
        return []
    return _record(outcomes, now, report)


def _outcomes(batch) -> dict[int, _Outcome]:
    """Each claimed member with the period their due digest is for."""
    return {
        user.id: _Outcome(
            settings,
            user,
            settings.next_digest_at,
            schedule.period_key(settings.digest, settings.next_digest_at, settings.timezone),
        )
        for settings, user in batch
    }


def _members_to_build(outcomes: dict[int, _Outcome], now: datetime) -> list[Member]:
    """Those who may be mailed a digest now and have not had this period's (one query)."""
    recorded = schedule.deliveries_of(outcomes)
    members = []
    for user_id, outcome in outcomes.items():
        settings = outcome.settings
        wanted = mail_rules.member_wants(outcome.user, settings, MailKind.DIGEST, now)
        had = recorded.get(user_id, [])
        if not wanted or schedule.had_periods_digest(had, outcome.period, outcome.due):
            continue
        # From where the last digest stopped, so nothing falls between two digests (a
        # 25-hour day, an hour moved later, a late run); but after a long pause or a
        # stretch without a digest, only the last two periods: old news is not news.
        oldest = now - 2 * schedule.PERIOD_LENGTH[DigestFrequency(settings.digest)]
        covered_from = max(settings.digest_covered_until or oldest, oldest)
        members.append(Member(user_id, outcome.user.username, covered_from, now))
    return members


def _prepare_letter(outcome: _Outcome, digest: Digest, sections: _Sections) -> None:
    try:
        outcome.letter = outbox.prepare(_message(digest, outcome.user, outcome.settings, sections))
    except Exception:  # one member's digest must not stop everyone else's
        current_app.logger.exception("could not build the digest of member %s", outcome.user.id)
        outcome.failed = True


def _report_dry_run(outcomes: dict[int, _Outcome], report: RunReport) -> None:
    for outcome in outcomes.values():
        report.members += 1
        digest = outcome.digest
        if digest is None:
            report.skipped += 1
        elif digest.is_empty:
            report.empty += 1
        else:
            report.sent += 1
            report.lines.append(
                f"{outcome.user.username}: {outcome.settings.digest} digest for "
                f"{outcome.period}, {len(digest.topics)} topics with news, "
                f"{len(digest.unanswered)} waiting for a reply"
            )


def _record(outcomes: dict[int, _Outcome], now: datetime, report: RunReport) -> list[int]:
    """Queue the mail, record each digest and move each member on: the outbox ids."""
    still_due = _still_due(list(outcomes), now)
    queued = []
    for user_id, outcome in outcomes.items():
        if user_id not in still_due:
            continue  # another copy did this member while this one was building
        report.members += 1
        digest = outcome.digest
        if digest is None:
            report.skipped += 1
        else:
            if outcome.letter is not None:
                queued.append(outbox.queue(outcome.letter, user_id=user_id, kind=MailKind.DIGEST))
                report.sent += 1
            report.failed += outcome.failed
            report.empty += digest.is_empty and not outcome.failed
            _record_delivery(outcome, digest)
        schedule.move_on(outcome.settings, now)
    db.session.flush()  # the outbox ids, without reading each row again after the commit
    return [row.id for row in queued]


def _record_delivery(outcome: _Outcome, digest: Digest) -> None:
    status = DigestStatus.QUEUED
    if outcome.failed:
        status = DigestStatus.FAILED
    elif digest.is_empty:
        status = DigestStatus.EMPTY
    db.session.add(
        DigestDelivery(
            user_id=outcome.user.id,
            period=outcome.period,
            status=status,
            covered_from=digest.member.covered_from,
            covered_until=digest.member.covered_until,
        )
    )
    if not outcome.failed:  # a digest that could not be built: its news waits
        outcome.settings.digest_covered_until = digest.member.covered_until


def _still_due(user_ids: list[int], now: datetime) -> set[int]:
    """Which of these members are still due, asked once this copy holds the write lock.

    On SQLite the batch was read and built without the lock (so that the outbox could
    send the previous batch meanwhile): another copy may have done some of these
    members since. (On PostgreSQL the claimed rows are locked: all of them are.)
    """
    if db.engine.dialect.name == "sqlite":
        # An UPDATE that matches nothing still takes SQLite's write lock.
        db.session.execute(
            sa.update(MailSettings).where(sa.false()).values(version=MailSettings.version)
        )
    # populate_existing: the settings are written from what they are now, not as read.
    return {
        settings.user_id
        for settings in db.session.scalars(
            sa.select(MailSettings)
            .where(MailSettings.user_id.in_(user_ids), MailSettings.next_digest_at <= now)
            .execution_options(populate_existing=True)
        )
    }


def _message(digest: Digest, user: User, settings: MailSettings, sections: _Sections | None = None):
    frequency = "daily" if settings.digest == DigestFrequency.DAILY else "weekly"
    site = current_app.config["SITE_NAME"]
    zone = schedule.zone(settings.timezone)
    sections = sections or _Sections()
    return mail.build_message(
        user.email,
        f"Your {frequency} digest from {site}",
        "digest",
        unsubscribe_url=mail_settings.unsubscribe_url(settings, MailKind.DIGEST),
        digest=digest,
        frequency=frequency,
        username=user.username,
        zone=zone,
        settings_url=mail.url_for_mail("mail_settings.settings"),
        topic_html=partial(sections.render, "html", zone=zone),
        topic_text=partial(sections.render, "txt", zone=zone),
    )


class _Sections:
    """Each topic's part of a digest, rendered once per run for all the members who get
    the same posts of it at the same UTC offset (the times shown are their only
    difference): most members of a board see the same news, and rendering was most of
    the time a digest took."""

    KEEP = 20_000  # parts kept; past that the cache starts again (memory stays flat)

    def __init__(self) -> None:
        self._rendered: dict[tuple, str] = {}

    def render(self, part: str, topic: DigestTopic, *, zone: ZoneInfo) -> str:
        """templates/email/_digest_topic.<part> for this topic; HTML comes as Markup,
        which it is: the output of an autoescaping template."""
        # Everything the part shows is in the key (a title or a content warning may change
        # between two batches), the zone only as the offset of each time shown.
        key = (
            part,
            topic.topic_id,
            topic.title,
            topic.board_name,
            topic.is_new,
            tuple(
                (
                    post.post_id,
                    post.author,
                    post.content_warning,
                    post.excerpt,
                    zone.utcoffset(post.published_at),
                )
                for post in topic.posts
            ),
        )
        if key not in self._rendered:
            if len(self._rendered) >= self.KEEP:
                self._rendered.clear()
            text = current_app.jinja_env.get_template(f"email/_digest_topic.{part}").render(
                topic=topic, zone=zone
            )
            self._rendered[key] = Markup(text) if part == "html" else text
        return self._rendered[key]
