"""posts: submission keys

posts.submission_key: the one-time key of the form that made a post, unique per
author, so a form sent twice (a double click, a browser retry) makes one post.
Posts written before this have none (NULLs never clash).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_posts_author_id_submission_key',
                                          ['author_id', 'submission_key'])


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_posts_author_id_submission_key', type_='unique')
        batch_op.drop_column('submission_key')
