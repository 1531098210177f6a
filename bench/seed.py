"""Seed a realistic Kindred forum for the benchmark, fast, with bulk inserts.

The rows are what the posting service would have written, only made in bulk:

* the schema comes from the real migrations (flask_migrate.upgrade);
* boards are made by forum.services.admin.create_board;
* every post goes through forum.services.post_state.prepare (clean_body, then
  forum.content.render_post for body_html), titles through clean_single_line;
* ids follow time, as autoincrement would: topics in the order they were
  started, posts in the order they were written;
* counters are what the services keep: Topic.post_count and Board.post_count
  count published posts, Board.topic_count the topics, Topic.last_post_at the
  last post written in the topic (deleting a post does not move it),
  Board.last_post_at the last post written on the board, Topic.revision what the
  models' before_flush hook makes it (one step per reply, edit and deletion);
* removed posts keep an empty body, as delete_post leaves them; edited posts
  have the PostRevision that edit_post keeps; quoting replies start with
  forum.content.quote_markdown and carry quote_of_id.

Everything comes from one random seed, so the same parameters give the same
forum. ensure_seeded() records the parameters and a fingerprint of the code the
rows depend on (SOURCES) in a table `bench_seed` once the seed is complete, and
skips the work while both match.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench import common
from bench.common import BENCH_DIR, REPO_ROOT

DEFAULT_SQLITE = BENCH_DIR / "bench.db"

#: Bump when the seed's shape changes: an older database is then reseeded.
SEED_VERSION = 4

END = datetime(2026, 11, 20, tzinfo=UTC)  # the forum's "now" (fixed, so runs agree)
SPAN_DAYS = 730
BODY_MIN, BODY_MAX = 200, 2000


@dataclass(frozen=True)
class Params:
    posts: int = 100_000
    topics: int = 25_000
    boards: int = 10
    deep_board_topics: int = 16_000  # the first board: page 500 needs > 14,970 topics
    users: int = 3_000
    seed: int = 20261126

    def check(self) -> None:
        if self.boards < 2 or self.topics < self.boards or self.posts < self.topics:
            raise SystemExit("need boards >= 2, topics >= boards, posts >= topics")
        rest = self.topics - self.deep_board_topics
        if rest < self.boards - 1:
            raise SystemExit("deep_board_topics leaves too few topics for the other boards")


# --- text ------------------------------------------------------------------------

OPENERS = [
    "Honestly,",
    "Today",
    "Lately",
    "This week",
    "For me,",
    "Some days",
    "Last night",
    "If it helps,",
    "To be honest,",
    "Most mornings",
    "Since the spring",
    "At the moment",
    "Looking back,",
    "When it's bad,",
    "On the good days",
    "After the appointment",
]
SUBJECTS = [
    "I",
    "my partner",
    "my mum",
    "my dad",
    "my sister",
    "my GP",
    "the counsellor",
    "my best friend",
    "my manager",
    "the group",
    "my brother",
    "my neighbour",
    "we",
]
VERBS = [
    "tried to talk about",
    "kept thinking about",
    "finally wrote down",
    "couldn't face",
    "made a plan for",
    "went back to",
    "found a way through",
    "laughed about",
    "cried about",
    "slept badly because of",
    "booked an appointment for",
    "asked for help with",
    "stopped avoiding",
    "struggled with",
    "read up on",
    "put off dealing with",
]
OBJECTS = [
    "the phone call",
    "the anniversary",
    "the new medication",
    "the waiting list",
    "the night shifts",
    "the house clearance",
    "the panic attacks",
    "the empty evenings",
    "the hospital visits",
    "the bills",
    "the birthday",
    "the move",
    "the first session",
    "the school run",
    "the walk to the shop",
    "the letters from the council",
    "the family dinner",
    "the questions at work",
    "the quiet weekends",
    "the diagnosis",
]
TAILS = [
    "and it was easier than I expected",
    "and I'm still not sure how I feel",
    "which took everything I had",
    "but I did it anyway",
    "and nobody noticed",
    "and it helped more than I can say",
    "so I'm being gentle with myself",
    "even though my hands were shaking",
    "and then slept for ten hours",
    "because reading this board gave me the push",
    "and that feels like progress",
    "and I want to remember that",
    "but tomorrow is another go",
]
REPLIES = [
    "Thank you for sharing this.",
    "I recognise so much of what you wrote.",
    "You're not on your own with this.",
    "That sounds really hard.",
    "Sending you strength today.",
    "Well done for getting through it.",
    "It's okay to take it one day at a time.",
    "I've been exactly there.",
    "Please be kind to yourself this week.",
    "That's a real step forward.",
    "Has anyone else found that it comes in waves?",
    "What helped you most, in the end?",
    "Did your GP mention any groups nearby?",
    "How are you doing now?",
]
WORDS = [
    "small",
    "quiet",
    "tired",
    "hopeful",
    "heavy",
    "calmer",
    "steady",
    "brave",
    "slow",
    "kind",
    "honest",
    "patient",
    "anxious",
    "grateful",
    "lonely",
    "better",
    "raw",
    "gentle",
]
LIST_ITEMS = [
    "drink some water",
    "step outside for five minutes",
    "text one person",
    "write it down",
    "breathe out longer than in",
    "name five things you can see",
    "eat something simple",
    "put the phone in another room",
    "call the helpline",
    "make the bed",
    "open the post",
    "go to bed at the same time",
    "ask for the next appointment",
    "say no to one thing",
]
LINKS = [
    ("the NHS page on this", "https://www.nhs.uk/mental-health/"),
    ("this leaflet", "https://www.mind.org.uk/information-support/"),
    ("the charity's site", "https://www.samaritans.org/"),
    ("a short article", "https://example.org/articles/coping-with-grief"),
    ("the local group", "https://example.org/groups/tuesday-evenings"),
]
TITLE_PATTERNS = [
    "Struggling with {obj}",
    "Small wins this week",
    "Anyone else {verb} {obj}?",
    "How do you cope with {obj}?",
    "{opener} {subj} {verb} {obj}",
    "Feeling {word} today",
    "A {word} update",
    "Advice about {obj}, please",
    "One year on",
    "Introduce yourself",
    "What gets you through {obj}?",
    "Good news, for once",
    "Is it normal to feel {word}?",
    "Just need to say this somewhere",
    "Tips for {obj}",
    "Thank you, everyone",
]
CONTENT_WARNINGS = [
    "bereavement",
    "self-harm mention",
    "suicidal thoughts",
    "eating disorder",
    "medication",
    "hospital",
    "abuse mention",
    "miscarriage",
]
NAME_PARTS_A = [
    "quiet",
    "river",
    "north",
    "blue",
    "little",
    "early",
    "green",
    "wild",
    "soft",
    "bright",
    "slow",
    "brave",
    "tidal",
    "silver",
    "amber",
    "willow",
    "rowan",
    "misty",
    "sunny",
    "hazel",
]
NAME_PARTS_B = [
    "fern",
    "stone",
    "heron",
    "wren",
    "moss",
    "tide",
    "fox",
    "lark",
    "oak",
    "rain",
    "field",
    "harbour",
    "lantern",
    "meadow",
    "otter",
    "pebble",
    "robin",
    "thistle",
    "cloud",
    "brook",
]
BOARD_NAMES = [
    ("anxiety", "Anxiety", "Worry, panic and the everyday work of getting through."),
    ("grief", "Grief", "Living with loss, whenever it happened."),
    ("caregivers", "Caregivers", "For people looking after someone else."),
    (
        "far-from-home",
        "Living far from home",
        "Isolation, distance and finding your people in a new place.",
    ),
    ("depression", "Depression", "Low mood, flat days and what helps."),
    ("sleep", "Sleep", "Nights, insomnia and tired days."),
    ("work-and-money", "Work and money", "Jobs, benefits, debt and the stress they bring."),
    ("recovery", "Recovery", "Addiction, relapse and staying on the path."),
    ("new-parents", "New parents", "The first years, the hard parts and the lovely ones."),
    ("chronic-illness", "Living with illness", "Long-term conditions and everyday life."),
]


def _sentence(rng: random.Random, reply: bool) -> str:
    roll = rng.random()
    if reply and roll < 0.25:
        return rng.choice(REPLIES)
    opener = rng.choice(OPENERS)
    subject = rng.choice(SUBJECTS)
    text = f"{opener} {subject} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}."
    if roll > 0.93:
        word = rng.choice(WORDS)
        text = (
            text.replace(" and ", f" and, *{word}* as it sounds, ", 1)
            if " and " in text
            else f"{text} It felt **{word}**."
        )
    elif roll > 0.90:
        label, url = rng.choice(LINKS)
        text = f"{text} There's [{label}]({url}) if anyone wants it."
    elif roll > 0.895:
        text = f"{text} I ~~can't~~ can do this."
    return text


def _block(rng: random.Random, reply: bool) -> str:
    roll = rng.random()
    if roll < 0.06:
        items = rng.sample(LIST_ITEMS, rng.randint(2, 5))
        return "\n".join(f"- {item}" for item in items)
    if roll < 0.08:
        items = rng.sample(LIST_ITEMS, rng.randint(2, 4))
        return "\n".join(f"{number}. {item}" for number, item in enumerate(items, 1))
    if roll < 0.10:
        return "> " + _sentence(rng, reply)
    if roll < 0.11:
        return "### " + rng.choice(["Update", "What helped", "Where I am now", "The plan"])
    return " ".join(_sentence(rng, reply) for _ in range(rng.randint(1, 4)))


def post_source(seed: int, post_id: int, target: int, reply: bool, variant: int = 0) -> str:
    """Markdown of about `target` characters; the same arguments give the same text."""
    rng = random.Random(f"{seed}:{post_id}:{variant}")
    blocks: list[str] = []
    length = 0
    while length < target:
        block = _block(rng, reply)
        blocks.append(block)
        length += len(block) + 2
    text = "\n\n".join(blocks)
    while len(text) > BODY_MAX and len(blocks) > 1:
        blocks.pop()
        text = "\n\n".join(blocks)
    if len(text) > BODY_MAX:
        text = text[:BODY_MAX].rsplit(" ", 1)[0]
    while len(text) < BODY_MIN:
        text += " " + _sentence(rng, reply)
    return text


def title_text(rng: random.Random) -> str:
    return rng.choice(TITLE_PATTERNS).format(
        obj=rng.choice(OBJECTS),
        verb=rng.choice(VERBS),
        opener=rng.choice(OPENERS),
        subj=rng.choice(SUBJECTS),
        word=rng.choice(WORDS),
    )


# --- the schedule: who wrote what, when (no text yet) ------------------------------


@dataclass
class PostSpec:
    id: int
    topic_id: int
    author_id: int
    created_at: datetime
    first: bool
    target: int
    deleted: bool
    edited: bool
    content_warning: str | None
    quote_of_id: int | None = None
    quoted_target: int = 0
    quoted_author: str = ""


def _build_schedule(p: Params, usernames: list[str]):
    rng = random.Random(p.seed)
    start = END - timedelta(days=SPAN_DAYS)
    span = (END - start).total_seconds() - 86_400

    # Topics: started at random moments, numbered in that order.
    started = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(p.topics))
    others = p.topics - p.deep_board_topics
    per_board = [p.deep_board_topics] + [others // (p.boards - 1)] * (p.boards - 1)
    for index in range(others % (p.boards - 1)):
        per_board[1 + index] += 1
    board_of = [board for board, count in enumerate(per_board) for _ in range(count)]
    rng.shuffle(board_of)

    # Posts per topic: a few long threads, many short ones (rich get richer), mean posts/topics.
    counts = [1] * p.topics
    urn = list(range(p.topics))
    urn += [topic for topic in rng.sample(range(p.topics), p.topics // 200) for _ in range(40)]
    for _ in range(p.posts - p.topics):
        chosen = urn[rng.randrange(len(urn))]
        counts[chosen] += 1
        urn.append(chosen)

    # Authors: a few members write a lot, most a little.
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(usernames))]
    cum, total = [], 0.0
    for weight in weights:
        total += weight
        cum.append(total)
    order = list(range(len(usernames)))
    rng.shuffle(order)

    events = []  # (time, topic index, ordinal)
    for topic, (began, count) in enumerate(zip(started, counts, strict=True)):
        at = began
        events.append((at, topic, 0))
        mean_gap = rng.choice([1_800, 7_200, 21_600, 86_400])
        for ordinal in range(1, count):
            at = at + timedelta(seconds=rng.expovariate(1 / mean_gap))
            if at >= END:  # the thread is still going: squeeze the rest in before "now"
                left = (END - events[-1][0]).total_seconds()
                base = events[-1][0]
                lates = sorted(rng.random() * left for _ in range(ordinal, count))
                for late_ordinal, late in enumerate(lates, start=ordinal):
                    events.append((base + timedelta(seconds=late), topic, late_ordinal))
                break
            events.append((at, topic, ordinal))
    events.sort()
    authors = rng.choices(order, cum_weights=cum, k=len(events))

    topics = [
        {
            "board": board_of[index],
            "created_at": started[index],
            "post_count": 0,
            "revision": 0,
            "author": None,
            "last_post_at": None,
            "title": title_text(rng),
            "is_pinned": False,
            "is_locked": rng.random() < 0.01,
        }
        for index in range(p.topics)
    ]
    pinned_per_board: dict[int, int] = {}
    for topic in topics:  # the two oldest topics of each board are pinned
        if pinned_per_board.get(topic["board"], 0) < 2:
            pinned_per_board[topic["board"]] = pinned_per_board.get(topic["board"], 0) + 1
            topic["is_pinned"] = True

    specs: list[PostSpec] = []
    quotable: dict[int, list[tuple[int, int, str]]] = {}
    for post_index, ((at, topic_index, ordinal), author) in enumerate(
        zip(events, authors, strict=True)
    ):
        topic = topics[topic_index]
        post_id = post_index + 1
        first = ordinal == 0
        if first:
            topic["author"] = author
        deleted = not first and rng.random() < 0.01
        spec = PostSpec(
            id=post_id,
            topic_id=topic_index + 1,
            author_id=author + 1,
            created_at=at,
            first=first,
            target=rng.randint(BODY_MIN, BODY_MAX),
            deleted=deleted,
            edited=not deleted and rng.random() < 0.03,
            content_warning=None
            if deleted or rng.random() > 0.04
            else rng.choice(CONTENT_WARNINGS),
        )
        candidates = quotable.get(topic_index)
        if not first and not deleted and candidates and rng.random() < 0.05:
            quoted_id, quoted_target, quoted_author = rng.choice(candidates)
            spec.quote_of_id, spec.quoted_target = quoted_id, quoted_target
            spec.quoted_author = usernames[quoted_author]
            spec.target = rng.randint(BODY_MIN, max(BODY_MIN, BODY_MAX - quoted_target - 400))
        if not deleted and not spec.edited and spec.quote_of_id is None and spec.target < 700:
            quotable.setdefault(topic_index, []).append((post_id, spec.target, author))
        topic["last_post_at"] = at
        if not deleted:
            topic["post_count"] += 1
        # Topic.revision as the models' before_flush hook moves it: once per reply, edit
        # and deletion (create_topic leaves it at 0).
        topic["revision"] += (not first) + spec.edited + deleted
        specs.append(spec)
    return topics, specs


# --- rendering (in worker processes) ---------------------------------------------


def _render_chunk(args):
    """Post and revision rows for some specs: text made, then prepared as the service does."""
    from forum.content import quote_markdown
    from forum.models import PostStatus
    from forum.services.post_state import prepare

    seed, specs = args
    posts, revisions = [], []
    for spec in specs:
        row = {
            "id": spec.id,
            "topic_id": spec.topic_id,
            "author_id": spec.author_id,
            "quote_of_id": None,
            "created_at": spec.created_at,
            "edited_at": None,
            "deleted_at": None,
        }
        if spec.deleted:
            row.update(
                status=PostStatus.DELETED.value,
                body_source="",
                body_html="",
                content_warning=None,
                deleted_at=min(spec.created_at + timedelta(hours=3), END),
            )
            posts.append(row)
            continue
        source = post_source(seed, spec.id, spec.target, reply=not spec.first)
        if spec.quote_of_id:
            quoted = post_source(seed, spec.quote_of_id, spec.quoted_target, reply=True)
            quoted_text = quote_markdown(spec.quoted_author, quoted) + source
            if len(quoted_text) <= BODY_MAX:
                source = quoted_text
                row["quote_of_id"] = spec.quote_of_id
        draft = prepare(source, spec.content_warning)
        assert BODY_MIN <= len(draft.body_source) <= BODY_MAX, len(draft.body_source)
        row.update(
            status=PostStatus.PUBLISHED.value,
            body_source=draft.body_source,
            body_html=draft.html,
            content_warning=draft.content_warning,
        )
        if spec.edited:
            edited_at = min(spec.created_at + timedelta(minutes=20), END)
            row["edited_at"] = edited_at
            earlier = prepare(
                post_source(seed, spec.id, spec.target, not spec.first, 1), spec.content_warning
            )
            revisions.append(
                {
                    "post_id": spec.id,
                    "title": None,
                    "body_source": earlier.body_source,
                    "body_html": earlier.html,
                    "content_warning": earlier.content_warning,
                    "created_at": spec.created_at,
                    "replaced_at": edited_at,
                }
            )
        posts.append(row)
    return posts, revisions


# --- the database ------------------------------------------------------------------

#: What the seeded rows depend on besides the parameters: the schema and the code that
#: makes stored HTML and counters. A change to any of them makes the next run reseed.
SOURCES = [
    "migrations/versions/*.py",
    "forum/models/*.py",
    "forum/content.py",
    "forum/services/post_state.py",
    "bench/seed.py",
    # The page benchmark's member is made once per seed (bench/member.py reuses it).
    "bench/member.py",
]


def ensure_seeded(url: str, p: Params, force: bool = False, log=print) -> dict:
    """Seed `url` unless it already holds this seed; return the seed's metadata."""
    return SEEDER.ensure_seeded(url, p, force=force, log=log)


# --- rows the other seeders make the same way ---------------------------------------


def usernames(
    rng: random.Random, count: int, *, suffix_chance: float, suffix_max: int
) -> list[str]:
    """`count` different usernames members could have chosen: two name parts, and a
    number up to `suffix_max` on `suffix_chance` of them (on all of them at 1)."""
    from forum.services import accounts

    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = rng.choice(NAME_PARTS_A) + rng.choice(NAME_PARTS_B)
        if suffix_chance >= 1 or rng.random() < suffix_chance:
            name += str(rng.randint(1, suffix_max))
        if accounts.username_problem(name) is None and accounts.username_key(name) not in seen:
            seen.add(accounts.username_key(name))
            names.append(accounts.normalise_username(name))
    return names


def staff_role(user_id: int, moderators: int) -> str:
    """Member 1 is the admin, the next `moderators` members moderators, the rest members."""
    from forum.models import Role

    if user_id == 1:
        return Role.ADMIN.value
    return Role.MODERATOR.value if user_id <= moderators + 1 else Role.MEMBER.value


def user_row(user_id: int, name: str, *, password_hash: str, joined: datetime, role: str) -> dict:
    """A member's row as registering and confirming their address on `joined` leave it."""
    from forum.services import accounts

    key = accounts.username_key(name)
    return {
        "id": user_id,
        "username": name,
        "username_key": key,
        "email": f"{key}@example.org",
        "email_verified_at": joined,
        "password_hash": password_hash,
        "role": role,
        "session_token": secrets.token_urlsafe(32),
        "created_at": joined,
    }


def set_board_counters(conn: sa.Connection, board_ids: list[int], topic_rows: list[dict]) -> None:
    """Each board's counters from the topic rows inserted, as the posting service keeps
    them: its listed (published) topics, their published posts, the newest post's time."""
    from forum.models import Board

    for board_id in board_ids:
        listed = [
            topic
            for topic in topic_rows
            if topic["board_id"] == board_id and topic.get("status", "published") == "published"
        ]
        conn.execute(
            sa.update(Board)
            .where(Board.id == board_id)
            .values(
                topic_count=len(listed),
                post_count=sum(topic["post_count"] for topic in listed),
                last_post_at=max((topic["last_post_at"] for topic in listed), default=None),
            )
        )


def _seed(url: str, p: Params, wanted: str, log) -> dict:
    import flask_migrate

    from forum.content import clean_single_line
    from forum.extensions import db
    from forum.models import Post, PostRevision, Topic, User
    from forum.services import accounts, admin

    began = time.perf_counter()
    app = common.app_for(url)
    with app.app_context():
        flask_migrate.upgrade(directory=str(REPO_ROOT / "migrations"))
        log(f"  migrations applied ({time.perf_counter() - began:.1f}s)")

        boards = [
            admin.create_board(slug, name, description)
            for slug, name, description in BOARD_NAMES[: p.boards]
        ]
        for extra in range(len(boards), p.boards):
            boards.append(admin.create_board(f"board-{extra}", f"Board {extra}"))
        board_ids = [board.id for board in boards]
        # Reading the ids reopened the session's transaction: left idle in it, PostgreSQL
        # could not mark pages all-visible at the VACUUM after the seed.
        db.session.rollback()

        # Members: one real password hash shared by all (hashing 3,000 would take minutes).
        names = usernames(random.Random(p.seed + 1), p.users, suffix_chance=0.6, suffix_max=999)
        shared_hash = accounts.password_hasher.hash("kindred-bench-password")
        joined = END - timedelta(days=SPAN_DAYS + 30)
        users = [
            user_row(
                user_id,
                name,
                password_hash=shared_hash,
                joined=joined,
                role=staff_role(user_id, moderators=5),
            )
            for user_id, name in enumerate(names, 1)
        ]

        topics, specs = _build_schedule(p, names)
        topic_rows = [
            {
                "id": index + 1,
                "board_id": board_ids[topic["board"]],
                "author_id": topic["author"] + 1,
                "title": clean_single_line(topic["title"]),
                "is_pinned": topic["is_pinned"],
                "is_locked": topic["is_locked"],
                "post_count": topic["post_count"],
                "created_at": topic["created_at"],
                "last_post_at": topic["last_post_at"],
                "revision": topic["revision"],
            }
            for index, topic in enumerate(topics)
        ]
        if "revision" not in Topic.__table__.c:  # the schema before topic revisions
            for row in topic_rows:
                del row["revision"]
        log(
            f"  schedule: {len(topic_rows):,} topics, {len(specs):,} posts "
            f"({time.perf_counter() - began:.1f}s)"
        )

        engine = db.engine
        with engine.begin() as conn:
            conn.execute(User.__table__.insert(), users)
            for start in range(0, len(topic_rows), 5_000):
                conn.execute(Topic.__table__.insert(), topic_rows[start : start + 5_000])
        log(f"  members and topics inserted ({time.perf_counter() - began:.1f}s)")

        engine.dispose()  # no pooled connection may cross the fork below
        chunks = [(p.seed, specs[start : start + 1_000]) for start in range(0, len(specs), 1_000)]
        written = 0
        context = multiprocessing.get_context("fork")
        with context.Pool(max(1, os.cpu_count() or 1)) as pool, engine.begin() as conn:
            for post_rows, revision_rows in pool.imap(_render_chunk, chunks):
                conn.execute(Post.__table__.insert(), post_rows)
                if revision_rows:
                    conn.execute(PostRevision.__table__.insert(), revision_rows)
                written += len(post_rows)
                if written % 20_000 == 0:
                    log(
                        f"  {written:,} posts rendered and inserted "
                        f"({time.perf_counter() - began:.1f}s)"
                    )

        with engine.begin() as conn:
            common.set_first_posts(conn)
            # The first post's revision carries the topic title, as edit_post records it.
            conn.execute(
                sa.text(
                    "UPDATE post_revisions SET title = (SELECT t.title FROM topics t "
                    "JOIN posts p ON p.topic_id = t.id WHERE p.id = post_revisions.post_id "
                    "AND p.id = (SELECT min(id) FROM posts WHERE topic_id = t.id))"
                )
            )
            set_board_counters(conn, board_ids, topic_rows)
            common.reset_sequences(conn, ("users", "topics", "posts", "post_revisions"))
        common.vacuum_analyze(engine)
        common.run_checks(engine, _counter_checks(engine), "seed")
        meta = _describe(engine, boards[0].slug, board_ids[0])
        common.record_seed(engine, wanted, meta)
    log(f"  seeded in {time.perf_counter() - began:.1f}s")
    return meta


def _counter_checks(engine) -> dict[str, str]:
    """The counters must agree with the rows, as the services keep them."""
    checks = {
        "topic post_count": """SELECT count(*) FROM topics t WHERE t.post_count !=
            (SELECT count(*) FROM posts p WHERE p.topic_id = t.id AND p.status = 'published')""",
        "topic last_post_at": """SELECT count(*) FROM topics t WHERE t.last_post_at !=
            (SELECT max(created_at) FROM posts p WHERE p.topic_id = t.id)""",
        "board topic_count": """SELECT count(*) FROM boards b WHERE b.topic_count !=
            (SELECT count(*) FROM topics t WHERE t.board_id = b.id)""",
        "board post_count": """SELECT count(*) FROM boards b WHERE b.post_count !=
            (SELECT count(*) FROM posts p JOIN topics t ON t.id = p.topic_id
             WHERE t.board_id = b.id AND p.status = 'published')""",
        "board last_post_at": """SELECT count(*) FROM boards b WHERE b.last_post_at !=
            (SELECT max(p.created_at) FROM posts p JOIN topics t ON t.id = p.topic_id
             WHERE t.board_id = b.id)""",
        "topic author": """SELECT count(*) FROM topics t WHERE t.author_id IS DISTINCT FROM
            (SELECT author_id FROM posts p WHERE p.topic_id = t.id ORDER BY id LIMIT 1)""",
    }
    if "revision" in {column["name"] for column in sa.inspect(engine).get_columns("topics")}:
        checks["topic revision"] = """SELECT count(*) FROM topics t WHERE t.revision !=
            (SELECT count(*) - 1 + count(p.edited_at) + sum(CASE WHEN p.status = 'deleted'
             THEN 1 ELSE 0 END) FROM posts p WHERE p.topic_id = t.id)"""
    return checks


def _describe(engine, deep_slug: str, deep_board_id: int) -> dict:
    """What the benchmark needs to know: the deep board and a 20-post topic in it."""
    with engine.connect() as conn:
        topic_id = conn.scalar(
            sa.text(
                "SELECT t.id FROM topics t WHERE t.board_id = :b AND t.is_locked = :f AND "
                "(SELECT count(*) FROM posts p WHERE p.topic_id = t.id) = 20 "
                "AND t.post_count = 20 ORDER BY t.id DESC LIMIT 1"
            ),
            {"b": deep_board_id, "f": False},
        )
        totals = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM topics), "
                "(SELECT count(*) FROM boards), (SELECT count(*) FROM users), "
                "(SELECT min(length(body_source)) FROM posts WHERE status = 'published'), "
                "(SELECT max(length(body_source)) FROM posts WHERE status = 'published'), "
                "(SELECT avg(length(body_source)) FROM posts WHERE status = 'published'), "
                "(SELECT topic_count FROM boards WHERE id = :b), "
                "(SELECT max(post_count) FROM topics)"
            ),
            {"b": deep_board_id},
        ).one()
    if topic_id is None:
        raise SystemExit("the seed has no 20-post topic in the deep board; change --seed")
    return {
        "deep_board_slug": deep_slug,
        "deep_board_id": deep_board_id,
        "topic_id": topic_id,
        "posts": totals[0],
        "topics": totals[1],
        "boards": totals[2],
        "users": totals[3],
        "body_min": totals[4],
        "body_max": totals[5],
        "body_avg": round(float(totals[6])),
        "deep_board_topics": totals[7],
        "longest_thread": totals[8],
    }


SEEDER = common.Seeder(
    make=_seed,
    version=SEED_VERSION,
    sources=SOURCES,
    reusing="Database already seeded with these parameters; reusing it.",
    seeding="Seeding a fresh database (first run takes a minute or two)...",
)
