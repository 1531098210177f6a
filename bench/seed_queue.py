"""Seed a review queue of 100,000 items for bench/review_queue.py, with bulk inserts.

The rows are what the posting and moderation services would have written over
the last 90 days, made in bulk (SQLAlchemy Core, a few thousand rows at a time):

* the schema comes from the real migrations; boards from
  forum.services.admin.create_board (two of them premoderated);
* members: one admin, one moderator of every board, five moderators of two
  boards each, and members, trusted (3+ approved posts) or new;
* review items of the four kinds, their categories and priorities as
  forum.safety, forum.services.screening and forum.services.review_items assign them:
  - held posts (pending posts): the screening's reasons in screen()'s order
    (crisis language, personal details, a held watched word, the premoderated
    board, a new member's post), the category the most urgent of them;
  - flagged posts (published at once: crisis language or a flagged watched word
    from a trusted member in an open board);
  - reported posts: 1-8 reports from different members, the category the most
    urgent report, priority + 2 per further report (at most +9), hidden once
    three trusted members reported it;
  - accounts to review (after three rejected posts), no board;
* 70% decided (approved / rejected / dismissed, with decided_by, decided_at and
  decision_seconds), 30% pending, older items more often decided; a few pending
  items claimed; reasons (ReviewReason) and history (ReviewEvent) for each;
* every post item points at a real post whose status is what the decision left:
  a pending held post is `pending`, a rejected one `rejected`, an approved one
  `published`; a reported post is `hidden` or `removed` after "hide"/"delete",
  `hidden` while waiting if hidden by reports, `published` otherwise;
* topics: each board's posts in time order, each either starting a topic or
  replying to a topic that was listed at that moment (its first post published
  and not yet hidden); Topic.status follows the first post (a listed topic whose
  first post a moderator deletes stays listed, as post_state._topic_status has it);
  Topic.post_count
  and Board.topic_count / Board.post_count count published posts in published
  topics; Topic.last_post_at is the last moment a post of the topic became
  published (written, approved, or shown again after a dismissed report), as
  change_status() moves it. Topic.revision counts replies and status changes
  (the ORM hook counts flushes, so this is close, not exact; the queue never
  reads it).

Ages are relative to the moment of seeding (the queue's numbers use the real
clock), so a seed older than MAX_AGE is made again. ensure_seeded() records the
parameters, a fingerprint of the code the rows depend on and the seeding time
in the table `bench_seed` (the same table bench/seed.py uses: the two seeds
replace each other when they share a database).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench import common, seed
from bench.common import REPO_ROOT

DEFAULT_SQLITE = common.BENCH_DIR / "queue.db"
SEED_VERSION = 1
PASSWORD = "kindred-bench-password"
#: Items' ages count back from the seeding time; after this long the seed is made again.
MAX_AGE = timedelta(hours=24)
PREMODERATED_BOARDS = (6, 8)  # board positions (0-based) set to premoderated
BATCH = 5_000

KIND_WEIGHTS = {"held_post": 38, "reported_post": 40, "flagged_post": 16, "account": 6}
REPORT_COUNT_WEIGHTS = {1: 62, 2: 18, 3: 9, 4: 5, 5: 3, 6: 2, 8: 1}
REPORT_CATEGORY_WEIGHTS = {
    "spam": 28,
    "harassment": 24,
    "other": 22,
    "personal_details": 14,
    "at_risk": 12,
}
REPORT_NOTES = [
    "",
    "",
    "",
    "This isn't okay.",
    "Same link posted in five topics.",
    "They keep messaging people about this.",
    "Worried about them.",
    "Looks like an advert.",
    "Shares someone's address.",
]
DETAILS = {
    "at_risk": "Crisis language: end it",
    "personal_details": "Looks like it shares a phone number",
    "watched_word": "Watched words: casino",
    "premoderated": "Every post in {board} is reviewed",
    "new_member": "One of a new member's first 3 posts",
}
# What a decision on each kind does: (action, item status, post status afterwards), weight.
OUTCOMES = {
    "held_post": [
        (("approve", "approved", "published"), 78),
        (("reject", "rejected", "rejected"), 22),
    ],
    "flagged_post": [
        (("dismiss", "dismissed", "published"), 80),
        (("hide", "rejected", "hidden"), 10),
        (("delete", "rejected", "removed"), 10),
    ],
    "reported_post": [
        (("dismiss", "dismissed", "published"), 55),
        (("hide", "rejected", "hidden"), 25),
        (("delete", "rejected", "removed"), 20),
    ],
    "account": [(("dismiss", "dismissed", None), 60), (("suspend", "rejected", None), 40)],
}
ACTION_LABELS = {
    "approve": "Approve",
    "reject": "Reject",
    "hide": "Hide",
    "delete": "Delete",
    "dismiss": "Dismiss the reports",
    "suspend": "Suspend the author",
}


@dataclass(frozen=True)
class Params:
    items: int = 100_000
    boards: int = 10
    users: int = 8_000
    topics: int = 30_000
    extra_posts: int = 20_000  # posts no one flagged or reported
    pending_percent: int = 30
    days: int = 90
    seed: int = 20261126

    def check(self) -> None:
        if not 8 <= self.boards <= len(seed.BOARD_NAMES):
            raise SystemExit(f"need 8 to {len(seed.BOARD_NAMES)} boards")
        if self.users < self.items * KIND_WEIGHTS["account"] / sum(KIND_WEIGHTS.values()) * 1.3:
            raise SystemExit("too few users for the account items (one item per account)")
        if not 0 <= self.pending_percent <= 100 or self.days < 31:
            raise SystemExit("pending_percent 0-100, days > 30")


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _priority(category: str, report_count: int = 0) -> int:
    from forum import safety

    return safety.priority_of(category) + min(
        safety.REPORT_BOOST * max(report_count - 1, 0), safety.REPORT_BOOST_MAX
    )


def _most_urgent(categories: list[str]) -> str:
    """As _raise_priority picks it: the first, replaced only by a strictly more urgent one."""
    from forum import safety

    best = categories[0]
    for category in categories[1:]:
        if safety.priority_of(category) > safety.priority_of(best):
            best = category
    return best


# --- the plan: every row as a dict, no text yet ---------------------------------------


def _plan(
    p: Params, now: datetime, board_ids: list[int], board_names: list[str], usernames: list[str]
) -> dict:
    from forum import safety

    rng = random.Random(p.seed)
    span = p.days * 86_400
    staff = list(range(1, 8))  # user ids: 1 admin, 2 all boards, 3-7 two boards each
    moderators_of: dict[int, list[int]] = {board: [1, 2] for board in board_ids}
    board_moderators = []
    for k, user_id in enumerate(range(3, 8)):
        for position in (k % p.boards, (k + 5) % p.boards):
            board_moderators.append({"user_id": user_id, "board_id": board_ids[position]})
            moderators_of[board_ids[position]].append(user_id)
    premoderated = {board_ids[i] for i in PREMODERATED_BOARDS if i < p.boards}
    open_boards = [board for board in board_ids if board not in premoderated]
    board_weight = {board: 1 / (i + 1) ** 0.7 for i, board in enumerate(board_ids)}

    members = list(range(8, p.users + 1))
    trusted = {user for user in members if rng.random() < 0.8}
    trusted_list = sorted(trusted)
    new_list = sorted(set(members) - trusted)
    author_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(trusted_list))]

    def pick_board(boards: list[int]) -> int:
        return rng.choices(boards, weights=[board_weight[b] for b in boards])[0]

    def trusted_author() -> int:
        return rng.choices(trusted_list, weights=author_weights)[0]

    # Items, numbered in the order they were raised.
    raised = sorted(now - timedelta(seconds=rng.random() * span) for _ in range(p.items))
    # Accounts to review: new members first (pop() takes from the end), then others.
    account_pool = rng.sample(trusted_list, len(trusted_list)) + rng.sample(new_list, len(new_list))
    items, reasons, events, posts = [], [], [], []
    approved, rejected = {}, {}
    for index, at in enumerate(raised):
        item_id = index + 1
        kind = _weighted(rng, KIND_WEIGHTS)
        age = (now - at).total_seconds() / span
        pending = rng.random() < p.pending_percent / 100 * (0.4 + 1.2 * (1 - age))
        item = {
            "id": item_id,
            "kind": kind,
            "status": "pending",
            "post_id": None,
            "account_id": None,
            "board_id": None,
            "report_count": 0,
            "hidden_by_reports": False,
            "version": 1,
            "claimed_by_id": None,
            "claimed_at": None,
            "created_at": at,
            "opened_at": at,
            "decided_at": None,
            "decided_by_id": None,
            "decision_seconds": None,
        }
        item_reasons: list[dict] = []
        post = None
        hidden_at = None
        if kind == "account":
            member = account_pool.pop()
            item.update(account_id=member, category="account", priority=_priority("account"))
            item_reasons.append(
                {
                    "category": "account",
                    "detail": "3 posts rejected",
                    "reporter_id": None,
                    "reporter_trusted": False,
                    "created_at": at,
                }
            )
            events.append((item_id, None, "raised", "3 posts rejected", at))
            rejected[member] = max(rejected.get(member, 0), 3)
        elif kind == "held_post":
            board = pick_board(board_ids)
            categories = []
            if rng.random() < 0.04:
                categories.append("at_risk")
            if rng.random() < 0.14:
                categories.append("personal_details")
            if rng.random() < 0.08:
                categories.append("watched_word")
            if board in premoderated:
                categories.append("premoderated")
            new_member = rng.random() < (0.5 if board in premoderated else 0.8)
            held = any(
                c in ("personal_details", "watched_word", "premoderated") for c in categories
            )
            if new_member or not held:
                categories.append("new_member")
                new_member = True
            category = _most_urgent(categories)
            author = rng.choice(new_list) if new_member else trusted_author()
            item.update(board_id=board, category=category, priority=_priority(category))
            for c in categories:
                detail = DETAILS[c].format(board=board_names[board_ids.index(board)])
                item_reasons.append(
                    {
                        "category": c,
                        "detail": detail,
                        "reporter_id": None,
                        "reporter_trusted": False,
                        "created_at": at,
                    }
                )
            events.append(
                (item_id, None, "raised", "; ".join(r["detail"] for r in item_reasons), at)
            )
            post = {
                "board": board,
                "author": author,
                "created_at": at,
                "status": "pending",
                "changes": 0,
            }
        elif kind == "flagged_post":
            board = pick_board(open_boards)
            categories = (["at_risk"] if rng.random() < 0.45 else []) + (
                ["watched_word"] if rng.random() < 0.6 else []
            )
            categories = categories or ["at_risk"]
            category = _most_urgent(categories)
            item.update(board_id=board, category=category, priority=_priority(category))
            for c in categories:
                item_reasons.append(
                    {
                        "category": c,
                        "detail": DETAILS[c],
                        "reporter_id": None,
                        "reporter_trusted": False,
                        "created_at": at,
                    }
                )
            events.append(
                (item_id, None, "raised", "; ".join(r["detail"] for r in item_reasons), at)
            )
            post = {
                "board": board,
                "author": trusted_author(),
                "created_at": at,
                "status": "published",
                "changes": 0,
            }
        else:  # reported_post
            board = pick_board(board_ids)
            count = _weighted(rng, REPORT_COUNT_WEIGHTS)
            author = trusted_author() if rng.random() < 0.85 else rng.choice(new_list)
            written = at - timedelta(seconds=min(rng.expovariate(1 / 129_600), 30 * 86_400))
            post = {
                "board": board,
                "author": author,
                "created_at": written,
                "status": "published",
                "changes": 0,
            }
            reporters = set()
            while len(reporters) < count:
                reporter = rng.choice(members)
                if reporter != author:
                    reporters.add(reporter)
            horizon = (now - at).total_seconds()
            times = [at] + sorted(
                at + timedelta(seconds=rng.random() * min(horizon, 172_800))
                for _ in range(count - 1)
            )
            categories, trusted_seen = [], 0
            for reporter, reported_at in zip(sorted(reporters), times, strict=True):
                c = _weighted(rng, REPORT_CATEGORY_WEIGHTS)
                categories.append(c)
                is_trusted = reporter in trusted
                item_reasons.append(
                    {
                        "category": c,
                        "detail": rng.choice(REPORT_NOTES)
                        if c != "other"
                        else "Not sure this is allowed here.",
                        "reporter_id": reporter,
                        "reporter_trusted": is_trusted,
                        "created_at": reported_at,
                    }
                )
                events.append((item_id, None, "reported", safety.label_of(c), reported_at))
                trusted_seen += is_trusted
                if trusted_seen == 3 and hidden_at is None:
                    hidden_at = reported_at
                    events.append(
                        (
                            item_id,
                            None,
                            "hidden by reports",
                            "3 trusted members reported it; hidden until a moderator decides.",
                            reported_at,
                        )
                    )
            category = _most_urgent(categories)
            item.update(
                board_id=board,
                category=category,
                priority=_priority(category, count),
                report_count=count,
                hidden_by_reports=hidden_at is not None,
                version=1 + count,
            )
            if hidden_at is not None:
                post.update(status="hidden", hidden_at=hidden_at, changes=1)
        item["is_sensitive"] = any(
            r["category"] in safety.SENSITIVE_CATEGORIES for r in item_reasons
        )
        last_event = max(r["created_at"] for r in item_reasons)
        eligible = [1, 2] if kind == "account" else moderators_of[item["board_id"]]
        if pending:
            if rng.random() < 0.04:
                moderator = rng.choice(eligible)
                claimed = max(last_event, now - timedelta(seconds=rng.random() * 1_200))
                item.update(claimed_by_id=moderator, claimed_at=claimed)
                events.append((item_id, moderator, "claimed", "", claimed))
        else:
            ((action, item_status, post_status),) = rng.choices(
                [o for o, _ in OUTCOMES[kind]], weights=[w for _, w in OUTCOMES[kind]]
            )
            if action == "hide" and item["hidden_by_reports"]:
                # "Hide" does not apply to a post already hidden by reports: "Delete" does.
                action, item_status, post_status = "delete", "rejected", "removed"
            earliest = (last_event - at).total_seconds()
            seconds = int(
                max(earliest, min(rng.lognormvariate(9.3, 1.5), (now - at).total_seconds()))
            )
            decided = at + timedelta(seconds=seconds)
            moderator = rng.choice(eligible)
            item.update(
                status=item_status,
                decided_at=decided,
                decided_by_id=moderator,
                decision_seconds=seconds,
                version=item["version"] + 1,
            )
            events.append(
                (
                    item_id,
                    moderator,
                    ACTION_LABELS[action],
                    ""
                    if action in ("approve", "dismiss")
                    else "This goes against the community guidelines.",
                    decided,
                )
            )
            if kind == "account":
                if action == "suspend":
                    item["suspend_until"] = decided + timedelta(days=7)
            else:
                if post["status"] == "hidden" and post_status == "published":
                    post["republished_at"] = decided
                if post["status"] == "pending" and post_status == "published":
                    post["approved_at"] = decided
                    approved[post["author"]] = approved.get(post["author"], 0) + 1
                if post_status == "rejected":
                    rejected[post["author"]] = rejected.get(post["author"], 0) + 1
                if post_status == "removed" and post["status"] == "published":
                    # A moderator's deletion of a published first post leaves its topic
                    # listed, with a placeholder (post_state._topic_status).
                    post["keeps_topic_listed"] = True
                elif post_status in ("hidden", "removed") and not post.get("hidden_at"):
                    post["hidden_at"] = decided
                if post_status != post["status"]:
                    post["changes"] += 1
                post["status"] = post_status
                post["decided_at"] = decided
        if post is not None:
            post["item"] = item_id
            posts.append(post)
        for reason in item_reasons:
            reasons.append(dict(reason, item_id=item_id))
        items.append(item)

    # Posts nobody flagged or reported, over the same period and a little before.
    for _ in range(p.extra_posts):
        at = now - timedelta(seconds=rng.random() * (span + 30 * 86_400))
        author = trusted_author() if rng.random() < 0.97 else rng.choice(staff)
        posts.append(
            {
                "board": pick_board(board_ids),
                "author": author,
                "created_at": at,
                "status": "published",
                "changes": 0,
            }
        )
    return {
        "items": items,
        "reasons": reasons,
        "events": events,
        "posts": posts,
        "trusted": trusted,
        "approved": approved,
        "rejected": rejected,
        "board_moderators": board_moderators,
        "premoderated": premoderated,
        "rng": rng,
    }


def _listed_from(post: dict):
    """When the post first became visible to everyone (None: never)."""
    if post.get("approved_at"):
        return post["approved_at"]
    if post["status"] == "pending" or (post["status"] == "rejected"):
        return None
    return post["created_at"]


def _publications(post: dict) -> list[datetime]:
    """Moments the post became published: each moved Topic.last_post_at."""
    moments = []
    if post.get("approved_at"):
        moments.append(post["approved_at"])
    elif post["status"] not in ("pending", "rejected"):
        moments.append(post["created_at"])
    if post.get("republished_at"):
        moments.append(post["republished_at"])
    return moments


def _threads(p: Params, posts: list[dict], board_ids: list[int], rng: random.Random):
    """Give each post an id (time order) and a topic; return the topic rows (no ids yet)."""
    posts.sort(key=lambda post: post["created_at"])
    for post_id, post in enumerate(posts, start=1):
        post["id"] = post_id
    start_share = p.topics / max(len(posts), 1)
    topics = []
    by_board: dict[int, list[dict]] = {board: [] for board in board_ids}
    for post in posts:
        board_topics = by_board[post["board"]]
        at = post["created_at"]
        chosen = None
        if board_topics and rng.random() >= start_share:
            # Reply to a recent topic that is listed at this moment.
            for _ in range(8):
                candidate = board_topics[
                    max(0, len(board_topics) - 1 - int(rng.expovariate(1 / 25)))
                ]
                first = candidate["first"]
                since, until = _listed_from(first), first.get("hidden_at")
                if since is not None and since <= at and (until is None or at < until):
                    chosen = candidate
                    break
        if chosen is None:
            chosen = {"board": post["board"], "first": post, "posts": [], "created_at": at}
            board_topics.append(chosen)
            topics.append(chosen)
        chosen["posts"].append(post)
        post["topic"] = chosen
    topics.sort(key=lambda topic: topic["created_at"])
    for topic_id, topic in enumerate(topics, start=1):
        topic["id"] = topic_id
    return topics


# --- the database ------------------------------------------------------------------

SOURCES = [
    *seed.SOURCES,
    "forum/safety.py",
    "forum/services/moderation.py",
    "forum/services/review_items.py",
    "forum/services/screening.py",
    "forum/services/review_actions.py",
    "forum/services/admin.py",
    "bench/seed_queue.py",
]


def ensure_seeded(url: str, p: Params, force: bool = False, log=print) -> dict:
    """Seed `url` unless it holds this seed, made less than MAX_AGE ago; return its meta."""
    return SEEDER.ensure_seeded(url, p, force=force, log=log)


def _young_enough(meta: dict, log) -> bool:
    made = datetime.fromisoformat(meta["now"])
    if datetime.now(UTC) - made < MAX_AGE:
        log(f"The queue seed was made {made:%Y-%m-%d %H:%M} UTC.")
        return True
    log("The queue seed is more than a day old (ages count from seeding); seeding again.")
    return False


def _seed(url: str, p: Params, wanted: str, log) -> dict:
    import flask_migrate

    from forum.content import clean_single_line
    from forum.extensions import db
    from forum.models import (
        BoardModerator,
        Post,
        ReviewEvent,
        ReviewItem,
        ReviewReason,
        Topic,
        User,
    )
    from forum.services import accounts, admin

    began = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    app = common.app_for(url)
    with app.app_context():
        flask_migrate.upgrade(directory=str(REPO_ROOT / "migrations"))
        boards = [
            admin.create_board(
                slug,
                name,
                description,
                mode="premoderated" if index in PREMODERATED_BOARDS else "open",
            )
            for index, (slug, name, description) in enumerate(seed.BOARD_NAMES[: p.boards])
        ]
        board_ids = [board.id for board in boards]
        board_names = [board.name for board in boards]
        # Reading them reopened the session's transaction; left open, it would keep
        # VACUUM below from marking pages all-visible (no index-only scans until
        # autovacuum came by).
        db.session.rollback()

        usernames = seed.usernames(
            random.Random(p.seed + 1), p.users, suffix_chance=0.8, suffix_max=9999
        )

        plan = _plan(p, now, board_ids, board_names, usernames)
        rng = plan["rng"]
        topics = _threads(p, plan["posts"], board_ids, rng)
        posts = plan["posts"]
        log(
            f"  plan: {len(plan['items']):,} items, {len(posts):,} posts, "
            f"{len(topics):,} topics ({time.perf_counter() - began:.1f}s)"
        )

        shared_hash = accounts.password_hasher.hash(PASSWORD)
        suspended = {
            item["account_id"]: item["suspend_until"]
            for item in plan["items"]
            if item.get("suspend_until")
        }
        users = []
        for index, name in enumerate(usernames):
            user_id = index + 1
            is_new = user_id >= 8 and user_id not in plan["trusted"]
            joined = now - timedelta(
                days=rng.uniform(1, p.days) if is_new else rng.uniform(p.days + 30, 900)
            )
            role = seed.staff_role(user_id, moderators=6)
            users.append(
                {
                    **seed.user_row(
                        user_id, name, password_hash=shared_hash, joined=joined, role=role
                    ),
                    "moderates_all_boards": user_id == 2,
                    "approved_post_count": plan["approved"].get(user_id, 0)
                    + (0 if is_new else rng.randint(3, 40)),
                    "rejected_post_count": plan["rejected"].get(user_id, 0),
                    "suspended_until": suspended.get(user_id),
                    "banned_at": None,
                }
            )

        topic_rows = []
        for topic in topics:
            first = topic["first"]
            published = [post for post in topic["posts"] if post["status"] == "published"]
            moments = [topic["created_at"]] + [
                at for post in topic["posts"] for at in _publications(post)
            ]
            changes = sum(post["changes"] for post in topic["posts"])
            topic_rows.append(
                {
                    "id": topic["id"],
                    "board_id": topic["board"],
                    "author_id": first["author"],
                    "title": clean_single_line(seed.title_text(rng)),
                    "status": "published" if first.get("keeps_topic_listed") else first["status"],
                    "is_pinned": False,
                    "is_locked": False,
                    "post_count": len(published),
                    "created_at": topic["created_at"],
                    "last_post_at": max(moments),
                    "revision": len(topic["posts"]) - 1 + changes,
                }
            )

        item_rows = []
        post_of_item = {post["item"]: post for post in posts if "item" in post}
        for item in plan["items"]:
            row = {key: value for key, value in item.items() if key != "suspend_until"}
            if item["id"] in post_of_item:
                post = post_of_item[item["id"]]
                row["post_id"] = post["id"]
                assert row["board_id"] == post["topic"]["board"]
            item_rows.append(row)
        reason_rows = [dict(reason, id=index) for index, reason in enumerate(plan["reasons"], 1)]
        event_rows = [
            {
                "id": index,
                "item_id": item_id,
                "actor_id": actor,
                "action": action,
                "note": note,
                "created_at": at,
            }
            for index, (item_id, actor, action, note, at) in enumerate(
                sorted(plan["events"], key=lambda e: (e[4], e[0])), 1
            )
        ]

        engine = db.engine
        with engine.begin() as conn:
            conn.execute(User.__table__.insert(), users)
            conn.execute(BoardModerator.__table__.insert(), plan["board_moderators"])
            for start in range(0, len(topic_rows), BATCH):
                conn.execute(Topic.__table__.insert(), topic_rows[start : start + BATCH])
        log(f"  members and topics inserted ({time.perf_counter() - began:.1f}s)")

        specs = [
            seed.PostSpec(
                id=post["id"],
                topic_id=post["topic"]["id"],
                author_id=post["author"],
                created_at=post["created_at"],
                first=post is post["topic"]["first"],
                target=rng.randint(seed.BODY_MIN, seed.BODY_MAX),
                deleted=False,
                edited=False,
                content_warning=None if rng.random() > 0.04 else rng.choice(seed.CONTENT_WARNINGS),
            )
            for post in posts
        ]
        status_of = {post["id"]: post["status"] for post in posts}
        engine.dispose()  # no pooled connection may cross the fork below
        chunks = [(p.seed, specs[start : start + 1_000]) for start in range(0, len(specs), 1_000)]
        context = multiprocessing.get_context("fork")
        written = 0
        with context.Pool(max(1, os.cpu_count() or 1)) as pool, engine.begin() as conn:
            for post_rows, _ in pool.imap(seed._render_chunk, chunks):
                for row in post_rows:
                    row["status"] = status_of[row["id"]]
                conn.execute(Post.__table__.insert(), post_rows)
                written += len(post_rows)
                if written % 40_000 == 0:
                    log(
                        f"  {written:,} posts rendered and inserted "
                        f"({time.perf_counter() - began:.1f}s)"
                    )

        with engine.begin() as conn:
            common.set_first_posts(conn)
            for table, rows in (
                (ReviewItem.__table__, item_rows),
                (ReviewReason.__table__, reason_rows),
                (ReviewEvent.__table__, event_rows),
            ):
                for start in range(0, len(rows), BATCH):
                    conn.execute(table.insert(), rows[start : start + BATCH])
            # What forum.services.queue_counts keeps as items change (and migration 0008 fills).
            conn.execute(
                sa.text(
                    "INSERT INTO review_queue_counts (board_key, kind, waiting) "
                    "SELECT coalesce(board_id, 0), kind, count(*) FROM review_items "
                    "WHERE status = 'pending' GROUP BY coalesce(board_id, 0), kind"
                )
            )
            seed.set_board_counters(conn, board_ids, topic_rows)
            common.reset_sequences(
                conn,
                ("users", "topics", "posts", "review_items", "review_reasons", "review_events"),
            )
        log(f"  items, reasons and events inserted ({time.perf_counter() - began:.1f}s)")
        common.vacuum_analyze(engine)  # the checks' plans need the statistics
        common.run_checks(engine, _checks(p), "queue seed")
        meta = _describe(engine, now, users, plan["board_moderators"], board_ids)
        common.record_seed(engine, wanted, meta)
    log(f"  seeded in {time.perf_counter() - began:.1f}s")
    return meta


def _checks(p: Params) -> dict[str, str]:
    """What the services keep true, checked on the rows."""
    from forum import safety

    priority_case = " ".join(
        f"WHEN '{name}' THEN {priority}" for name, (priority, _) in safety.CATEGORIES.items()
    )
    checks = {
        "items": f"SELECT count(*) != {p.items} FROM review_items",
        "topic status follows its first post": """SELECT count(*) FROM topics t
            JOIN posts p ON p.id = (SELECT min(id) FROM posts WHERE topic_id = t.id)
            WHERE t.status != p.status AND NOT (t.status = 'published'
                                                AND p.status IN ('deleted', 'removed'))""",
        "topic post_count": """SELECT count(*) FROM topics t WHERE t.post_count !=
            (SELECT count(*) FROM posts p WHERE p.topic_id = t.id AND p.status = 'published')""",
        "topic last_post_at": """SELECT count(*) FROM topics t WHERE t.last_post_at <
            (SELECT max(created_at) FROM posts p WHERE p.topic_id = t.id
             AND p.status = 'published')""",
        "board topic_count": """SELECT count(*) FROM boards b WHERE b.topic_count !=
            (SELECT count(*) FROM topics t WHERE t.board_id = b.id AND t.status = 'published')""",
        "board post_count": """SELECT count(*) FROM boards b WHERE b.post_count !=
            (SELECT count(*) FROM posts p JOIN topics t ON t.id = p.topic_id
             WHERE t.board_id = b.id AND t.status = 'published' AND p.status = 'published')""",
        "a reply in a topic that was not listed": """SELECT count(*) FROM posts p
            JOIN topics t ON t.id = p.topic_id JOIN posts f ON f.id =
            (SELECT min(id) FROM posts WHERE topic_id = t.id)
            WHERE p.id != f.id AND f.status IN ('pending', 'rejected')""",
        "item board is its post's topic's board": """SELECT count(*) FROM review_items i
            JOIN posts p ON p.id = i.post_id JOIN topics t ON t.id = p.topic_id
            WHERE i.board_id IS DISTINCT FROM t.board_id""",
        "post item without a post, or account item with one": """SELECT count(*)
            FROM review_items WHERE (kind = 'account') != (post_id IS NULL)
            OR (kind = 'account') != (account_id IS NOT NULL)
            OR (kind = 'account') != (board_id IS NULL)""",
        "post status against its item": """SELECT count(*) FROM review_items i
            JOIN posts p ON p.id = i.post_id WHERE NOT (
              (i.kind = 'held_post' AND i.status = 'pending' AND p.status = 'pending')
              OR (i.kind = 'held_post' AND i.status = 'approved' AND p.status = 'published')
              OR (i.kind = 'held_post' AND i.status = 'rejected' AND p.status = 'rejected')
              OR (i.kind IN ('reported_post', 'flagged_post') AND i.status = 'pending'
                  AND p.status = CASE WHEN i.hidden_by_reports THEN 'hidden'
                                      ELSE 'published' END)
              OR (i.kind IN ('reported_post', 'flagged_post') AND i.status = 'dismissed'
                  AND p.status = 'published')
              OR (i.kind IN ('reported_post', 'flagged_post') AND i.status = 'rejected'
                  AND p.status IN ('hidden', 'removed')))""",
        "decision fields": """SELECT count(*) FROM review_items WHERE
            (status = 'pending') != (decided_at IS NULL)
            OR (status = 'pending') != (decision_seconds IS NULL)
            OR (status = 'pending') != (decided_by_id IS NULL)
            OR decided_at < opened_at""",
        "priority": f"""SELECT count(*) FROM review_items WHERE priority !=
            CASE category {priority_case} END
            + CASE WHEN report_count > 1 THEN
                CASE WHEN 2 * (report_count - 1) > 9 THEN 9 ELSE 2 * (report_count - 1) END
              ELSE 0 END""",
        "waiting counts": """SELECT count(*) FROM review_queue_counts c FULL JOIN
            (SELECT coalesce(board_id, 0) AS board_key, kind, count(*) AS n FROM review_items
             WHERE status = 'pending' GROUP BY coalesce(board_id, 0), kind) a
            ON a.board_key = c.board_key AND a.kind = c.kind
            WHERE coalesce(c.waiting, 0) != coalesce(a.n, 0)""",
        "report_count": """SELECT count(*) FROM review_items i WHERE i.kind = 'reported_post'
            AND i.report_count != (SELECT count(*) FROM review_reasons r
                                   WHERE r.item_id = i.id AND r.reporter_id IS NOT NULL)""",
    }
    return checks


SEEDER = common.Seeder(
    make=_seed,
    version=SEED_VERSION,
    sources=SOURCES,
    scenario="review-queue",
    reusing="Database already holds this queue seed; reusing it.",
    seeding="Seeding a fresh database with the review queue (a minute or two)...",
    still_good=_young_enough,
)


def _describe(
    engine, now: datetime, users: list[dict], board_moderators: list[dict], board_ids: list[int]
) -> dict:
    moderator_id = 3
    moderator_boards = sorted(
        row["board_id"] for row in board_moderators if row["user_id"] == moderator_id
    )
    with engine.connect() as conn:
        by_kind = {
            f"{kind}/{status}": count
            for kind, status, count in conn.execute(
                sa.text("SELECT kind, status, count(*) FROM review_items GROUP BY kind, status")
            )
        }
        by_board = dict(
            conn.execute(
                sa.text(
                    "SELECT board_id, count(*) FROM review_items WHERE status = 'pending' "
                    "GROUP BY board_id"
                )
            ).all()
        )
        totals = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM topics), "
                "(SELECT count(*) FROM users), (SELECT count(*) FROM review_reasons), "
                "(SELECT count(*) FROM review_events), (SELECT count(*) FROM boards)"
            )
        ).one()
        filter_board = moderator_boards[0]
        reported_in_board = conn.scalar(
            sa.text(
                "SELECT count(*) FROM review_items WHERE status = 'pending' AND "
                "kind = 'reported_post' AND board_id = :b"
            ),
            {"b": filter_board},
        )
    return {
        "now": now.isoformat(),
        "items": sum(by_kind.values()),
        "by_kind_status": by_kind,
        "pending": sum(count for key, count in by_kind.items() if key.endswith("/pending")),
        "pending_by_board": {str(board): count for board, count in by_board.items()},
        "posts": totals[0],
        "topics": totals[1],
        "users": totals[2],
        "reasons": totals[3],
        "events": totals[4],
        "boards": totals[5],
        "admin": users[0]["username"],
        "moderator": users[moderator_id - 1]["username"],
        "moderator_boards": moderator_boards,
        "filter_board": filter_board,
        "filter_board_pending_reported": reported_in_board,
        "password": PASSWORD,
    }
