"""Migration 0012: topics.first_post_id, filled in from the posts a forum already has."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from forum import create_app
from forum.extensions import db

NOW = "2026-01-01 00:00:00"


def _add_topic(topic_id: int, title: str) -> None:
    db.session.execute(
        sa.text(
            "INSERT INTO topics (id, board_id, author_id, title, status, is_pinned, is_locked,"
            " post_count, created_at, last_post_at, revision)"
            " VALUES (:id, 1, 1, :title, 'published', 0, 0, 1, :now, :now, 0)"
        ),
        {"id": topic_id, "title": title, "now": NOW},
    )


def _add_post(post_id: int, topic_id: int, status: str = "published") -> None:
    db.session.execute(
        sa.text(
            "INSERT INTO posts (id, topic_id, author_id, status, body_source, body_html,"
            " created_at) VALUES (:id, :topic, 1, :status, 'Hi', '<p>Hi</p>', :now)"
        ),
        {"id": post_id, "topic": topic_id, "status": status, "now": NOW},
    )


def _first_posts() -> dict[int, int | None]:
    rows = db.session.execute(sa.text("SELECT id, first_post_id FROM topics ORDER BY id"))
    return dict(rows.all())


def test_upgrading_gives_each_topic_its_lowest_post_and_downgrading_takes_it_away(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
        }
    )
    with app.app_context():
        upgrade(revision="0011")
        db.session.execute(
            sa.text(
                "INSERT INTO users (id, username, username_key, email, password_hash, role,"
                " session_token, created_at) VALUES (1, 'ann', 'ann', 'a@example.org', 'x',"
                " 'member', 't', :now)"
            ),
            {"now": NOW},
        )
        db.session.execute(
            sa.text(
                "INSERT INTO boards (id, slug, name, description, position, is_public,"
                " topic_count, post_count, created_at) VALUES (1, 'b', 'B', '', 0, 1, 3, 5, :now)"
            ),
            {"now": NOW},
        )
        # Two topics written at the same time (their posts' ids interleave), one whose
        # opening post its author deleted, and one left with no posts at all.
        for topic_id, title in ((1, "One"), (2, "Two"), (3, "Three"), (4, "Empty")):
            _add_topic(topic_id, title)
        for post_id, topic_id in ((2, 1), (3, 2), (4, 1), (5, 2)):
            _add_post(post_id, topic_id)
        _add_post(6, 3, status="deleted")
        _add_post(7, 3)
        db.session.commit()
        db.session.remove()

        upgrade(revision="0012")
        assert _first_posts() == {1: 2, 2: 3, 3: 6, 4: None}
        db.session.remove()

        downgrade(revision="0011")
        columns = {column["name"] for column in sa.inspect(db.engine).get_columns("topics")}
        assert "first_post_id" not in columns and "title" in columns
        assert db.session.scalar(sa.text("SELECT count(*) FROM posts")) == 6
        db.session.remove()

        upgrade(revision="0012")  # and up again, from the posts as they are
        assert _first_posts() == {1: 2, 2: 3, 3: 6, 4: None}
        db.session.remove()
        db.engine.dispose()
