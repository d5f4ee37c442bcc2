"""Settings read from the environment (and a local `.env`); see README "Configure"."""

import os

from dotenv import load_dotenv

basedir = os.path.abspath(os.path.dirname(__file__))
load_dotenv(os.path.join(basedir, ".env"))


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_optional_bool(name: str) -> bool | None:
    """Read a yes/no environment variable; None when it is not set."""
    value = os.environ.get(name, "").strip()
    return env_bool(name) if value else None


def env_int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [
        item.strip() for item in os.environ.get(name, "").split(",") if item.strip()
    ]


class Config:
    """Production-safe defaults; development and tests relax them explicitly."""

    # No fallback: create_app refuses to start without a key outside debug and testing.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
    # A relative SQLite path lands in the instance folder (Flask-SQLAlchemy 3).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "sqlite:///microblog.db"
    # Seconds to wait for a connection (or, on SQLite, for a lock) before the
    # request gets a 503; pooled connections older than DATABASE_POOL_RECYCLE are
    # replaced, and every one is pinged before use.
    DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5)
    DATABASE_BUSY_TIMEOUT = env_int("DATABASE_BUSY_TIMEOUT", 30)
    DATABASE_POOL_RECYCLE = env_int("DATABASE_POOL_RECYCLE", 1800)
    # /healthz rereads the schema's revision (alembic_version) at most this often;
    # serving processes say at start-up when it is behind the migrations.
    SCHEMA_RECHECK_SECONDS = 5
    SCHEMA_CHECK_AT_START = True

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER") or "microblog@localhost"
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)
    MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 8)
    # Whether the mail server (relay) speaks SMTPUTF8, so addresses with letters
    # beyond ASCII before the @ may be registered. Off: the forms refuse them
    # (a domain beyond ASCII is fine either way: it is sent IDNA-encoded).
    MAIL_SMTPUTF8 = env_bool("MAIL_SMTPUTF8")
    # "thread": each app process delivers queued mail itself; "worker": only
    # `flask mail worker` does; "inline": after each request (tests).
    MAIL_DELIVERY = os.environ.get("MAIL_DELIVERY") or "thread"
    ADMINS = env_list("ADMINS")

    # Emailed links are built from these, never from the request's Host header.
    SERVER_NAME = os.environ.get("SERVER_NAME")
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME") or "https"
    TRUSTED_HOSTS = env_list("TRUSTED_HOSTS") or None
    # How many proxies in front set X-Forwarded-For / -Proto / -Host (0: none).
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_PROTO = env_int("PROXY_FIX_X_PROTO", 0)
    PROXY_FIX_X_HOST = env_int("PROXY_FIX_X_HOST", 0)

    POSTS_PER_PAGE = env_int("POSTS_PER_PAGE", 25)
    RESET_TOKEN_EXPIRES = env_int("RESET_TOKEN_EXPIRES", 30 * 60)
    CONFIRM_EMAIL_EXPIRES = env_int("CONFIRM_EMAIL_EXPIRES", 3 * 24 * 3600)
    CHANGE_EMAIL_EXPIRES = env_int("CHANGE_EMAIL_EXPIRES", 24 * 3600)
    REVERT_EMAIL_EXPIRES = env_int("REVERT_EMAIL_EXPIRES", 7 * 24 * 3600)
    PASSWORD_MIN_LENGTH = 15
    PASSWORD_MAX_LENGTH = 128
    # Off by default: when on, 5 hex digits of each new password's SHA-1 leave the
    # machine (Pwned Passwords' k-anonymity range API); failures let the password by.
    PASSWORD_BREACH_CHECK = env_bool("PASSWORD_BREACH_CHECK")
    PASSWORD_BREACH_API = (
        os.environ.get("PASSWORD_BREACH_API") or "https://api.pwnedpasswords.com/range/"
    )
    PASSWORD_BREACH_TIMEOUT = float(os.environ.get("PASSWORD_BREACH_TIMEOUT") or 2)
    # argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane).
    ARGON2_MEMORY_COST = env_int("ARGON2_MEMORY_COST", 19 * 1024)
    ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 2)

    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # If Redis is unreachable, keep serving and keep limiting within each process.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RESET_REQUESTS_PER_ADDRESS = os.environ.get("RESET_REQUESTS_PER_ADDRESS") or (
        "3/hour"
    )
    CONFIRM_RESENDS_PER_ACCOUNT = (
        os.environ.get("CONFIRM_RESENDS_PER_ACCOUNT") or "1/minute;5/day"
    )

    # The second factor: sensitive changes need a sign-in this recent (seconds);
    # a right password waits this long for its code, allowing this many wrong
    # ones; an account takes at most this many wrong codes an hour in all.
    REAUTHENTICATE_AFTER = env_int("REAUTHENTICATE_AFTER", 600)
    TWO_FACTOR_SIGN_IN_SECONDS = 5 * 60
    TWO_FACTOR_CODES_PER_SIGN_IN = 5
    TWO_FACTOR_FAILURES_PER_HOUR = env_int("TWO_FACTOR_FAILURES_PER_HOUR", 10)

    # Ended and long-idle session records are forgotten after this many days.
    SESSIONS_KEPT_DAYS = env_int("SESSIONS_KEPT_DAYS", 30)

    MAX_CONTENT_LENGTH = 64 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Unset: Secure exactly when PREFERRED_URL_SCHEME is https (create_app decides).
    SESSION_COOKIE_SECURE = env_optional_bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    BOOTSTRAP_SERVE_LOCAL = True  # no CDN: pages work offline, nothing third-party
    LOG_DIR = os.environ.get("LOG_DIR") or os.path.join(basedir, "logs")
    # For the bench: each gunicorn worker writes its page stores' counters here at exit.
    PAGE_STORE_STATS_DIR = os.environ.get("PAGE_STORE_STATS_DIR")
