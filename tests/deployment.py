"""Running the app as deployed, for the tests that need real processes.

gunicorn from the project's venv on a free port, `flask mail worker`, process groups
to signal or kill, a cookie-keeping visitor with real CSRF tokens, and databases the
app can share across processes. Linux only (process groups and /proc).
"""

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email import message_from_bytes, policy
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import free_port, service_missing, wait_for

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
RESET_SUBJECT = "[Microblog] Reset your password"
USERS = 200
CLIENTS = 50
# The delivery thread polls every 5 s: wait longer than that before deciding
# that nothing more is coming.
QUIET_SECONDS = 6.5
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def tail(path: Path, size: int = 4000) -> str:
    """The end of a log file, for failure messages."""
    if not path.exists():
        return f"({path.name} missing)"
    return path.read_text(errors="replace")[-size:]


# --- Databases --------------------------------------------------------------


def postgres_or_skip() -> sa.Engine:
    """An AUTOCOMMIT engine on the server; skip (or fail under CI) without one."""
    admin = sa.create_engine(
        POSTGRES_URL,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
        poolclass=sa.NullPool,
    )
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        service_missing(f"PostgreSQL is unreachable at {POSTGRES_URL}: {error.orig}")
    return admin


@pytest.fixture(params=["sqlite", "postgresql"])
def app_database(request, tmp_path):
    """An empty database for the deployed app: a SQLite file or a new PostgreSQL db.

    Overrides conftest's in-memory default: separate processes need a shared one.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'microblog.db'}"
        return
    admin = postgres_or_skip()
    name = f"microblog_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        admin.dispose()


def query(url: str, sql: str, **params) -> list[tuple]:
    """Run one read-only query against the app's database from the test process."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def outbox_counts(url: str, kind: str = "password_reset") -> dict[str, int]:
    """How many outbox rows of a kind (reset mail unless said) are in each status.

    Every sign-up also queues its confirmation; these tests count the resets.
    """
    sql = "SELECT status, count(*) FROM outbox WHERE kind = :kind GROUP BY status"
    return dict(query(url, sql, kind=kind))


# --- Mail -------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every message with its envelope recipients.

    With hold_until=N, the first messages wait in DATA (up to hold seconds) until
    N deliveries are in flight at once: proof that N senders held a claim at the
    same moment.
    """

    def __init__(self, hold_until: int = 0, hold: float = 5.0, only: str | None = None):
        self.messages = []
        self.only = only  # keep only messages with this subject (accept the rest)
        self.hold_until = hold_until
        self.hold = hold
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle_DATA(self, server, session, envelope):
        """Record the message (after the optional hold)."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            deadline = time.monotonic() + self.hold
            while self.max_in_flight < self.hold_until and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            message = message_from_bytes(
                envelope.original_content, policy=policy.default
            )
            if self.only is None or message["Subject"] == self.only:
                self.messages.append((list(envelope.rcpt_tos), message))
            return "250 Message accepted for delivery"
        finally:
            self.in_flight -= 1

    def recipients(self) -> list[str]:
        """Every envelope recipient of every message, in arrival order."""
        return [rcpt for rcpt_tos, _ in self.messages for rcpt in rcpt_tos]


# --- Processes --------------------------------------------------------------


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group pgid, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def stop_group(process: subprocess.Popen, sig=signal.SIGTERM, timeout=10.0) -> None:
    """Signal a whole process group, then SIGKILL whatever is left after timeout."""
    for signum, wait in ((sig, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if wait_for(lambda: not group_members(process.pid), wait):
            return
    assert not group_members(process.pid), "processes survived SIGKILL"


class Deployment:
    """One app deployment: environment, migrations, gunicorn and CLI commands."""

    def __init__(
        self,
        tmp_path: Path,
        app_database: str,
        mail_port: int,
        root: Path = ROOT,
        **settings,
    ):
        self.tmp_path = tmp_path
        self.app_database = app_database
        self.root = root  # the tracked files, with their venv in .venv
        self.bin = root / ".venv" / "bin"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_dir = tmp_path / "logs"
        self.env = {
            "PATH": f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "FLASK_APP": "microblog.py",
            "SECRET_KEY": secrets.token_hex(32),
            "SERVER_NAME": f"127.0.0.1:{self.port}",
            "PREFERRED_URL_SCHEME": "http",
            "SESSION_COOKIE_SECURE": "false",
            "DATABASE_URL": app_database,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(mail_port),
            "MAIL_TIMEOUT": "20",
            "RATELIMIT_ENABLED": "false",
            "LOG_DIR": str(self.log_dir),
        }
        self.env.update({key: str(value) for key, value in settings.items()})
        self.servers: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.starts = 0

    def flask(self, *args: str, timeout: float = 60, **settings) -> str:
        """Run `flask ARGS` as an operator would; return its output."""
        result = subprocess.run(
            [str(self.bin / "flask"), *args],
            cwd=self.root,
            env={**self.env, **settings},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, (
            f"flask {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    def spawn(self, args: list[str], log_name: str, **settings) -> subprocess.Popen:
        """Start args in the deployment's folder, in its own process group."""
        log = self.tmp_path / f"{log_name}.log"
        with open(log, "w") as output:
            process = subprocess.Popen(
                args,
                cwd=self.root,
                env={**self.env, **{k: str(v) for k, v in settings.items()}},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process.log = log
        return process

    def start(self, probe_http: bool = True, **settings) -> subprocess.Popen:
        """Start gunicorn (4 workers) in its own process group; wait until ready.

        Ready means GET /login answers 200, or with probe_http=False only that
        the port accepts connections, so that no request reaches the app.
        """
        self.starts += 1
        self.env.update({key: str(value) for key, value in settings.items()})
        command = [str(self.bin / "gunicorn"), "--no-control-socket", "-w", "4"]
        command += ["-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5"]
        process = self.spawn([*command, "microblog:app"], f"gunicorn-{self.starts}")
        self.servers.append(process)
        self.wait_until_serving(process, probe_http)
        assert wait_for(lambda: len(group_members(process.pid)) == 5, 10), (
            f"expected a master and 4 workers, found {group_members(process.pid)}"
        )
        return process

    def wait_until_serving(self, process: subprocess.Popen, probe_http=True) -> None:
        """Wait until GET /login answers 200 (or only the port accepts connections)."""

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{tail(process.log)}")
            try:
                if not probe_http:
                    socket.create_connection(("127.0.0.1", self.port), 1).close()
                    return True
                return Browser(self.base_url).get("/login")[0] == 200
            except OSError:
                return False

        assert wait_for(ready, 30, 0.2), (
            f"gunicorn never got ready:\n{tail(process.log)}"
        )

    def kill_9(self, process: subprocess.Popen) -> None:
        """kill -9 the gunicorn master and every worker at once (the whole group)."""
        members = group_members(process.pid)
        assert len(members) == 5, members
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        assert wait_for(lambda: not group_members(process.pid), 10), (
            f"survived kill -9: {group_members(process.pid)}"
        )

    def start_worker(self, **settings) -> subprocess.Popen:
        """Start a `flask mail worker` process in its own process group."""
        name = f"worker-{len(self.workers) + 1}"
        process = self.spawn(
            [str(self.bin / "flask"), "mail", "worker"], name, **settings
        )
        self.workers.append(process)
        return process

    def logs(self) -> str:
        """Everything the deployed processes wrote: gunicorn, workers, app log."""
        paths = [*(p.log for p in self.servers + self.workers)]
        paths += sorted(self.log_dir.glob("microblog.log*"))
        return "\n".join(path.read_text(errors="replace") for path in paths)

    def stop(self) -> None:
        """Stop every process this deployment started, bounded in time."""
        for process in self.servers + self.workers:
            stop_group(process)


@pytest.fixture
def deploy(tmp_path):
    """Build deployments (migrated on creation); every process stops afterwards."""
    deployments = []

    def build(app_database: str, mail_port: int, **settings) -> Deployment:
        deployment = Deployment(tmp_path, app_database, mail_port, **settings)
        deployments.append(deployment)
        deployment.flask("db", "upgrade")
        return deployment

    yield build
    for deployment in deployments:
        deployment.stop()


# --- A browser --------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand redirects back to the caller, who asserts on them."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One visitor: their own cookie jar, no proxy, no automatic redirects."""

    def __init__(self, base_url: str, headers: dict | None = None):
        self.base_url = base_url
        self.headers = headers or {}  # sent with every request (Accept-Language)
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(CookieJar()),
            NoRedirect(),
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, body, Location) for a GET, or a form POST when data is given."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        url = self.base_url + path  # always http://127.0.0.1:PORT/...
        request = urllib.request.Request(url, data=body, headers=self.headers)  # noqa: S310
        try:
            with self.opener.open(request, timeout=60) as response:
                return (
                    response.status,
                    response.read().decode(errors="replace"),
                    response.headers.get("Location", ""),
                )
        except urllib.error.HTTPError as error:
            with error:
                return (
                    error.code,
                    error.read().decode(errors="replace"),
                    error.headers.get("Location", ""),
                )

    def get(self, path: str) -> tuple[int, str, str]:
        """GET path."""
        return self.request(path)

    def submit(self, path: str, fields: dict) -> tuple[int, str, str]:
        """GET the form at path, then POST fields with its CSRF token."""
        status, page, _ = self.get(path)
        if status != 200:
            return status, page, ""
        token = CSRF_FIELD.search(page)
        assert token, f"no CSRF token on {path}"
        return self.request(path, {"csrf_token": token.group(1), **fields})


def username(number: int) -> str:
    return f"user{number:03d}"


def email(number: int) -> str:
    return f"{username(number)}@example.org"


def register_and_request_reset(base_url: str, number: int) -> list[str]:
    """One visitor's story; returns what went wrong (nothing, normally)."""
    problems = []
    browser = Browser(base_url)
    password = f"violet harbour kettle {number:03d} drifts"  # >= 15, not personal
    steps = [
        (
            "/register",
            {
                "username": username(number),
                "email": email(number),
                "password": password,
                "password2": password,
                "submit": "Register",
            },
        ),
        ("/reset_password_request", {"email": email(number), "submit": "Send"}),
    ]
    for path, fields in steps:
        try:
            status, body, location = browser.submit(path, fields)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            problems.append(f"{username(number)} {path}: {error!r}")
            continue
        if status != 302 or urllib.parse.urlsplit(location).path != "/login":
            snippet = " ".join(re.sub(r"<[^>]+>", " ", body).split())[:300]
            problems.append(
                f"{username(number)} POST {path}: {status} -> {location!r} {snippet}"
            )
    return problems


def reset_mails(mailbox: Mailbox) -> list:
    """The reset mails the server received."""
    return [m for _, m in mailbox.messages if m["Subject"] == RESET_SUBJECT]
