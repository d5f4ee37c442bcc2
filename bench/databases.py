"""The bench's databases: a seeded SQLite file, or a throwaway PostgreSQL database."""

import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from bench.servers import BIN, ROOT, app_env

# The machine's own PostgreSQL server; the bench makes (and drops) its own database.
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
# Each database the page figures run on, by the name tables give it.
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def migrate_and_seed(url: str, users: int, posts: int) -> None:
    """`flask db upgrade` url, then fill it with bench/seed.py."""
    env = {**os.environ, **app_env(url, 25, 5000)}
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True)
    seed_code = (
        "from app import create_app; from bench.seed import seed; from config import"
        " Config; app = create_app(Config);\n"
        f"with app.app_context(): seed({users}, {posts})"
    )
    env["MAIL_DELIVERY"] = "worker"
    subprocess.run([sys.executable, "-c", seed_code], cwd=ROOT, env=env, check=True)


def seeded_database(directory: Path, users: int, posts: int) -> str:
    """A migrated SQLite file holding users and posts (made once per run)."""
    path = directory / f"bench-{posts}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        migrate_and_seed(url, users, posts)
    return url


@contextlib.contextmanager
def postgres_database(users: int, posts: int, server: str = POSTGRES_URL):
    """A new, migrated, seeded database on the PostgreSQL server; dropped after."""
    name = f"bench_{posts}_{secrets.token_hex(4)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        shown = sa.make_url(server).render_as_string(hide_password=True)
        raise RuntimeError(
            f"PostgreSQL at {shown} is not reachable (set BENCH_POSTGRES_URL, "
            f"or run with --databases sqlite): {error.orig}"
        ) from error
    try:
        url = sa.make_url(server).set(database=name)
        url = url.render_as_string(hide_password=False)
        migrate_and_seed(url, users, posts)
        analyze(url)
        yield url
    finally:
        # FORCE (PostgreSQL 13+) ends any connection a failed run left behind.
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        admin.dispose()


def analyze(url: str) -> None:
    """Give the planner statistics now, as autovacuum would have in a live site."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


@contextlib.contextmanager
def bench_database(kind: str, directory: Path, users: int, posts: int):
    """The URL of a kind ("sqlite", "postgresql") database holding users and posts."""
    if kind == "sqlite":
        yield seeded_database(directory, users, posts)
        return
    with postgres_database(users, posts) as url:
        yield url


def pending_mail(database: str) -> int:
    """How many messages wait in the outbox right now."""
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        query = "SELECT count(*) FROM outbox WHERE status = 'pending'"
        count = connection.execute(sa.text(query)).scalar_one()
    engine.dispose()
    return count
