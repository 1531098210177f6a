"""outbox: each message's bytes in a table of their own, written once

Senders update an outbox row twice per message (the claim, then sent_at), and
SQLite rewrites all of a row's overflow pages on every update: with the message in
the row, each 36 KB digest was written three times, a tenth of a digest run's
sending time (bench/README.md, "Digests"). `outbox_bodies` holds the message,
inserted with its row and never updated; deleting the row deletes it (ON DELETE
CASCADE). The messages waiting, sent and failed are copied over.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 11:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox_bodies',
        sa.Column('outbox_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('message', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'],
                                name=op.f('fk_outbox_bodies_outbox_id_outbox'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', name=op.f('pk_outbox_bodies')),
    )
    if op.get_bind().dialect.name == "postgresql":
        # lz4 rather than PostgreSQL's default pglz for the ~30 KB messages: 0.17 instead
        # of 0.66 ms a message to store, inside the digest batch's transaction, and
        # smaller. PostgreSQL before 14, or built without lz4, keeps pglz (dynamic SQL,
        # so that its error, even a syntax error, is caught here).
        op.execute("DO $$ BEGIN "
                   "EXECUTE 'ALTER TABLE outbox_bodies ALTER COLUMN message SET COMPRESSION lz4'; "
                   "EXCEPTION WHEN others THEN NULL; END $$")
    op.execute("INSERT INTO outbox_bodies (outbox_id, message) SELECT id, message FROM outbox")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('message')


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.LargeBinary(), nullable=True))
    op.execute("UPDATE outbox SET message = (SELECT message FROM outbox_bodies "
               "WHERE outbox_bodies.outbox_id = outbox.id)")
    op.drop_table('outbox_bodies')
