"""Usernames unique in any case: a unique index on lower(username)

Revision ID: 7b3e2d91c4f0
Revises: 3c1f5e9a7b20
Create Date: 2026-12-02 10:00:00

Sign-in matches usernames in any case, so "Susan" and "susan" are one name; the
old unique constraint let two accounts hold it. The index also serves the
sign-in lookup. Existing clashes stop the upgrade with their names, before
anything changes, instead of an IntegrityError from CREATE INDEX.

SQLite's batch mode does not reflect expression indexes: a later migration that
rebuilds "user" in batch mode must create this index again.
"""

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

# revision identifiers, used by Alembic.
revision = "7b3e2d91c4f0"
down_revision = "3c1f5e9a7b20"
branch_labels = None
depends_on = None

CLASHES = sa.text(
    'SELECT id, username FROM "user" WHERE lower(username) IN ('
    '  SELECT lower(username) FROM "user" GROUP BY lower(username)'
    "  HAVING count(*) > 1"
    ") ORDER BY lower(username), id"
)


def refuse_clashes():
    """Stop, naming them, if two accounts' usernames differ only in case."""
    groups = {}
    for user_id, username in op.get_bind().execute(CLASHES):
        groups.setdefault(username.lower(), []).append(f"{username} (id {user_id})")
    if groups:
        listed = "\n".join("  " + ", ".join(names) for names in groups.values())
        raise CommandError(
            "These accounts' usernames differ only in case, so they cannot all "
            f"sign in:\n{listed}\n"
            "Rename all but one account of each group (tell its owner the new "
            """name), e.g. UPDATE "user" SET username = 'susan2' WHERE id = 2; """
            "then run flask db upgrade again. Nothing has been changed."
        )


def upgrade():
    refuse_clashes()
    op.create_index(
        "ix_user_username_folded",
        "user",
        [sa.text("lower(username)")],
        unique=True,
    )


def downgrade():
    op.drop_index("ix_user_username_folded", table_name="user")
