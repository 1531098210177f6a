"""audit_log: before and after as JSON columns, not text holding JSON

The audit service wrote json.dumps() text into these columns and the admin pages
read it back with json.loads(); as JSON columns the database type says what they
hold and SQLAlchemy converts both ways. Every value is kept: PostgreSQL's json type
(not jsonb) keeps the text exactly as written, and SQLite stores JSON as text.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = ("before", "after")


def upgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(
                column,
                existing_type=sa.Text(),
                type_=sa.JSON(),
                existing_nullable=False,
                postgresql_using=f'"{column}"::json',
            )


def downgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(
                column,
                existing_type=sa.JSON(),
                type_=sa.Text(),
                existing_nullable=False,
                postgresql_using=f'"{column}"::text',
            )
