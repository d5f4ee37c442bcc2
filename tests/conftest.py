"""Fixtures: an app per test on its own database, a client, a CLI runner, mail."""

import html
import os
import re
import socket
import time
import uuid
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from alembic.migration import MigrationContext
from flask_mail import email_dispatched

from app import create_app, db, limiter
from app.health import migrations
from app.models import User
from config import Config

# Fixtures for tests that run the app as deployed, and a PostgreSQL they own.
pytest_plugins = ["tests.deployment", "tests.cluster"]

PASSWORD = "tangerine lamp orbit 42"
BASE_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite://")


class TestConfig(Config):
    """Settings for tests: throwaway database, mail delivered inline, no limits."""

    TESTING = True
    SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
    SQLALCHEMY_DATABASE_URI = BASE_DATABASE_URL
    SERVER_NAME = "app.example.com"
    PREFERRED_URL_SCHEME = "https"
    WTF_CSRF_ENABLED = False
    MAIL_SERVER = None
    MAIL_DELIVERY = "inline"
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = False
    ARGON2_MEMORY_COST = 1024
    ARGON2_TIME_COST = 1
    # make_app builds the schema after the factory has run.
    SCHEMA_CHECK_AT_START = False


def service_missing(reason: str):
    """A needed server is not running: fail in CI, skip (saying why) elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: every service must be there)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def database_url():
    """SQLite in memory, or a fresh PostgreSQL database for this run."""
    if not BASE_DATABASE_URL.startswith("postgresql"):
        yield BASE_DATABASE_URL
        return
    name = f"microblog_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(BASE_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        service_missing(f"PostgreSQL at {BASE_DATABASE_URL} is not reachable: {error}")
    url = sa.make_url(BASE_DATABASE_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url():
    """The Redis server tests may use, or a clear skip (a failure in CI)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        service_missing(f"Redis at {url} is not reachable: {error}")
    return url


@pytest.fixture
def make_app(database_url):
    """Build apps with extra settings; each gets empty tables."""
    built = []

    def factory(**settings):
        config = type(
            "Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url}
        )
        for key, value in settings.items():
            setattr(config, key, value)
        app = create_app(config)
        with app.app_context():
            db.drop_all()
            db.create_all()
            with db.engine.begin() as connection:
                # As `flask db upgrade` leaves it, so /healthz finds it at head.
                MigrationContext.configure(connection).stamp(
                    migrations(app.extensions["migrate"].directory), "heads"
                )
            # memory:// counters outlive an app; Redis ones are per-test prefixed.
            config = app.config
            if config["RATELIMIT_ENABLED"] and config["RATELIMIT_STORAGE_URI"] == (
                "memory://"
            ):
                limiter.reset()
        built.append(app)
        return app

    factory.built = built
    yield factory
    for app in built:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    """The app under test with the default test settings."""
    return make_app()


@pytest.fixture
def client(app):
    """A browser-like test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for `flask` CLI commands."""
    return app.test_cli_runner()


@pytest.fixture
def outbox():
    """Every message any app hands to the mail server during the test."""
    messages = []

    def record(message, app):
        messages.append(message)

    email_dispatched.connect(record)
    yield messages
    email_dispatched.disconnect(record)


@pytest.fixture
def make_user(make_app, request):
    """Create a user in the newest app and return its id (not an instance)."""

    def factory(username="susan", email=None, password=PASSWORD, **fields):
        newest = make_app.built[-1] if make_app.built else None
        app = newest or request.getfixturevalue("app")
        with app.app_context():
            user = User(username=username, email=email or f"{username}@example.org")
            if password is not None:
                user.set_password(password)
            for name, value in fields.items():
                setattr(user, name, value)
            db.session.add(user)
            db.session.commit()
            return user.id

    return factory


@pytest.fixture
def csrf_app(make_app, make_user):
    """An app that checks CSRF tokens, with users susan and john."""
    app = make_app(WTF_CSRF_ENABLED=True)
    make_user("susan")
    make_user("john")
    return app


def field_error(response, field):
    """The error text shown under field's input, or None when there is none."""
    page = response.get_data(as_text=True)
    match = re.search(rf'<div id="{field}-error"[^>]*>(.*?)</div>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


class AuthActions:
    """Log in and out through the real forms."""

    def __init__(self, client):
        self._client = client

    def login(self, username="susan", password=PASSWORD, remember=False):
        """POST the login form."""
        data = {"username": username, "password": password}
        if remember:
            data["remember_me"] = "y"
        return self._client.post("/login", data=data)

    def logout(self):
        """POST the logout form."""
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    """Login helper bound to the test client."""
    return AuthActions(client)


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Poll predicate until it is true or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What a real SMTP server on loopback received, parsed."""

    def __init__(self):
        self.messages = []
        self.peers = []
        self.mail_options = []

    async def handle_DATA(self, server, session, envelope):
        """Keep each message with its envelope, and the sender's port."""
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        self.peers.append(session.peer)
        self.mail_options.append(envelope.mail_options)
        return "250 Message accepted for delivery"


@pytest.fixture
def start_smtp():
    """Start real SMTP servers (aiosmtpd on loopback) with any handler and options."""
    controllers = []

    def start(handler=None, port=None, **options):
        handler = Inbox() if handler is None else handler
        controller = Controller(
            handler, hostname="127.0.0.1", port=port or free_port(), **options
        )
        controller.start()
        controllers.append(controller)
        handler.port = controller.port
        return handler

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_smtp):
    """A real SMTP server that keeps what it receives (an Inbox)."""
    return start_smtp()


@pytest.fixture
def smtp_app(make_app, smtp_server):
    """The app sending through the real SMTP server."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_TIMEOUT=5)
