"""posts: index to rank a topic's newest published posts without reading them

A digest batch takes the newest few published posts of several hundred topics.
Ranked over the table, every post of those topics was read, bodies and all (most
of a batch's time on SQLite); `ix_posts_topic_published` holds everything the
ranking needs, so only the posts kept are read (bench/README.md, "Digests").

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 12:00:00

"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_posts_topic_published', 'posts',
                    ['topic_id', 'status', 'published_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_posts_topic_published', table_name='posts')
