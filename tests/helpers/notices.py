"""Replying through the service and reading the notice mail it causes."""

from __future__ import annotations

import sqlalchemy as sa

from forum import mail
from forum.extensions import db
from forum.models import Post, Topic, User
from forum.services import posting

PRIVATE_WORDS = "my sister's name is Juniper"


def reply(app, author, topic, body=PRIVATE_WORDS, quote_of: int | None = None) -> Post:
    with app.test_request_context():
        post = posting.create_reply(
            db.session.get(User, author.id),
            db.session.get(Topic, topic.id),
            body,
            quote_of=db.session.get(Post, quote_of) if quote_of else None,
        ).post
        db.session.refresh(post)
        db.session.expunge(post)
        return post


def first_post_id(app, topic) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.min(Post.id)).where(Post.topic_id == topic.id))


def mail_to(address: str) -> list:
    return [message for message in mail.outbox if message["To"].addresses[0].addr_spec == address]
