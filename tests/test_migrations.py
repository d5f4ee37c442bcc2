"""The migrations build exactly the schema the models describe, on either database."""

import os

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import db
from app.models import User, password_hasher
from tests.conftest import PASSWORD, AuthActions

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")


def test_upgrade_from_empty_matches_the_models(make_app, database_url, tmp_path):
    """`flask db upgrade` on an empty database leaves nothing for autogenerate."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        flask_migrate.upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, db.metadata) == []
        flask_migrate.downgrade(directory=MIGRATIONS, revision="base")
        tables = sa.inspect(db.engine).get_table_names()
        assert set(tables) <= {"alembic_version"}
        flask_migrate.upgrade(directory=MIGRATIONS)


def test_existing_accounts_upgrade_unconfirmed_and_keep_signing_in(
    make_app, database_url, tmp_path
):
    """An account from before confirmation existed: unproven, still usable."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'old.db'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        flask_migrate.upgrade(directory=MIGRATIONS, revision="6edfb35b30f9")
        hashed = password_hasher().hash(PASSWORD)
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (username, email, email_key, password_hash, '
                    "session_token, active) VALUES ('old', 'Old@Example.org', "
                    "'old@example.org', :hash, 'token-1', true)"
                ),
                {"hash": hashed},
            )
        flask_migrate.upgrade(directory=MIGRATIONS)
        user = db.session.scalar(sa.select(User).where(User.username == "old"))
        assert user.email == "Old@Example.org"
        assert not user.email_confirmed and user.pending_email is None
    client = app.test_client()
    response = AuthActions(client).login("old", PASSWORD)
    assert response.headers["Location"] == "/index"
    assert "Please confirm your address" in client.get("/index").text.replace(
        "&#39;", "'"
    )
