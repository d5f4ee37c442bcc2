"""The second factor: an encrypted authenticator key per account, recovery codes
and half-done sign-ins.

Existing accounts have no second factor (every new column is NULL, or 0 wrong
codes) and sign in as before.

Revision ID: 5e2b7c41d9a8
Revises: 7b3e2d91c4f0
Create Date: 2026-12-07 06:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5e2b7c41d9a8"
down_revision = "7b3e2d91c4f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_key", sa.String(255), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger, nullable=True))
        batch_op.add_column(
            sa.Column("two_factor_since", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("code_failures", sa.Integer, nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("code_failures_since", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"])
    op.create_table(
        "pending_sign_in",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("remember", sa.Boolean, nullable=False),
        sa.Column("next_url", sa.String(2048), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_index("ix_pending_sign_in_user_id", "pending_sign_in", ["user_id"])


def downgrade():
    op.drop_index("ix_pending_sign_in_user_id", table_name="pending_sign_in")
    op.drop_table("pending_sign_in")
    op.drop_index("ix_recovery_code_user_id", table_name="recovery_code")
    op.drop_table("recovery_code")
    # SQLite's batch mode rebuilds the table and cannot carry an expression
    # index over: set the folded-username index aside and make it again.
    op.drop_index("ix_user_username_folded", table_name="user")
    with op.batch_alter_table("user", schema=None) as batch_op:
        for column in (
            "code_failures_since",
            "code_failures",
            "two_factor_since",
            "totp_last_step",
            "totp_key",
        ):
            batch_op.drop_column(column)
    op.create_index(
        "ix_user_username_folded", "user", [sa.text("lower(username)")], unique=True
    )
