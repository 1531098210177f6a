"""review queue: items waiting per board and kind, and the oldest waiting per board

`review_queue_counts` holds how many items wait per (board, kind), kept by the
moderation service in the same transaction as each item's change, so the queue's
numbers are one small read instead of a count over every waiting item; it is
filled here from the items already in the database. `ix_review_items_waiting_since`
finds a board's oldest waiting item with one index probe (bench/README.md,
"Review queue").

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'review_queue_counts',
        sa.Column('board_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('waiting', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('board_key', 'kind', name=op.f('pk_review_queue_counts')),
    )
    op.execute(
        "INSERT INTO review_queue_counts (board_key, kind, waiting) "
        "SELECT coalesce(board_id, 0), kind, count(*) FROM review_items "
        "WHERE status = 'pending' GROUP BY coalesce(board_id, 0), kind")
    op.create_index('ix_review_items_waiting_since', 'review_items',
                    ['status', 'board_id', 'opened_at'], unique=False)


def downgrade():
    op.drop_index('ix_review_items_waiting_since', table_name='review_items')
    op.drop_table('review_queue_counts')
