"""The page benchmark's member (bench/member.py), set up on a small seeded forum.

What `python -m bench.run` measures as "a real member" must be one: logged in, their
blocks and mutes applied on their pages, reactions sent and received, posts of their own
in a 20-post topic that everyone can read. On SQLite in tmp_path (the seed wipes its
database; the PostgreSQL path is the same services).
"""

from __future__ import annotations

import pytest

from bench import common, seed
from bench import member as bench_member
from tests.helpers.app import log_in, page_text

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]

#: A small forum bench/seed.py makes in a few seconds (seed 1 has the 20-post topic).
SMALL = seed.Params(posts=1500, topics=200, boards=4, deep_board_topics=80, users=150, seed=1)


@pytest.fixture
def seeded(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    # The bench's app_for() sets both, as a benchmark run does; monkeypatch puts them back.
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    meta = seed.ensure_seeded(url, SMALL, log=lambda line: None)
    member = bench_member.ensure_member(url, meta, log=lambda line: None)
    return url, meta, member


def test_the_member_has_a_topic_of_their_own_and_filters_set(seeded):
    url, meta, member = seeded
    assert member["posts"] == 20
    assert member["own_posts"] == 4
    assert member["blocks"] == 4
    assert member["muted_phrases"] == 2
    assert member["muted_boards"] == 1
    assert member["reactions"] > 0

    again = bench_member.ensure_member(url, meta, log=lambda line: None)
    assert again == member  # a second run reuses the member, it does not add a topic


def test_the_members_pages_show_their_blocks_mutes_and_reactions(seeded):
    url, meta, member = seeded
    app = common.app_for(url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    with app.test_client() as client:
        anonymous = page_text(client.get(f"/t/{member['topic_id']}"))
        assert anonymous.count('<article class="post"') == 20  # every post was approved
        assert "You blocked this member" not in anonymous

        assert log_in(client, member["username"], member["password"]).status_code == 302
        topic = page_text(client.get(f"/t/{member['topic_id']}"))
        board = page_text(client.get(f"/b/{meta['deep_board_slug']}"))

    assert topic.count('<article class="post"') == 20
    assert "You blocked this member" in topic
    assert "which you muted" in topic
    assert 'action="/logout"' in topic
    assert "Support for your post:" in topic  # others reacted to the member's posts
    assert "You sent:" in topic  # and the member to theirs
    assert bench_member.TOPIC_TITLE in board  # their topic is on board page 1
    assert "A topic by a member you blocked" in board
