"""The migrations build exactly the schema the models describe, on either database."""

import os

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import db

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
