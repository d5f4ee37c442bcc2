"""Session records: where each account is signed in.

Every browser signed in before this revision signs in once more: its session id
carries no record key, so it is no longer accepted.

Revision ID: b7e3f9a2c5d1
Revises: 9c4d2a7e1b63
Create Date: 2026-12-07 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e3f9a2c5d1"
down_revision = "9c4d2a7e1b63"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("browser", sa.String(60), nullable=False),
        sa.Column("system", sa.String(60), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])


def downgrade():
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
