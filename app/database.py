"""The database connection: engine settings, SQLite tuning, and what "down" means."""

import sqlalchemy as sa

# Errors that mean the database can't answer right now (refused, restarted, cut,
# locked past the busy timeout, pool exhausted), as opposed to a bug in a query.
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
# How the drivers say a table or column the code uses doesn't exist: the schema
# is behind the code. SQLite's messages; PostgreSQL's SQLSTATEs, as psycopg's
# UndefinedTable and UndefinedColumn carry them.
SQLITE_MISSING = ("no such table", "no such column", "has no column named")
POSTGRESQL_MISSING = {"42P01", "42703"}
# What a 503 asks clients (and load balancers) to wait before trying again.
RETRY_AFTER_SECONDS = 30


def engine_options(config) -> dict:
    """Pool and connect settings from the config, so outages fail fast and heal."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        # sqlite3's timeout is its busy timeout: how long a writer waits for a lock.
        options.setdefault("connect_args", {"timeout": config["DATABASE_BUSY_TIMEOUT"]})
        return options
    # A restart or a firewall that cut an idle connection would otherwise fail the
    # first request on each pooled connection; the ping costs a round trip.
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_recycle", config["DATABASE_POOL_RECYCLE"])
    options.setdefault("pool_timeout", config["DATABASE_CONNECT_TIMEOUT"])
    if url.startswith("postgresql"):
        options.setdefault(
            "connect_args", {"connect_timeout": config["DATABASE_CONNECT_TIMEOUT"]}
        )
    return options


def schema_missing(error: Exception) -> bool:
    """Whether error says a table or column is missing (the database isn't migrated)."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in POSTGRESQL_MISSING:
        return True
    return isinstance(error, sa.exc.OperationalError) and any(
        words in str(original) for words in SQLITE_MISSING
    )


def reason(error: Exception) -> str:
    """The driver's own words for error, on one line."""
    original = getattr(error, "orig", None) or error
    text = " ".join(str(original).split()) or type(original).__name__
    return f"{type(original).__name__}: {text[:300]}"


@sa.event.listens_for(sa.engine.Engine, "connect")
def tune_sqlite(dbapi_connection, connection_record) -> None:
    """WAL lets readers and a writer share the embedded file across processes."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # Rails' default too: in WAL mode a commit survives a killed process
        # without waiting for fsync; only a power cut can lose the last ones.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
