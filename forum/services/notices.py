"""Notices to members: a row on their notices page, and the same words by mail.

The mail goes into the outbox in the same transaction as the notice, so it
leaves only if that transaction commits, and a change that rolled back tells
nobody anything. Right after the commit the request tries to send it; what the
mail server does not take waits in the outbox for `flask mail send` (or the
digest run), and a failure is logged, never raised: the notice is on the
member's notices page either way.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from .. import mail, outbox, viewer_rows
from ..extensions import db
from ..listeners import Listener, attach_once
from ..models import MailKind, Notice, User, utcnow
from . import mail_settings

_TO_SEND = "notice_mail_to_send"


def notify(
    user: User,
    kind: str,
    subject: str,
    message: str,
    link: str = "",
    *,
    mail_kind: str = MailKind.MODERATION,
    mail_message: str | None = None,
) -> Notice:
    """Within the caller's transaction: store the notice and queue its mail, if the
    member wants this kind of mail. `mail_message`, when given, is what the mail says
    instead (for a notice whose words should stay on the site, behind the login)."""
    notice = Notice(user_id=user.id, kind=kind, subject=subject, message=message, link=link)
    db.session.add(notice)
    if mail_settings.wants_mail(user, mail_kind):
        unsubscribe_url = mail_settings.unsubscribe_url(mail_settings.settings_for(user), mail_kind)
        email = mail.build_message(
            user.email,
            subject,
            "notice",
            unsubscribe_url=unsubscribe_url,
            list_id_kind=str(mail_kind),
            username=user.username,
            kind=kind,
            message=message if mail_message is None else mail_message,
            link=mail.absolute_url(link) if link else "",
            mail_kind=str(mail_kind),
            notices_url=mail.url_for_mail("moderation.notices"),
        )
        row = outbox.queue(email, user_id=user.id, kind=mail_kind)
        db.session.info.setdefault(_TO_SEND, []).append(row)
    return notice


def _send_committed_notice_mail(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released; the commit is to come
        return
    rows = session.info.pop(_TO_SEND, [])
    # The identity key holds the id without a query (none may run in after_commit);
    # a row whose savepoint rolled back has none, or one no longer in the table.
    ids = [identity[0] for identity in (sa.inspect(row).identity for row in rows) if identity]
    if not ids:
        return
    # Sent now, not after the response as account mail is: nothing here is secret
    # from the person acting, and a response's close callback is not always run
    # (Werkzeug's server skips it when the client drops the connection first).
    try:
        outbox.send_these(ids)
    except Exception:  # the mail waits in the outbox; the change itself is committed
        current_app.logger.exception("could not send notice mail %s now", ids)


def _drop_rolled_back_notice_mail(session: Session) -> None:
    if session.in_nested_transaction():  # only a savepoint rolled back
        return
    session.info.pop(_TO_SEND, None)


LISTENERS: tuple[Listener, ...] = (
    (Session, "after_commit", _send_committed_notice_mail),
    (Session, "after_rollback", _drop_rolled_back_notice_mail),
)


def attach_listeners() -> None:
    """Called by forum.session_hooks; a second call adds nothing."""
    attach_once(LISTENERS)


def _unread(user_id: int | sa.BindParameter[int]) -> sa.ColumnElement[bool]:
    return sa.and_(Notice.user_id == user_id, Notice.read_at.is_(None))


# Built once (bind parameters): every page a member opens asks it, for the menu.
_UNREAD_COUNT = sa.select(sa.func.count()).where(_unread(sa.bindparam("user_id")))


def unread_part() -> sa.Select:
    """How many notices the viewer has not read, in forum.viewer_rows' shape ("n", the
    count in `a`). Parameter: "user_id"."""
    return sa.select(*viewer_rows.row("n", sa.func.count())).where(_unread(sa.bindparam("user_id")))


def unread_count(user: User) -> int:
    return db.session.scalar(_UNREAD_COUNT, {"user_id": user.id}) or 0


def mark_all_read(user: User) -> None:
    db.session.execute(sa.update(Notice).where(_unread(user.id)).values(read_at=utcnow()))
    db.session.commit()
