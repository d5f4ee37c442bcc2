"""Post timeline indexes for keyset pages

Revision ID: 3c1f5e9a7b20
Revises: a14cd4be7fa7
Create Date: 2026-11-30 14:40:00

Pages resume after a (timestamp, id) cursor; an index on (timestamp, id), and
one on (user_id, timestamp, id) for profiles, let any page start with one
seek. They replace the single-column indexes they begin with.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "3c1f5e9a7b20"
down_revision = "a14cd4be7fa7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index("ix_post_timeline", ["timestamp", "id"], unique=False)
        batch_op.create_index(
            "ix_post_user_timeline", ["user_id", "timestamp", "id"], unique=False
        )
        batch_op.drop_index("ix_post_timestamp")
        batch_op.drop_index("ix_post_user_id")


def downgrade():
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index("ix_post_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_post_timestamp", ["timestamp"], unique=False)
        batch_op.drop_index("ix_post_user_timeline")
        batch_op.drop_index("ix_post_timeline")
