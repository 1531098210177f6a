"""Notices to members: a row on their notices page, and the same words by mail.

The mail leaves only once the transaction that made the notice has committed
(and not at all if it rolled back), so nobody is told about a change that did
not happen. A mail server that fails is logged, not raised: the notice is on
the member's notices page either way.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import mail
from ..extensions import db
from ..models import Notice, User, utcnow

_PENDING_MAIL = "notice_mail"


def notify(user: User, kind: str, subject: str, message: str, link: str = "") -> Notice:
    """Within the caller's transaction: store the notice and queue its mail."""
    notice = Notice(user_id=user.id, kind=kind, subject=subject, message=message, link=link)
    db.session.add(notice)
    if user.email and user.is_verified:
        db.session.info.setdefault(_PENDING_MAIL, []).append(mail.build_message(
            user.email, subject, "notice", username=user.username, message=message,
            link=mail.absolute_url(link) if link else ""))
    return notice


@sa.event.listens_for(Session, "after_commit")
def _send_committed_notice_mail(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released; the commit is to come
        return
    # Sent now, not after the response as account mail is: nothing here is secret
    # from the person acting, and a response's close callback is not always run
    # (Werkzeug's server skips it when the client drops the connection first).
    for message in session.info.pop(_PENDING_MAIL, []):
        mail.deliver(message)


@sa.event.listens_for(Session, "after_rollback")
def _drop_rolled_back_notice_mail(session: Session) -> None:
    if session.in_nested_transaction():  # only a savepoint rolled back
        return
    session.info.pop(_PENDING_MAIL, None)


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(
        Notice.user_id == user.id, Notice.read_at.is_(None))) or 0


def mark_all_read(user: User) -> None:
    db.session.execute(sa.update(Notice).where(Notice.user_id == user.id,
                                               Notice.read_at.is_(None))
                       .values(read_at=utcnow()))
    db.session.commit()
