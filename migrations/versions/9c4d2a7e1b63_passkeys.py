"""Passkeys: each account's WebAuthn credentials, the random user id they carry,
and the single-use challenges of their ceremonies.

Revision ID: 9c4d2a7e1b63
Revises: 5e2b7c41d9a8
Create Date: 2026-12-07 07:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9c4d2a7e1b63"
down_revision = "5e2b7c41d9a8"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite's batch mode rebuilds the table and cannot carry an expression
    # index over: set the folded-username index aside and make it again.
    op.drop_index("ix_user_username_folded", table_name="user")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passkey_handle", sa.String(64), nullable=True))
        batch_op.create_unique_constraint("uq_user_passkey_handle", ["passkey_handle"])
    op.create_index(
        "ix_user_username_folded", "user", [sa.text("lower(username)")], unique=True
    )
    op.create_table(
        "passkey",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("credential_id", sa.String(1400), nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_passkey_user_id", "passkey", ["user_id"])
    op.create_table(
        "passkey_challenge",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("passkey_challenge")
    op.drop_index("ix_passkey_user_id", table_name="passkey")
    op.drop_table("passkey")
    op.drop_index("ix_user_username_folded", table_name="user")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("uq_user_passkey_handle", type_="unique")
        batch_op.drop_column("passkey_handle")
    op.create_index(
        "ix_user_username_folded", "user", [sa.text("lower(username)")], unique=True
    )
