"""What the bench runs and drives: gunicorn, wrk, an SMTP sink, a cookie browser."""

import asyncio
import contextlib
import dataclasses
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BENCH = Path(__file__).resolve().parent
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KNOWN, UNKNOWN = "user1@example.org", "nobody@example.org"
# Both the app and the ceiling run with the project's own gunicorn.conf.py.
GUNICORN = ["--no-control-socket", "-c", "gunicorn.conf.py", "--log-level", "warning"]


# wrk sends the User-Agent the session signed in with, as a browser would: with
# another one, Flask-Login's session protection rewrites the session cookie on
# every response (and wrk never keeps the new one).
USER_AGENT = "microblog-bench"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """An SMTP server on loopback that accepts everything, after an optional delay."""

    def __init__(self, delay: float = 0.0, port: int | None = None):
        self.delay, self.count, self.port = delay, 0, port or free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        """Accept the message (slowly, if asked to)."""
        await asyncio.sleep(self.delay)
        self.count += 1
        return "250 OK"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc_info):
        self.controller.stop()


@dataclasses.dataclass(frozen=True)
class Server:
    """A running gunicorn: its base URL and its master's process id."""

    url: str
    pid: int


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict, cwd: Path = ROOT):
    """Serve app_spec on a free port; yield the Server; stop the whole group."""
    port = int(env.get("BENCH_PORT") or free_port())
    command = [str(BIN / "gunicorn"), *GUNICORN, "-b", f"127.0.0.1:{port}", app_spec]
    url = f"http://127.0.0.1:{port}"
    # The server's own output (the app's audit log included) goes to a file, as
    # in a deployment: a terminal scrolling thousands of lines would slow it.
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_serving(url, command, log)
            yield Server(url, server.pid)
        finally:
            stop_group(server)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM process's group; SIGKILL it if it is still there after 15 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_serving(url: str, command: list, log) -> None:
    """Return once url answers; fail with the server's output after 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url + "/", timeout=1)
            return
        time.sleep(0.2)
    log.seek(0)
    raise RuntimeError(f"gunicorn did not start: {command}\n{log.read().decode()}")


def app_env(database: str, mail_port: int, port: int) -> dict:
    """Production-like settings for a benchmark run (limits off: one client IP)."""
    return {
        "SECRET_KEY": secrets.token_hex(32),
        "SERVER_NAME": f"127.0.0.1:{port}",
        "BENCH_PORT": str(port),
        "PREFERRED_URL_SCHEME": "http",
        "SESSION_COOKIE_SECURE": "false",
        "DATABASE_URL": database,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail_port),
        "MAIL_TIMEOUT": "5",
        "RATELIMIT_ENABLED": "false",
        "LOG_DIR": tempfile.mkdtemp(prefix="bench-logs-"),
        "FLASK_APP": "microblog.py",
    }


@contextlib.contextmanager
def serve_app(database: str, mail_port: int, delivery: str = "thread"):
    """gunicorn serving microblog; with delivery="worker", plus `flask mail worker`.

    The outbox starts empty: mail left over from an earlier measurement would
    otherwise be delivered during this one and skew it.
    """
    engine = sa.create_engine(database)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM outbox"))
    engine.dispose()
    env = app_env(database, mail_port, free_port()) | {"MAIL_DELIVERY": delivery}
    with gunicorn("microblog:app", env) as server:
        if delivery != "worker":
            yield server
            return
        # At a lower CPU priority, as README "Deploy" runs it: mail waits for pages.
        worker = subprocess.Popen(
            ["nice", "-n", "10", str(BIN / "flask"), "mail", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield server
        finally:
            stop_group(worker)


def worker_memory(master: int) -> dict[int, float]:
    """Each of a gunicorn master's workers' resident memory in MiB, by process id."""
    memory = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):  # a process that just ended
            fields = proc_status(status)
            if fields.get("PPid") == str(master) and "VmRSS" in fields:
                memory[int(status.parent.name)] = int(fields["VmRSS"].split()[0]) / 1024
    return dict(sorted(memory.items()))


def proc_status(path: Path) -> dict[str, str]:
    """A /proc/<pid>/status file as a dict of its fields."""
    lines = path.read_text().splitlines()
    return {key: value.strip() for key, _, value in (i.partition(":") for i in lines)}


def wrk(
    url: str,
    seconds: int,
    body="",
    cookie="",
    headers=None,
    script: Path | None = None,
    script_env: dict | None = None,
) -> dict:
    """Requests per second, p50 and p99 (ms) from wrk; errors must be zero.

    body: POST it (with cookie) through post.lua; headers: extra ones to send;
    script: a wrk script of its own making each request, reading script_env.
    """
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url]
    command[1:1] = ["-H", f"User-Agent: {USER_AGENT}"]
    env = dict(os.environ)
    if script:
        command[1:1] = ["-s", str(script)]
        env |= script_env or {}
    elif body:
        command[1:1] = ["-s", str(BENCH / "post.lua")]
        env |= {"BENCH_BODY": body, "BENCH_COOKIE": cookie}
    elif cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    for name, value in (headers or {}).items():
        command[1:1] = ["-H", f"{name}: {value}"]
    output = subprocess.run(
        command, capture_output=True, text=True, env=env, check=True
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if bad or errors:
        raise RuntimeError(f"wrk saw failures on {url}:\n{output}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency(output, "50%"),
        "p99": latency(output, "99%"),
    }


def latency(output: str, percentile: str) -> float:
    """A percentile line of wrk's --latency table, in milliseconds."""
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class Browser:
    """A cookie-keeping HTTP client that can fill in CSRF tokens."""

    def __init__(self, base: str):
        self.base, self.jar = base, CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def get(self, path: str, headers: dict | None = None) -> str:
        """GET path (a redirect or an error raises HTTPError); return the page."""
        request = urllib.request.Request(self.base + path, headers=headers or {})
        with self.opener.open(request, timeout=30) as response:
            return response.read().decode()

    def form(self, path: str, **fields) -> str:
        """The urlencoded body for path's form, with a fresh CSRF token."""
        token = CSRF_FIELD.search(self.get(path)).group(1)
        return urllib.parse.urlencode({"csrf_token": token, **fields})

    def post(self, path: str, body: str) -> int:
        """POST body to path; return the status code."""
        request = urllib.request.Request(self.base + path, data=body.encode())
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    @property
    def cookie(self) -> str:
        """The Cookie header this client would send."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report redirects instead of following them."""

    def redirect_request(self, *args, **kwargs):
        return None


def reset_bodies(url: str) -> tuple[Browser, dict]:
    """A visitor and a CSRF-valid reset form body (for its session) per address."""
    visitor = Browser(url)
    bodies = {
        a: visitor.form("/reset_password_request", email=a) for a in (KNOWN, UNKNOWN)
    }
    return visitor, bodies
