"""topics: first_post_id, the topic's opening post, stored once

Which post opened a topic (its status lists the topic, its words are searched with
the title, its content warning labels an unanswered topic in a digest) was worked
out with a min(posts.id) or an ORDER BY id LIMIT 1 wherever it was needed. The
posting service now stores it when it writes the topic and its first post; existing
topics get the lowest id among their posts, in one UPDATE.

Topics and posts point at each other, so the key is a named constraint added to the
existing table (batch mode rebuilds it on SQLite).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 21:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_post_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_topics_first_post_id_posts"),
            "posts",
            ["first_post_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute(
        "UPDATE topics SET first_post_id = "
        "(SELECT min(posts.id) FROM posts WHERE posts.topic_id = topics.id)"
    )


def downgrade():
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_topics_first_post_id_posts"), type_="foreignkey")
        batch_op.drop_column("first_post_id")
