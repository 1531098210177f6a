"""Seed a day of a busy forum for bench/digests.py: 10,000 members waiting for a digest.

The rows are what the posting and mail-settings services would have written,
made in bulk (SQLAlchemy Core, a few thousand rows at a time):

* the schema comes from the real migrations; boards from
  forum.services.admin.create_board;
* 10,000 topics on 10 boards (the first boards busier), 90% started in the last
  24 hours and the rest 1-6 days before; 100,000 published posts written in
  the last 24 hours (ids follow time), threads long-tailed ("rich get richer",
  so about one topic in ten has no reply yet); 4% with a content warning, a
  few by deleted accounts (no author);
* post bodies: a pool of 200 distinct Markdown texts of 200 to 2,000
  characters (bench/seed.py's post_source), each put through
  forum.services.post_state.prepare once, then reused;
* what a digest must never show, near the top of busy topics: hidden replies
  (published, then hidden by a moderator: they moved last_post_at when they
  went out), pending replies, and pending topics (never listed). Their text
  and titles carry a marker that bench/digests.py looks for in the mail;
* Post.published_at as the posting service sets it: when the post went out (a
  hidden reply's too), none for pending ones;
* counters as the services keep them: Topic.post_count and Board.post_count
  count published posts (in listed topics), Board.topic_count listed topics,
  Topic.last_post_at / Board.last_post_at the last moment a post of theirs was
  published; checked with SQL before the seed records itself;
* members: 10,000 verified members (ids 1 to 10,000) with a daily digest at
  their local 6-9 o'clock in one of a few timezones, covered until 24 hours
  ago, each following 1-3 boards and a few topics (one in ten of those left
  again: `following` false); plus 300 members who chose no digest (two thirds
  with a settings row, a third without). Everyone writes: members meet their
  own posts, which their digests leave out. bench/digests.py decides who is due
  (next_digest_at) before each run.

Ages count back from the moment of seeding. bench/digests.py moves every
timestamp forward before a run (shift_to_now) so that "the last 24 hours" is
the last 24 hours of the clock the `flask digests send` subprocess reads.

ensure_seeded() records the parameters and a fingerprint of the code the rows
depend on in the table `bench_seed` (as bench/seed.py does) and skips the work
while both match.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench import common, seed
from bench.common import REPO_ROOT

DEFAULT_SQLITE = common.BENCH_DIR / "digests.db"
SEED_VERSION = 1
PASSWORD = "kindred-bench-password"
BATCH = 5_000
PERIOD = timedelta(hours=24)
TIMEZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Australia/Sydney",
]
#: Written into everything a digest must leave out; bench/digests.py looks for them.
HIDDEN_MARKER = "Hiddenmarkerqz"
PENDING_MARKER = "Pendingmarkerqz"
# Where the marked bodies sit in the pool of rendered bodies (after the ordinary texts).
HIDDEN_BODY, PENDING_BODY = -2, -1


@dataclass(frozen=True)
class Params:
    members: int = 10_000  # verified, daily digest
    no_digest: int = 300  # chose no digest
    boards: int = 10
    topics: int = 10_000
    posts: int = 100_000  # published, written in the last 24 hours
    older_topics_percent: int = 10  # started 1-6 days before the period
    texts: int = 200  # distinct bodies, rendered once each
    hidden_replies: int = 300
    pending_replies: int = 200
    pending_topics: int = 30
    seed: int = 20261126

    def check(self) -> None:
        if not 2 <= self.boards <= len(seed.BOARD_NAMES):
            raise SystemExit(f"need 2 to {len(seed.BOARD_NAMES)} boards")
        if self.posts < self.topics or self.members < 1 or self.texts < 1:
            raise SystemExit("need posts >= topics, members >= 1, texts >= 1")


# --- the plan: every row as a dict, bodies by index into the pool --------------------------


def _plan(p: Params, now: datetime, board_ids: list[int], user_count: int) -> dict:
    rng = random.Random(p.seed)
    period_start = now - PERIOD
    span_ms = int(PERIOD.total_seconds() * 1000)

    def in_period(after: datetime = period_start) -> datetime:
        """A moment in [after, now), to the millisecond (bench/digests.py shifts them)."""
        room = int((now - after).total_seconds() * 1000)
        return after + timedelta(milliseconds=rng.randrange(max(room, 1)))

    board_weights = [1 / (index + 1) ** 0.6 for index in range(len(board_ids))]
    # A few members write a lot, most a little.
    author_cum = list(itertools.accumulate(1 / (rank + 1) ** 0.5 for rank in range(user_count)))
    author_order = list(range(1, user_count + 1))
    rng.shuffle(author_order)

    def author() -> int | None:
        if rng.random() < 0.005:
            return None  # an account deleted since: "a former member"
        return rng.choices(author_order, cum_weights=author_cum)[0]

    older = p.topics * p.older_topics_percent // 100
    topics = []
    for index in range(p.topics):
        if index < older:
            started = period_start - timedelta(
                milliseconds=rng.randrange(86_400_000, 6 * 86_400_000)
            )
        else:
            started = period_start + timedelta(milliseconds=rng.randrange(span_ms))
        topics.append(
            {
                "board_id": rng.choices(board_ids, weights=board_weights)[0],
                "author_id": author(),
                "created_at": started,
                "title": seed.title_text(rng),
                "status": "published",
            }
        )

    # Replies: a Polya urn over the topics, so a few threads take many and some none.
    in_period_firsts = p.topics - older
    replies_wanted = p.posts - in_period_firsts
    urn = list(range(p.topics))
    reply_count = [0] * p.topics
    for _ in range(replies_wanted):
        chosen = urn[rng.randrange(len(urn))]
        reply_count[chosen] += 1
        urn.append(chosen)

    posts = []  # (created_at, topic index, status, author, body index, content warning)
    for index, topic in enumerate(topics):
        posts.append(
            (
                topic["created_at"],
                index,
                "published",
                topic["author_id"],
                rng.randrange(p.texts),
                _warning(rng),
            )
        )
        after = max(topic["created_at"], period_start)
        for _ in range(reply_count[index]):
            posts.append(
                (
                    in_period(after),
                    index,
                    "published",
                    author(),
                    rng.randrange(p.texts),
                    _warning(rng),
                )
            )

    # What must stay out of every digest, written in the last two hours to busy topics
    # (the ones digests show), so that a leak would reach many members.
    busy = sorted(range(p.topics), key=lambda index: reply_count[index])[-500:]
    recent = now - timedelta(hours=2)
    for status, count in (("hidden", p.hidden_replies), ("pending", p.pending_replies)):
        for _ in range(count):
            index = rng.choice(busy)
            posts.append(
                (
                    in_period(max(recent, topics[index]["created_at"])),
                    index,
                    status,
                    author(),
                    HIDDEN_BODY if status == "hidden" else PENDING_BODY,
                    None,
                )
            )
    for _ in range(p.pending_topics):
        started = in_period(recent)
        topics.append(
            {
                "board_id": rng.choice(board_ids),
                "author_id": author(),
                "created_at": started,
                "status": "pending",
                "title": f"{PENDING_MARKER} {seed.title_text(rng)}",
            }
        )
        posts.append(
            (started, len(topics) - 1, "pending", topics[-1]["author_id"], PENDING_BODY, None)
        )

    posts.sort(key=lambda post: (post[0], post[1]))
    for topic in topics:
        topic.update(post_count=0, last_post_at=topic["created_at"], revision=0, first_post=None)
    post_rows = []
    for post_id, (at, index, status, author_id, body, warning) in enumerate(posts, start=1):
        topic = topics[index]
        if topic["first_post"] is None:
            topic["first_post"] = post_id
        else:
            topic["revision"] += 1  # a reply (the before_flush hook), and a hiding below
        if status == "published":
            topic["post_count"] += 1
        if status in ("published", "hidden"):
            # A hidden reply was published first: that moved last_post_at, hiding did not.
            topic["last_post_at"] = max(topic["last_post_at"], at)
        if status == "hidden":
            topic["revision"] += 1
        post_rows.append(
            {
                "id": post_id,
                "topic_index": index,
                "author_id": author_id,
                "status": status,
                "body": body,
                "content_warning": warning,
                "created_at": at,
            }
        )
    return {"topics": topics, "posts": post_rows, "rng": rng}


def _warning(rng: random.Random) -> str | None:
    return rng.choice(seed.CONTENT_WARNINGS) if rng.random() < 0.04 else None


def _follows(
    p: Params,
    rng: random.Random,
    user_count: int,
    board_ids: list[int],
    topics: list[dict],
    now: datetime,
) -> list[dict]:
    """1-3 boards each, the busy boards more often; 0-4 topics, one in ten left again."""
    board_weights = [1 / (index + 1) ** 0.6 for index in range(len(board_ids))]
    listed = [index + 1 for index, topic in enumerate(topics) if topic["status"] == "published"]
    rows = []
    for user_id in range(1, user_count + 1):
        wanted = rng.choices((1, 2, 3), weights=(45, 35, 20))[0]
        boards = set()
        while len(boards) < wanted:
            boards.add(rng.choices(board_ids, weights=board_weights)[0])
        for board_id in sorted(boards):
            rows.append(
                {
                    "user_id": user_id,
                    "board_id": board_id,
                    "topic_id": None,
                    "following": True,
                    "created_at": now - timedelta(days=30),
                }
            )
        for topic_id in sorted(
            set(rng.sample(listed, rng.choices((0, 1, 2, 4), weights=(40, 30, 20, 10))[0]))
        ):
            rows.append(
                {
                    "user_id": user_id,
                    "board_id": None,
                    "topic_id": topic_id,
                    "following": rng.random() >= 0.1,
                    "created_at": now - PERIOD,
                }
            )
    return rows


# --- the database ------------------------------------------------------------------

SOURCES = [*seed.SOURCES, "forum/services/admin.py", "bench/seed_digests.py"]


def ensure_seeded(url: str, p: Params, force: bool = False, log=print) -> dict:
    """Seed `url` unless it already holds this seed; return the seed's metadata."""
    return SEEDER.ensure_seeded(url, p, force=force, log=log)


def _render_pool(p: Params) -> list[tuple[str, str]]:
    """(body_source, body_html) for each text of the pool, then the two marked ones
    (HIDDEN_BODY, PENDING_BODY)."""
    from forum.services.post_state import prepare

    pool = []
    for index in range(p.texts):
        target = seed.BODY_MIN + (seed.BODY_MAX - seed.BODY_MIN) * index // max(p.texts - 1, 1)
        draft = prepare(seed.post_source(p.seed, index + 1, target, reply=index % 3 != 0))
        pool.append((draft.body_source, draft.html))
    for marker, why in (
        (HIDDEN_MARKER, "hidden by a moderator"),
        (PENDING_MARKER, "waiting for a moderator"),
    ):
        draft = prepare(
            f"{marker}: this post is {why}, so no digest may show it. "
            + seed.post_source(p.seed, 0, 400, reply=True)
        )
        pool.append((draft.body_source, draft.html))
    return pool


def _seed(url: str, p: Params, wanted: str, log) -> dict:
    import flask_migrate

    from forum.content import clean_single_line
    from forum.extensions import db
    from forum.models import Follow, MailSettings, Post, Role, Topic, User
    from forum.services import accounts, admin

    began = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    app = common.app_for(url)
    with app.app_context():
        flask_migrate.upgrade(directory=str(REPO_ROOT / "migrations"))
        boards = [
            admin.create_board(slug, name, description)
            for slug, name, description in seed.BOARD_NAMES[: p.boards]
        ]
        board_ids = [board.id for board in boards]
        # Left open, this read's transaction would keep PostgreSQL's VACUUM below from
        # marking pages all-visible.
        db.session.rollback()

        user_count = p.members + p.no_digest
        usernames = seed.usernames(
            random.Random(p.seed + 1), user_count, suffix_chance=1, suffix_max=9999
        )

        plan = _plan(p, now, board_ids, user_count)
        rng = plan["rng"]
        topics, posts = plan["topics"], plan["posts"]
        pool = _render_pool(p)
        log(
            f"  plan: {len(topics):,} topics, {len(posts):,} posts, {len(pool)} bodies "
            f"rendered ({time.perf_counter() - began:.1f}s)"
        )

        shared_hash = accounts.password_hasher.hash(PASSWORD)
        joined = now - timedelta(days=400)
        users = [
            {
                **seed.user_row(
                    user_id, name, password_hash=shared_hash, joined=joined, role=Role.MEMBER.value
                ),
                "moderates_all_boards": False,
                "approved_post_count": 10,
                "rejected_post_count": 0,
            }
            for user_id, name in enumerate(usernames, 1)
        ]
        far = now + timedelta(days=3650)
        settings = [
            {
                "user_id": user_id,
                "digest": "daily",
                "digest_hour": rng.randint(6, 9),
                "digest_weekday": 0,
                "timezone": rng.choice(TIMEZONES),
                "notify_reply": True,
                "notify_quote": True,
                "notify_moderation": True,
                "version": 1,
                "next_digest_at": far,
                "digest_covered_until": now - PERIOD,
            }
            for user_id in range(1, p.members + 1)
        ]
        settings += [
            {
                "user_id": user_id,
                "digest": "none",
                "digest_hour": 8,
                "digest_weekday": 0,
                "timezone": "UTC",
                "notify_reply": True,
                "notify_quote": True,
                "notify_moderation": True,
                "version": 1,
                "next_digest_at": None,
                "digest_covered_until": None,
            }
            for user_id in range(p.members + 1, user_count + 1)
            if user_id % 3
        ]
        topic_rows = [
            {
                "id": index + 1,
                "board_id": topic["board_id"],
                "author_id": topic["author_id"],
                "title": clean_single_line(topic["title"]),
                "status": topic["status"],
                "is_pinned": False,
                "is_locked": False,
                "post_count": topic["post_count"],
                "created_at": topic["created_at"],
                "last_post_at": topic["last_post_at"],
                "revision": topic["revision"],
            }
            for index, topic in enumerate(topics)
        ]
        follows = _follows(p, rng, user_count, board_ids, topics, now)

        engine = db.engine
        with engine.begin() as conn:
            for table, rows in (
                (User.__table__, users),
                (MailSettings.__table__, settings),
                (Topic.__table__, topic_rows),
                (Follow.__table__, follows),
            ):
                for start in range(0, len(rows), BATCH):
                    conn.execute(table.insert(), rows[start : start + BATCH])
            log(
                f"  members, settings, topics, follows inserted "
                f"({time.perf_counter() - began:.1f}s)"
            )
            for start in range(0, len(posts), BATCH):
                rows = []
                for post in posts[start : start + BATCH]:
                    source, html = pool[post["body"]]
                    rows.append(
                        {
                            "id": post["id"],
                            "topic_id": post["topic_index"] + 1,
                            "author_id": post["author_id"],
                            "quote_of_id": None,
                            "status": post["status"],
                            "body_source": source,
                            "body_html": html,
                            "content_warning": post["content_warning"],
                            "created_at": post["created_at"],
                            "edited_at": None,
                            "deleted_at": None,
                            # A hidden reply went out when it was written, before it was hidden.
                            "published_at": post["created_at"]
                            if post["status"] in ("published", "hidden")
                            else None,
                        }
                    )
                conn.execute(Post.__table__.insert(), rows)
            common.set_first_posts(conn)
            seed.set_board_counters(conn, board_ids, topic_rows)
            common.reset_sequences(conn, ("users", "topics", "posts", "follows"))
        log(f"  posts inserted ({time.perf_counter() - began:.1f}s)")
        common.vacuum_analyze(engine)
        common.run_checks(engine, _checks(p, now), "digest seed")
        meta = _describe(engine, p, now)
        common.record_seed(engine, wanted, meta)
    log(f"  seeded in {time.perf_counter() - began:.1f}s")
    return meta


def _checks(p: Params, now: datetime) -> dict[str, str | sa.TextClause]:
    """What the services keep true, and the shape promised, checked on the rows."""
    listed_post = "p.status = 'published'"
    checks = {
        "topic post_count": f"""SELECT count(*) FROM topics t WHERE t.post_count !=
            (SELECT count(*) FROM posts p WHERE p.topic_id = t.id AND {listed_post})""",
        "topic last_post_at": """SELECT count(*) FROM topics t WHERE t.last_post_at !=
            (SELECT max(created_at) FROM posts p WHERE p.topic_id = t.id
             AND p.status IN ('published', 'hidden')) AND t.status = 'published'""",
        "topic status follows its first post": """SELECT count(*) FROM topics t
            JOIN posts p ON p.id = (SELECT min(id) FROM posts WHERE topic_id = t.id)
            WHERE t.status != p.status OR t.author_id IS DISTINCT FROM p.author_id""",
        "board topic_count": """SELECT count(*) FROM boards b WHERE b.topic_count !=
            (SELECT count(*) FROM topics t WHERE t.board_id = b.id AND t.status = 'published')""",
        "board post_count": f"""SELECT count(*) FROM boards b WHERE b.post_count !=
            (SELECT count(*) FROM posts p JOIN topics t ON t.id = p.topic_id
             WHERE t.board_id = b.id AND t.status = 'published' AND {listed_post})""",
        "board last_post_at": """SELECT count(*) FROM boards b WHERE b.last_post_at !=
            (SELECT max(t.last_post_at) FROM topics t
             WHERE t.board_id = b.id AND t.status = 'published')""",
        "published posts in the period": f"""SELECT count(*) != {p.posts} FROM posts p
            WHERE {listed_post} AND p.published_at >= :since""",
        "published_at: when it went out, if it did": """SELECT count(*) FROM posts
            WHERE published_at IS DISTINCT FROM
            CASE WHEN status IN ('published', 'hidden') THEN created_at END""",
        "members with a digest": f"""SELECT count(*) != {p.members} FROM mail_settings
            WHERE digest = 'daily'""",
        "a member following no board": """SELECT count(*) FROM mail_settings m
            WHERE m.digest = 'daily' AND NOT EXISTS (SELECT 1 FROM follows f
            WHERE f.user_id = m.user_id AND f.board_id IS NOT NULL)""",
    }
    since = sa.bindparam("since", now - PERIOD, type_=_utc_type())
    return {
        name: sa.text(query).bindparams(since) if ":since" in query else query
        for name, query in checks.items()
    }


def _utc_type():
    from forum.models import UTCDateTime

    return UTCDateTime()


def _describe(engine, p: Params, now: datetime) -> dict:
    with engine.connect() as conn:
        totals = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM topics), "
                "(SELECT count(*) FROM users), (SELECT count(*) FROM follows), "
                "(SELECT count(*) FROM follows WHERE board_id IS NOT NULL), "
                "(SELECT count(*) FROM topics WHERE status = 'published' AND post_count = 1), "
                "(SELECT count(*) FROM posts WHERE status = 'hidden'), "
                "(SELECT count(*) FROM posts WHERE status = 'pending'), "
                "(SELECT count(*) FROM posts WHERE content_warning IS NOT NULL)"
            )
        ).one()
    return {
        "now": now.isoformat(),
        "members": p.members,
        "no_digest": p.no_digest,
        "posts": totals[0],
        "topics": totals[1],
        "users": totals[2],
        "follows": totals[3],
        "board_follows": totals[4],
        "unanswered_topics": totals[5],
        "hidden_posts": totals[6],
        "pending_posts": totals[7],
        "content_warnings": totals[8],
        "period_posts": p.posts,
    }


SEEDER = common.Seeder(
    make=_seed,
    version=SEED_VERSION,
    sources=SOURCES,
    scenario="digests",
    reusing="Database already holds this digest seed; reusing it.",
    seeding="Seeding a fresh database for the digests (a minute or two)...",
)


# --- before each run: the clock ---------------------------------------------------------

#: The columns whose age the digests read (the others do not move the result).
SHIFTED = {
    "posts": ("created_at", "published_at"),
    "topics": ("created_at", "last_post_at"),
    "boards": ("last_post_at",),
}


def shift_to_now(engine, meta: dict, now: datetime, log=print) -> dict:
    """Move the forum's timestamps forward so the seed's "now" is `now` (whole seconds);
    record the new "now" in bench_seed. Returns the updated meta."""
    seeded = datetime.fromisoformat(meta["now"])
    seconds = int((now - seeded).total_seconds())
    if seconds <= 0:
        return meta
    began = time.perf_counter()
    with engine.begin() as conn:
        for table, columns in SHIFTED.items():
            if engine.dialect.name == "postgresql":
                values = ", ".join(
                    f"{column} = {column} + make_interval(secs => {seconds})" for column in columns
                )
            else:
                # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff'; the seed's times are whole
                # milliseconds, which %f keeps (three digits): the zeros make six again.
                values = ", ".join(
                    f"{column} = strftime('%Y-%m-%d %H:%M:%f', {column}, "
                    f"'+{seconds} seconds') || '000'"
                    for column in columns
                )
            conn.execute(sa.text(f"UPDATE {table} SET {values}"))
        meta = {**meta, "now": (seeded + timedelta(seconds=seconds)).isoformat()}
        conn.execute(sa.text("UPDATE bench_seed SET meta = :m"), {"m": json.dumps(meta)})
    log(f"  moved the forum's clock on by {seconds:,} s ({time.perf_counter() - began:.1f}s)")
    return meta
