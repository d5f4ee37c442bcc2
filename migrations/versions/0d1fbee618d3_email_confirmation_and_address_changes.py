"""Email confirmation and address changes; account mail rendered at delivery.

Existing accounts start unconfirmed (email_confirmed_at stays NULL): nobody ever
proved those addresses. They keep signing in and getting reset links as before;
they see a notice with a button that mails them a confirmation link.

Revision ID: 0d1fbee618d3
Revises: 6edfb35b30f9
Create Date: 2026-11-30 12:07:33.501116

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0d1fbee618d3"
down_revision = "6edfb35b30f9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_user_id_user", "user", ["user_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        for column in ("email_confirmed_at", "pending_email_since", "email_changed_at"):
            batch_op.add_column(
                sa.Column(column, sa.DateTime(timezone=True), nullable=True)
            )
        for column in ("pending_email", "previous_email", "previous_email_key"):
            batch_op.add_column(sa.Column(column, sa.String(length=254), nullable=True))
        batch_op.create_index(
            "ix_user_previous_email_key", ["previous_email_key"], unique=False
        )


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index("ix_user_previous_email_key")
        for column in (
            "previous_email_key",
            "email_changed_at",
            "previous_email",
            "pending_email_since",
            "pending_email",
            "email_confirmed_at",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_user_id_user", type_="foreignkey")
        batch_op.drop_column("details")
        batch_op.drop_column("user_id")
