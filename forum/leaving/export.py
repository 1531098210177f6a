""" "Download my data": a ZIP of the member's own data, and nothing of anyone else's.

kindred-data.json holds the account, settings, reactions given and posts (Markdown
source and dates); posts.md is a readable copy of the posts, by topic. Left out on
purpose: who reported the member or blocked them, moderators' notes and review
history, other members' addresses, and posts the member deleted.

The archive is written into a SpooledTemporaryFile (in memory up to SPOOL_BYTES, then
on disk) while the posts are read in chunks, so a member with years of posts does not
hold the server's memory.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app, url_for

from ..extensions import db
from ..models import (
    Block,
    Board,
    BoardMute,
    Follow,
    MailSettings,
    MutedPhrase,
    Post,
    PostStatus,
    Reaction,
    Topic,
    User,
    utcnow,
)
from ..services import reactions

SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 500
FORMAT = "kindred-data/1"
JSON_NAME, MARKDOWN_NAME = "kindred-data.json", "posts.md"

#: A post's status in the member's words: what they were told or can see themselves.
#: A hidden post may have been hidden by members' reports, which its author is not told
#: about: "not visible to others" is true either way and says no more.
STATUS_WORDS = {
    PostStatus.PUBLISHED: "published",
    PostStatus.PENDING: "waiting for a moderator",
    PostStatus.REJECTED: "not published: returned to you by a moderator",
    PostStatus.HIDDEN: "not visible to others at the moment",
    PostStatus.REMOVED: "removed by a moderator",
}
UNSEEN_TOPIC = "(a topic that is no longer visible)"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _topic_title(member: User, title: str, status: str, author_id: int | None) -> str:
    """Another member's topic that is no longer listed keeps its title to itself."""
    return title if status == PostStatus.PUBLISHED or author_id == member.id else UNSEEN_TOPIC


def _link(post_id: int) -> str:
    return current_app.config["BASE_URL"] + url_for("boards.permalink", post_id=post_id)


def _posts(member: User) -> Iterator[sa.Row]:
    """The member's posts, oldest topic first and in order within each; not the ones
    they deleted (their words are gone, or kept only for a moderator's decision)."""
    query = (
        sa.select(
            Post.id,
            Post.status,
            Post.body_source,
            Post.content_warning,
            Post.created_at,
            Post.published_at,
            Post.edited_at,
            Topic.id.label("topic_id"),
            Topic.title,
            Topic.status.label("topic_status"),
            Topic.author_id.label("topic_author_id"),
            Board.name.label("board"),
        )
        .join(Topic, Topic.id == Post.topic_id)
        .join(Board, Board.id == Topic.board_id)
        .where(Post.author_id == member.id, Post.status != PostStatus.DELETED)
        .order_by(Post.topic_id, Post.id)
        .execution_options(yield_per=CHUNK)
    )
    yield from db.session.execute(query)


def _post_record(member: User, row: sa.Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "link": _link(row.id),
        "topic": _topic_title(member, row.title, row.topic_status, row.topic_author_id),
        "board": row.board,
        "status": STATUS_WORDS.get(row.status, row.status),
        "written_at": _when(row.created_at),
        "published_at": _when(row.published_at),
        "edited_at": _when(row.edited_at),
        "content_warning": row.content_warning,
        "markdown": row.body_source,
    }


def account_record(member: User) -> dict[str, Any]:
    return {
        "username": member.username,
        "email": member.email,
        "email_confirmed": member.is_verified,
        "joined": _when(member.created_at),
        "role": str(member.role),
    }


def settings_record(member: User) -> dict[str, Any]:
    return {
        "mail": _mail_record(db.session.get(MailSettings, member.id)),
        "follows": _follows_record(member),
        **_filters_record(member),
        "privacy": {"hide_recent_posts_on_profile": member.hides_recent_posts},
    }


def _mail_record(mail: MailSettings | None) -> dict[str, Any]:
    """The member's mail settings; the defaults when they never saved any."""
    return {
        "digest": str(mail.digest) if mail else "none",
        "digest_hour": mail.digest_hour if mail else 8,
        "digest_weekday": mail.digest_weekday if mail else 0,
        "timezone": mail.timezone if mail else "UTC",
        "mail_on_reply": mail.notify_reply if mail else True,
        "mail_on_quote": mail.notify_quote if mail else True,
        "mail_on_moderation": mail.notify_moderation if mail else True,
        "paused_until": _when(mail.paused_until) if mail else None,
    }


def _follows_record(member: User) -> dict[str, list[dict[str, Any]]]:
    follows = db.session.execute(
        sa.select(
            Follow.following,
            Follow.created_at,
            Board.name,
            Board.slug,
            Topic.id,
            Topic.title,
            Topic.status,
            Topic.author_id,
        )
        .outerjoin(Board, Board.id == Follow.board_id)
        .outerjoin(Topic, Topic.id == Follow.topic_id)
        .where(Follow.user_id == member.id)
        .order_by(Follow.id)
    ).all()
    return {
        "boards": [
            {"board": name, "address": f"/b/{slug}", "following": following, "since": _when(since)}
            for following, since, name, slug, *_ in follows
            if name is not None
        ],
        "topics": [
            {
                "topic": _topic_title(member, title, status, author_id),
                "topic_id": topic_id,
                "following": following,
                "since": _when(since),
            }
            for following, since, _, _, topic_id, title, status, author_id in follows
            if topic_id is not None
        ],
    }


def _filters_record(member: User) -> dict[str, list[str]]:
    """Whom the member blocked and what they muted."""
    blocked = db.session.scalars(
        sa.select(User.username)
        .join(Block, Block.blocked_id == User.id)
        .where(Block.blocker_id == member.id)
        .order_by(User.username_key)
    ).all()
    phrases = db.session.scalars(
        sa.select(MutedPhrase.phrase)
        .where(MutedPhrase.user_id == member.id)
        .order_by(MutedPhrase.id)
    ).all()
    muted_boards = db.session.scalars(
        sa.select(Board.name)
        .join(BoardMute, BoardMute.board_id == Board.id)
        .where(BoardMute.user_id == member.id)
        .order_by(Board.position, Board.id)
    ).all()
    return {
        "blocked_members": list(blocked),
        "muted_phrases": list(phrases),
        "muted_boards": list(muted_boards),
    }


def reactions_record(member: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(Reaction.post_id, Reaction.kind, Reaction.created_at)
        .where(Reaction.user_id == member.id)
        .order_by(Reaction.created_at, Reaction.post_id)
    )
    return [
        {
            "post": _link(post_id),
            "reaction": reactions.LABELS.get(kind, kind),
            "at": _when(created_at),
        }
        for post_id, kind, created_at in rows
    ]


def _write_json(out: IO[str], member: User, now: datetime) -> None:
    head = {
        "format": FORMAT,
        "site": current_app.config["SITE_NAME"],
        "exported_at": now.isoformat(),
        "account": account_record(member),
        "settings": settings_record(member),
        "reactions_given": reactions_record(member),
    }
    out.write("{\n")
    for key, value in head.items():
        out.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False, indent=2)},\n")
    out.write('  "posts": [')
    for index, row in enumerate(_posts(member)):
        out.write(",\n    " if index else "\n    ")
        out.write(json.dumps(_post_record(member, row), ensure_ascii=False))
    out.write("\n  ]\n}\n")


def _write_markdown(out: IO[str], member: User, now: datetime) -> None:
    site = current_app.config["SITE_NAME"]
    out.write(
        f"# Your posts on {site}\n\n"
        f"Saved for {member.username} on {now:%-d %B %Y} (UTC): your posts as you wrote "
        "them, by topic, oldest first. Times are UTC.\n"
    )
    topic_id = None
    count = 0
    for row in _posts(member):
        count += 1
        if row.topic_id != topic_id:
            topic_id = row.topic_id
            title = _topic_title(member, row.title, row.topic_status, row.topic_author_id)
            out.write(f"\n## {title}\n\nIn {row.board}.\n")
        status = STATUS_WORDS.get(row.status, row.status)
        out.write(
            f"\n### {row.created_at:%-d %B %Y, %H:%M}"
            + (f" ({status})" if row.status != PostStatus.PUBLISHED else "")
            + "\n\n"
        )
        if row.edited_at is not None:
            out.write(f"Edited {row.edited_at:%-d %B %Y, %H:%M}. ")
        out.write(f"Link: {_link(row.id)}\n\n")
        if row.content_warning:
            out.write(f"Content warning: {row.content_warning}\n\n")
        out.write(row.body_source.rstrip() + "\n\n---\n")
    if not count:
        out.write("\nYou have no posts yet.\n")


def build_archive(member: User, now: datetime | None = None) -> IO[bytes]:
    """The ZIP, rewound and ready to send."""
    now = now or utcnow()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, write in ((JSON_NAME, _write_json), (MARKDOWN_NAME, _write_markdown)):
            info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            with (
                archive.open(info, "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as out,
            ):
                write(out, member, now)
    spool.seek(0)
    return spool
