"""The migrations build exactly the schema the models describe, on either database."""

import os

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import db
from app.models import User, password_hasher
from tests.conftest import PASSWORD, AuthActions

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")


# SQLite cannot reflect expression indexes, so autogenerate cannot compare the
# folded-username index there (test_usernames_are_unique_in_any_case checks it).
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
    " ix_user_username_folded",
    "ignore:autogenerate skipping metadata-specified expression-based index"
    " 'ix_user_username_folded'",
)
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


def migrated_to(make_app, database_url, tmp_path, revision, **settings):
    """An app whose database the migrations took to revision (None: left empty)."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'old.db'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, **settings)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        if revision is not None:
            flask_migrate.upgrade(directory=MIGRATIONS, revision=revision)
    return app


def add_raw_users(app, *usernames):
    """Insert accounts with plain SQL, as a database of that revision has them."""
    with app.app_context(), db.engine.begin() as connection:
        for username in usernames:
            connection.execute(
                sa.text(
                    'INSERT INTO "user" (username, email, email_key, session_token, '
                    "active) VALUES (:name, :email, :email, :name, true)"
                ),
                {"name": username, "email": f"{username}@example.org"},
            )


def test_usernames_are_unique_in_any_case(make_app, database_url, tmp_path):
    """After the upgrade the database itself refuses a name in another case."""
    app = migrated_to(make_app, database_url, tmp_path, "head")
    add_raw_users(app, "Susan")
    with pytest.raises(sa.exc.IntegrityError):
        add_raw_users(app, "susan")


def test_upgrade_names_usernames_that_differ_only_in_case(
    make_app, database_url, tmp_path
):
    """Clashing names stop `flask db upgrade` with a list of them and what to do."""
    app = migrated_to(make_app, database_url, tmp_path, "3c1f5e9a7b20")
    add_raw_users(app, "Susan", "john", "susan", "mary", "JOHN", "SUSAN")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "--directory", MIGRATIONS])
    assert result.exit_code == 1
    assert "differ only in case" in result.output
    assert "Susan (id 1), susan (id 3), SUSAN (id 6)" in result.output
    assert "john (id 2), JOHN (id 5)" in result.output
    assert "mary" not in result.output
    assert "Rename all but one account of each group" in result.output
    assert "IntegrityError" not in result.output
    with app.app_context():
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version == "3c1f5e9a7b20"
        # What the message says to do: rename, then upgrade again.
        renames = {3: "susan2", 6: "susan3", 5: "john2"}
        for user_id, username in renames.items():
            db.session.execute(
                sa.text('UPDATE "user" SET username = :name WHERE id = :id'),
                {"name": username, "id": user_id},
            )
        db.session.commit()
    result = runner.invoke(args=["db", "upgrade", "--directory", MIGRATIONS])
    assert result.exit_code == 0, result.output
