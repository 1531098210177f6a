"""mail: follows, digests, outbox

Members' mail settings, what they follow, one row per digest sent (the unique
key that keeps a digest from going twice), the outbox of mail waiting to go, and
when each post first became visible (digests go by it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:25:28.410316

"""
import sqlalchemy as sa
from alembic import op

import forum.models


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('covered_from', forum.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('covered_until', forum.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', forum.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_deliveries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_deliveries')),
    sa.UniqueConstraint('user_id', 'period', name=op.f('uq_digest_deliveries_user_id'))
    )
    op.create_table('mail_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=8), nullable=False),
    sa.Column('digest_hour', sa.Integer(), nullable=False),
    sa.Column('digest_weekday', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('notify_reply', sa.Boolean(), nullable=False),
    sa.Column('notify_quote', sa.Boolean(), nullable=False),
    sa.Column('notify_moderation', sa.Boolean(), nullable=False),
    sa.Column('paused_until', forum.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('link_versions', sa.JSON(), nullable=False),
    sa.Column('next_digest_at', forum.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('digest_covered_until', forum.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mail_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_mail_settings'))
    )
    with op.batch_alter_table('mail_settings', schema=None) as batch_op:
        batch_op.create_index('ix_mail_settings_due', ['next_digest_at'], unique=False)
    # Every member so far: no digest, every notice by mail (the defaults new members see).
    op.execute("INSERT INTO mail_settings (user_id, digest, digest_hour, digest_weekday, "
               "timezone, notify_reply, notify_quote, notify_moderation, version, "
               "link_versions) SELECT id, 'none', 8, 0, 'UTC', true, true, true, 1, '{}' "
               "FROM users")

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('message', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', forum.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', forum.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('sent_at', forum.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', forum.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outbox_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_waiting', ['sent_at', 'failed_at', 'id'], unique=False)

    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', forum.models.UTCDateTime(timezone=True),
                                      nullable=True))
    # Posts out before this migration: as good a guess as there is.
    op.execute("UPDATE posts SET published_at = created_at WHERE status = 'published'")

    op.create_table('follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('board_id', sa.Integer(), nullable=True),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('following', sa.Boolean(), nullable=False),
    sa.Column('created_at', forum.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(board_id IS NULL) != (topic_id IS NULL)', name=op.f('ck_follows_one_target')),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_follows_board_id_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_follows_topic_id_topics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_follows_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
    sa.UniqueConstraint('user_id', 'board_id', name='uq_follows_user_board'),
    sa.UniqueConstraint('user_id', 'topic_id', name='uq_follows_user_topic')
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index('ix_follows_board', ['board_id', 'following'], unique=False)
        batch_op.create_index('ix_follows_topic', ['topic_id', 'following'], unique=False)



def downgrade():
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.drop_index('ix_follows_topic')
        batch_op.drop_index('ix_follows_board')

    op.drop_table('follows')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_waiting')

    op.drop_table('outbox')
    with op.batch_alter_table('mail_settings', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_settings_due')

    op.drop_table('mail_settings')
    op.drop_table('digest_deliveries')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('published_at')
