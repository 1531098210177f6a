"""A real member for the page benchmark, set up through the services as the app would.

The bulk seed (bench/seed.py) fills the forum; this adds, on top of it, what makes a
logged-in member's pages cost what they cost:

* a 20-post topic on the deep board (so also at the top of its page 1), started by
  the member, with four posts of their own in it and sixteen replies from eight other
  members, bodies as long as the seed's 20-post topic's, one reply quoting another;
* the member's blocks (two of the repliers, and two members with topics on board
  page 1), muted phrases ("leaflet", "waiting list": in about 8% and 40% of the
  seed's posts) and a muted board;
* reactions: the member's on others' posts, others' on the member's.

Everything goes through forum.services (posting, moderation, personal, reactions),
so each write is what the forms make. The seeded members have no approved posts
yet, so their replies are held as a new member's are, and the admin approves each
through the review queue: after three, a member is trusted, as on the site.

ensure_member() is idempotent: a forum that already has the member's topic is reused.
"""

from __future__ import annotations

import random

import sqlalchemy as sa

from bench import common, seed

PASSWORD = "kindred-bench-password"  # bench/seed.py gives every member this one
TOPIC_TITLE = "What got you through this week? (a member's own thread)"
MUTED_PHRASES = ("leaflet", "waiting list")
REPLIERS = 8
#: Where the member's own replies fall among the topic's 20 posts (0 is their opening post).
OWN_REPLIES = (5, 11, 16)
BLOCKED_REPLIERS = 2
BLOCKED_ON_BOARD = 2


def ensure_member(url: str, meta: dict, log=print) -> dict:
    """The member's username, password, topic id and what they set, made if missing."""
    from forum.extensions import db
    from forum.models import Topic

    app = common.app_for(url, MAIL_BACKEND="memory")  # replies mail the member a notice
    # A request context, as the forms' writes have (notices build links with url_for).
    with app.test_request_context():
        member = _the_member()
        topic_id = db.session.scalar(
            sa.select(Topic.id).where(Topic.author_id == member.id, Topic.title == TOPIC_TITLE)
        )
        if topic_id is None:
            log(f"Setting up member {member.username} through the services...")
            topic_id = _set_up(member, meta)
        facts = _describe(member, topic_id)
        db.session.rollback()
        db.engine.dispose()
    return facts


def _the_member():
    """The first seeded member (not staff): an account with a history in the forum."""
    from forum.extensions import db
    from forum.models import Role, User

    return db.session.scalars(
        sa.select(User).where(User.role == Role.MEMBER).order_by(User.id).limit(1)
    ).one()


def _set_up(member, meta: dict) -> int:
    from forum.extensions import db
    from forum.models import Board, Role, User

    admin = db.session.scalars(sa.select(User).where(User.role == Role.ADMIN).limit(1)).one()
    board = db.session.get(Board, meta["deep_board_id"])
    rng = random.Random(f"bench-member:{meta['topic_id']}")
    others = db.session.scalars(
        sa.select(User)
        .where(User.role == Role.MEMBER, User.id != member.id)
        .order_by(User.id)
        .limit(REPLIERS)
    ).all()
    topic, posts = _write_topic(member, others, board, admin, meta, rng)
    _set_filters(member, others[:BLOCKED_REPLIERS], board)
    _react(member, others, posts, rng)
    return topic.id


def _body_lengths(meta: dict) -> list[int]:
    """The lengths of the seed's 20-post topic's posts, so the two pages weigh alike."""
    from forum.extensions import db
    from forum.models import Post

    lengths = db.session.scalars(
        sa.select(sa.func.length(Post.body_source))
        .where(Post.topic_id == meta["topic_id"])
        .order_by(Post.id)
    ).all()
    return [max(seed.BODY_MIN, length) for length in lengths][:20]


def _write_topic(member, others, board, admin, meta: dict, rng) -> tuple:
    """The topic and its 20 posts, oldest first."""
    from forum.content import quote_markdown
    from forum.services import posting

    text = [
        seed.post_source(rng.randrange(10**9), at, length, reply=at > 0)
        for at, length in enumerate(_body_lengths(meta))
    ]
    opened = posting.create_topic(member, board, TOPIC_TITLE, text[0])
    _approve_if_held(opened, admin)
    topic, posts = opened.topic, [opened.post]
    for at in range(1, len(text)):
        author = member if at in OWN_REPLIES else others[(at - 1) % len(others)]
        quote = posts[at - 2] if at == 9 else None
        if quote is not None:
            body = quote_markdown(quote.author.username, quote.body_source) + text[at]
        else:
            body = text[at]
        reply = posting.create_reply(author, topic, body, quote_of=quote)
        _approve_if_held(reply, admin)
        posts.append(reply.post)
    return topic, posts


def _approve_if_held(submission, admin) -> None:
    """A new member's post waits for a moderator: the admin approves it from the queue."""
    from forum.extensions import db
    from forum.models import ReviewItem, ReviewStatus
    from forum.services import moderation

    if not submission.is_waiting:
        return
    item = db.session.scalars(
        sa.select(ReviewItem).where(
            ReviewItem.post_id == submission.post.id, ReviewItem.status == ReviewStatus.PENDING
        )
    ).one()
    moderation.decide(admin, item, item.version, "approve")


def _set_filters(member, blocked_repliers, board) -> None:
    from forum.extensions import db
    from forum.models import Board, Role, Topic, User
    from forum.services import personal

    on_page_one = db.session.scalars(
        sa.select(User)
        .join(Topic, Topic.author_id == User.id)
        .where(
            Topic.board_id == board.id,
            User.role == Role.MEMBER,
            User.id.not_in([member.id, *(other.id for other in blocked_repliers)]),
        )
        .order_by(Topic.last_post_at.desc())
        .limit(BLOCKED_ON_BOARD)
    ).all()
    for other in [*blocked_repliers, *on_page_one]:
        personal.block(member, other)
    for phrase in MUTED_PHRASES:
        personal.mute_phrase(member, phrase)
    elsewhere = db.session.scalars(
        sa.select(Board).where(Board.id != board.id).order_by(Board.id.desc()).limit(1)
    ).one()
    personal.mute_board(member, elsewhere)


def _react(member, others, posts, rng) -> None:
    from forum.services import reactions

    for post in posts:
        if post.author_id == member.id:
            for other in rng.sample(list(others), 3):
                reactions.add(other, post, rng.choice(reactions.KINDS))
        elif rng.random() < 0.5:
            reactions.add(member, post, rng.choice(reactions.KINDS))


def _describe(member, topic_id: int) -> dict:
    from forum.extensions import db
    from forum.models import Block, BoardMute, MutedPhrase, Post, Reaction

    def count(column, *where) -> int:
        return db.session.scalar(sa.select(sa.func.count(column)).where(*where)) or 0

    in_topic = Post.topic_id == topic_id
    reacted = sa.select(Post.id).where(in_topic)
    return {
        "username": member.username,
        "password": PASSWORD,
        "topic_id": topic_id,
        "posts": count(Post.id, in_topic),
        "own_posts": count(Post.id, in_topic, Post.author_id == member.id),
        "blocks": count(Block.blocked_id, Block.blocker_id == member.id),
        "muted_phrases": count(MutedPhrase.id, MutedPhrase.user_id == member.id),
        "muted_boards": count(BoardMute.board_id, BoardMute.user_id == member.id),
        "reactions": count(Reaction.post_id, Reaction.post_id.in_(reacted)),
    }
