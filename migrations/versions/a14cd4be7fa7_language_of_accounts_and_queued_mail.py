"""The language of accounts and of queued mail.

Existing accounts get NULL: they read pages in their browser's language (or the
switcher's) until they choose one, and their mail follows the request's.

Revision ID: a14cd4be7fa7
Revises: 0d1fbee618d3
Create Date: 2026-11-30 12:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a14cd4be7fa7"
down_revision = "0d1fbee618d3"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("outbox", "user"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("locale", sa.String(length=16), nullable=True)
            )


def downgrade():
    for table in ("user", "outbox"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("locale")
