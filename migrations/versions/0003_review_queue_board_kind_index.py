"""review queue: index for one board and one kind

Serves the queue filtered by board and kind in order, and lets a moderator of
some boards count what waits per kind from the index alone (bench/README.md,
"Review queue").

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_review_queue_board_kind', 'review_items',
                    ['status', 'board_id', 'kind', sa.literal_column('priority DESC'),
                     'opened_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_review_queue_board_kind', table_name='review_items')
