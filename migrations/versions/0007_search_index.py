"""full-text search index

SQLite: an FTS5 table over post text and topic titles (and a trigger that drops a
deleted post's entry). PostgreSQL: a table with a tsvector column and a GIN index.
The statements live in forum.search, which db.create_all() uses too; the index is
filled here from the posts already published.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from forum import search
from forum.models import Post, Topic


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    for statement in search.create_statements(connection.dialect.name):
        op.execute(statement)
    session = Session(bind=connection)
    # topics.first_post_id comes in 0012: here the first post is the lowest id.
    first_post_id = (
        sa.select(sa.func.min(Post.id))
        .where(Post.topic_id == Topic.id)
        .correlate(Topic)
        .scalar_subquery()
    )
    done, after_id = 0, 0
    while rows := search.findable_rows(
        session, after_id=after_id, limit=2000, first_post_id=first_post_id
    ):
        done += search.insert_entries(session, rows)
        after_id = rows[-1][0]


def downgrade():
    connection = op.get_bind()
    for statement in search.drop_statements(connection.dialect.name):
        op.execute(statement)
