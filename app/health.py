"""`GET /healthz`: whether this process can serve, for load balancers and systemd.

It can when the database answers and its schema is at the migrations' head.
"""

import time
from functools import lru_cache

import click
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app

from app import db, limiter
from app.database import RETRY_AFTER_SECONDS, UNAVAILABLE, reason, schema_missing

bp = Blueprint("health", __name__)

NOT_MIGRATED = "Database not migrated"
# Where `flask db upgrade` records the revision it took the schema to.
VERSIONS = sa.table("alembic_version", sa.column("version_num"))
# A health check that hangs is worse than one that fails: cap the query.
STATEMENT_TIMEOUT_MS = 2000


@lru_cache
def migrations(directory: str) -> ScriptDirectory:
    """The migrations in directory, read once per process."""
    return ScriptDirectory(directory)


class Schema:
    """The migrations' head, and whether the database was at it when last read."""

    def __init__(self, directory: str, recheck_seconds: float):
        script = migrations(directory)
        self.heads = set(script.get_heads())
        self.known = {revision.revision for revision in script.walk_revisions()}
        self.recheck_seconds = recheck_seconds
        self.read_at: float | None = None
        self.behind: str | None = None

    def problem(self, connection=None, fresh: bool = False) -> str | None:
        """How far behind the schema is (None at head), reread every recheck_seconds."""
        now = time.monotonic()
        fresh = fresh or self.read_at is None
        if not fresh and now - self.read_at < self.recheck_seconds:
            return self.behind
        if connection is None:
            with db.engine.connect() as connection:
                return self.problem(connection, fresh=True)
        current = set()
        if sa.inspect(connection).has_table(VERSIONS.name):
            current = set(connection.scalars(sa.select(VERSIONS.c.version_num)))
        self.behind, self.read_at = self.describe(current), now
        return self.behind

    def describe(self, current: set[str]) -> str | None:
        """None when current is the head, or newer (a later release migrated it)."""
        if current == self.heads or current - self.known:
            return None
        at, needs = (
            ",".join(sorted(heads)) or "none" for heads in (current, self.heads)
        )
        return f"schema at {at}, code needs {needs}: run flask db upgrade"


def init_app(app: Flask) -> None:
    """Know the head now; when serving, say at once if the schema is behind it."""
    directory = app.extensions["migrate"].directory
    schema = Schema(directory, app.config["SCHEMA_RECHECK_SECONDS"])
    app.extensions["schema"] = schema
    if not (app.config["SCHEMA_CHECK_AT_START"] and serving()):
        return
    with app.app_context():
        try:
            if behind := schema.problem():
                app.logger.warning(behind)
        except UNAVAILABLE as error:
            app.logger.warning("Database unavailable at start-up: %s", reason(error))
        # No pooled connection outlives start-up into a forked worker.
        db.engine.dispose()


def serving() -> bool:
    """Whether this process serves requests (WSGI server or `flask run`)."""
    context = click.get_current_context(silent=True)
    return context is None or context.info_name == "run"


def database_trouble(error: Exception) -> tuple[str, str] | None:
    """What is wrong with the database and the line saying so; None: a bad query."""
    if schema_missing(error):
        return NOT_MIGRATED, schema_line(error)
    if isinstance(error, UNAVAILABLE):
        return "Database unavailable", reason(error)
    return None


def schema_line(error: Exception) -> str:
    """The schema line for a missing table or column, else the driver's words."""
    schema = current_app.extensions["schema"]
    try:
        # The cached answer may predate a downgrade: reread it if it says "at head".
        return schema.problem() or schema.problem(fresh=True) or reason(error)
    except UNAVAILABLE:
        return reason(error)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 when the database answers quickly and its schema is at head, else 503."""
    headers = {"Cache-Control": "no-store", "Content-Type": "text/plain"}
    try:
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                )
            connection.execute(sa.text("SELECT 1"))
            behind = current_app.extensions["schema"].problem(connection)
    except UNAVAILABLE as error:
        current_app.logger.warning("healthz: database unavailable: %s", reason(error))
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return "database unavailable\n", 503, headers
    if behind:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return f"{behind}\n", 503, headers
    return "ok\n", 200, headers
