"""`make bench`: microblog's speed and scale, as ratios to baselines of the same run.

Starts the app under gunicorn on loopback, seeds data, drives load with wrk, and
prints a table (also written to docs/benchmarks.md with a plot). Every figure is
a ratio against something measured in the same run, because the machines are
shared and noisy.
"""

import argparse
import asyncio
import contextlib
import functools
import os
import platform
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bench.seed import PASSWORD, READER

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BENCH = Path(__file__).resolve().parent
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KNOWN, UNKNOWN = "user1@example.org", "nobody@example.org"
FIGURES = ("rps", "p50", "p99")
# Both the app and the ceiling run with the project's own gunicorn.conf.py.
GUNICORN = ["--no-control-socket", "-c", "gunicorn.conf.py", "--log-level", "warning"]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """An SMTP server on loopback that accepts everything, after an optional delay."""

    def __init__(self, delay: float = 0.0):
        self.delay, self.count, self.port = delay, 0, free_port()
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


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict, cwd: Path = ROOT):
    """Serve app_spec on a free port; yield its base URL; stop the whole group."""
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
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def wait_until_serving(url: str, command: list, log) -> None:
    """Return once url answers; fail with the server's output after 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url + "/", timeout=1)  # noqa: S310
            return
        time.sleep(0.2)
    log.seek(0)
    raise RuntimeError(f"gunicorn did not start: {command}\n{log.read().decode()}")


def wrk(url: str, seconds: int, body: str = "", cookie: str = "") -> dict:
    """Requests per second, p50 and p99 (ms) from wrk; errors must be zero."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url]
    env = dict(os.environ)
    if body:
        command[1:1] = ["-s", str(BENCH / "post.lua")]
        env |= {"BENCH_BODY": body, "BENCH_COOKIE": cookie}
    elif cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
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

    def get(self, path: str) -> str:
        """GET path; return the page."""
        with self.opener.open(self.base + path, timeout=30) as response:
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


def seeded_database(directory: Path, users: int, posts: int) -> str:
    """A migrated SQLite file holding users and posts."""
    path = directory / f"bench-{posts}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    env = {**os.environ, **app_env(url, 25, 5000)}
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True)
    seed_code = (
        "from app import create_app; from bench.seed import seed; from config import"
        " Config; app = create_app(Config);\n"
        f"with app.app_context(): seed({users}, {posts})"
    )
    env["MAIL_DELIVERY"] = "worker"
    subprocess.run([sys.executable, "-c", seed_code], cwd=ROOT, env=env, check=True)
    return url


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
    with gunicorn("microblog:app", env) as url:
        if delivery != "worker":
            yield url
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
            yield url
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=15)


def reset_bodies(url: str) -> tuple[Browser, dict]:
    """A visitor and a CSRF-valid reset form body (for its session) per address."""
    visitor = Browser(url)
    bodies = {
        a: visitor.form("/reset_password_request", email=a) for a in (KNOWN, UNKNOWN)
    }
    return visitor, bodies


def against_ceiling(ceiling: str, args, *targets) -> tuple[dict, list[dict]]:
    """wrk on the ceiling, then each target, args.rounds times over; the medians.

    Taking turns spreads the machine's noise over both sides of every ratio: a
    target's "ratio" is the median of its rate over the same round's ceiling.
    The targets' order turns each round, so none always follows another (mail
    queued by one reset run is still being sent during the next).
    """
    ceilings, runs = [], [[] for _ in targets]
    for turn in range(args.rounds):
        ceilings.append(wrk(ceiling + "/", args.seconds))
        order = list(range(len(targets)))
        for index in order[turn % len(order) :] + order[: turn % len(order)]:
            runs[index].append(targets[index]())
    results = []
    for target_runs in runs:
        result = {
            key: statistics.median(run[key] for run in target_runs) for key in FIGURES
        }
        pairs = zip(target_runs, ceilings, strict=True)
        ratio = statistics.median(run["rps"] / top["rps"] for run, top in pairs)
        results.append(result | {"ratio": ratio})
    base = {key: statistics.median(run[key] for run in ceilings) for key in FIGURES}
    return base, results


def throughput(args, directory: Path, sink: Sink) -> tuple[list, dict, dict]:
    """Items 1 and 3: each page's rps and latency at two data sizes.

    Also how much reset mail was still queued when each delivery mode's runs
    ended: what the app answered faster than it could send.
    """
    rows, p50, queued = [], {}, {}

    def add(label, posts, result, ceiling):
        rows.append((label, f"{posts:,}", result, ceiling, result["ratio"]))
        p50[(label, posts)] = result["p50"]

    with gunicorn("bench.baseline:app", {}) as ceiling:
        for users, posts in ((100, 1_000), (10_000, 100_000)):
            database = seeded_database(directory, users, posts)
            with serve_app(database, sink.port) as url:
                reader = Browser(url)
                reader.post(
                    "/login", reader.form("/login", username=READER, password=PASSWORD)
                )
                for label, path, cookie in (
                    ("GET /login", "/login", ""),
                    ("GET /index", "/index", reader.cookie),
                    ("GET /explore", "/explore", reader.cookie),
                    ("GET /user/<name>", "/user/user1", reader.cookie),
                ):
                    get = functools.partial(wrk, url + path, args.seconds, "", cookie)
                    base, (result,) = against_ceiling(ceiling, args, get)
                    add(label, posts, result, base)
            for delivery in ("thread", "worker"):
                with serve_app(database, sink.port, delivery) as url:
                    visitor, bodies = reset_bodies(url)
                    base, results = against_ceiling(
                        ceiling,
                        args,
                        *(
                            functools.partial(
                                wrk,
                                url + "/reset_password_request",
                                args.seconds,
                                bodies[address],
                                visitor.cookie,
                            )
                            for address in (KNOWN, UNKNOWN)
                        ),
                    )
                    queued[(delivery, posts)] = pending_mail(database)
                for label, result in zip(("known", "unknown"), results, strict=True):
                    add(f"POST reset ({label}, {delivery})", posts, result, base)
    return rows, p50, queued


def pending_mail(database: str) -> int:
    """How many messages wait in the outbox right now."""
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        query = "SELECT count(*) FROM outbox WHERE status = 'pending'"
        count = connection.execute(sa.text(query)).scalar_one()
    engine.dispose()
    return count


SMTP_MODES = {"fast": 0.0, "2 s slow": 2.0, "dead": None}


@contextlib.contextmanager
def smtp_behaving(port: int, mode: str):
    """An SMTP server on port that is fast, slow, or not there at all."""
    delay = SMTP_MODES[mode]
    if delay is None:
        yield
        return
    sink = Sink(delay)
    sink.port = port
    sink.controller = Controller(sink, hostname="127.0.0.1", port=port)
    with sink:
        yield


def blindness(args, directory: Path) -> list:
    """Item 2: reset latency with fast, slow and dead SMTP, known vs unknown.

    The mail server changes behind one running app, round after round and in
    a rotating order, so the modes share the machine's noise instead of each
    getting its own moment; a warm-up first keeps start-up costs out of it.
    """
    database = seeded_database(directory, 100, 1_000)
    results, rounds, modes = [], 10, list(SMTP_MODES)
    for delivery in ("thread", "worker"):
        port = free_port()
        times = {(mode, a): [] for mode in SMTP_MODES for a in (KNOWN, UNKNOWN)}
        with serve_app(database, port, delivery) as url:
            visitor, bodies = reset_bodies(url)
            with smtp_behaving(port, "fast"):
                timed_resets(visitor, bodies, 50)
            for turn in range(rounds):
                for mode in modes[turn % 3 :] + modes[: turn % 3]:
                    with smtp_behaving(port, mode):
                        taken = timed_resets(visitor, bodies, args.requests // rounds)
                    for address, elapsed in taken:
                        times[(mode, address)].append(elapsed)
        for mode in SMTP_MODES:
            results.append(
                (
                    f"{mode} ({delivery})",
                    statistics.median(times[(mode, KNOWN)]),
                    statistics.median(times[(mode, UNKNOWN)]),
                )
            )
    return results


def timed_resets(visitor: Browser, bodies: dict, count: int) -> list:
    """count reset requests, known and unknown in turn: (address, ms) each."""
    taken = []
    for _ in range(count // 2):
        for address in (KNOWN, UNKNOWN):
            started = time.perf_counter()
            status = visitor.post("/reset_password_request", bodies[address])
            taken.append((address, (time.perf_counter() - started) * 1000))
            assert status == 302, status
    return taken


def signup_blindness(args, directory: Path, sink: Sink) -> dict:
    """Sign-up with a fresh vs a taken address, interleaved: milliseconds each.

    The taken path must do the same work (the password hash included), so the
    two medians should match; every request gets the same redirect.
    """
    database = seeded_database(directory, 100, 1_000)
    password = "violet harbour kettle drifts slowly"
    times = {"fresh": [], "taken": []}
    with serve_app(database, sink.port, "worker") as url:
        visitor = Browser(url)
        for turn in range(10 + args.requests // 2):
            order = ("fresh", "taken") if turn % 2 else ("taken", "fresh")
            for kind in order:
                address = f"signup{turn}@example.org" if kind == "fresh" else KNOWN
                body = visitor.form(
                    "/register",
                    username=f"signup-{kind}-{turn}",
                    email=address,
                    password=password,
                    password2=password,
                )
                started = time.perf_counter()
                status = visitor.post("/register", body)
                elapsed = (time.perf_counter() - started) * 1000
                assert status == 302, status
                if turn >= 10:  # after a warm-up
                    times[kind].append(elapsed)
    return {kind: statistics.median(taken) for kind, taken in times.items()}


def costs(directory: Path, sink: Sink, args) -> dict:
    """Item 4: password hashing, the login it implies, mail delivery rates."""
    database = seeded_database(directory, 10, 100)  # an empty outbox
    env = {
        **os.environ,
        **app_env(database, sink.port, free_port()),
        "MAIL_DELIVERY": "worker",
    }
    code = (
        "import time, statistics\n"
        "from app import create_app, db\nfrom app.email import send_email\n"
        "from app.models import User\nfrom app.outbox import deliver_due\n"
        "from config import Config\napp = create_app(Config)\n"
        "with app.app_context():\n"
        "    user, runs = User(username='x', email='x@x.org'), []\n"
        "    for _ in range(20):\n"
        "        t = time.perf_counter(); user.set_password('a long passphrase here')\n"
        "        runs.append((time.perf_counter() - t) * 1000)\n"
        "    print('hash', statistics.median(runs))\n"
        "    from app.passwords import password_problem, personal_words\n"
        "    import random, string; rng = random.Random(1)\n"
        "    words = personal_words('susan', 'susan@example.org')\n"
        "    samples = {'typical': 'a quiet bench in the park by noon',\n"
        "        'random': ''.join(rng.choices(string.printable[:94], k=128)),\n"
        "        'runs': ('qwertyuiop1234567890' * 7)[:127] + 'x',\n"
        "        'personal': ('susan@example.org 2024 ' * 6)[:128]}\n"
        "    for name, sample in samples.items():\n"
        "        runs = []\n"
        "        for _ in range(200):\n"
        "            t = time.perf_counter(); password_problem(sample, words)\n"
        "            runs.append((time.perf_counter() - t) * 1000)\n"
        "        print('check', name, statistics.median(runs))\n"
        "    for mode in ('reused', 'per message'):\n"
        "        for n in range(200):\n"
        "            send_email('Bench', ['a@example.org'], 'body', '<p>body</p>')\n"
        "        db.session.commit(); t = time.perf_counter()\n"
        "        if mode == 'reused': deliver_due(limit=1000)\n"
        "        else:\n"
        "            while deliver_due(limit=1): pass\n"
        "        print(mode, 200 / (time.perf_counter() - t))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in output.splitlines()
        if line[:1].isalpha()
    }
    with gunicorn("microblog:app", app_env(database, sink.port, free_port())) as url:
        visitor = Browser(url)
        body = visitor.form("/login", username=READER, password=PASSWORD)
        figures["login"] = wrk(url + "/login", args.seconds, body, visitor.cookie)
    return figures


def verdict(passed: bool) -> str:
    """A table cell for a target."""
    return "yes" if passed else "**no**"


def report(args, rows, p50, queued, blind, signup, cost) -> str:
    """The tables, as Markdown."""
    lines = [
        "### Throughput and latency (item 1)",
        "",
        "Ceiling: a one-line Flask app under the same gunicorn settings, measured in "
        f"turn with each request ({args.rounds} rounds of {args.seconds} s each, "
        "medians). Ratio = the median over rounds of req/s ÷ that round's ceiling "
        "req/s; known vs unknown compares those ratios.",
        "",
        "| Request | Posts | req/s | ceiling req/s | ratio | p50 ms | p99 ms | target "
        "| met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for label, posts, result, ceiling, ratio in rows:
        target = 0.40 if label == "GET /login" else 0.20 if "reset" in label else None
        goal = f"≥ {target:.2f}" if target else "-"
        met = verdict(ratio >= target) if target else "-"
        lines.append(
            f"| {label} | {posts} | {result['rps']:.0f} | {ceiling['rps']:.0f} | "
            f"{ratio:.2f} | {result['p50']:.2f} | {result['p99']:.2f} | {goal} "
            f"| {met} |"
        )
    ratios = {(label, posts): ratio for label, posts, _, _, ratio in rows}
    lines.append("")
    for label, posts, *_ in rows:
        if label.startswith("POST reset (known"):
            other = label.replace("known", "unknown")
            gap = abs(ratios[(label, posts)] / ratios[(other, posts)] - 1)
            mode = label.split(", ")[1].rstrip(")")
            lines.append(
                f"- Known vs unknown reset throughput, {mode} delivery, {posts} posts: "
                f"{gap:.1%} apart (target within 10%: {verdict(gap <= 0.10)})."
            )
    for (delivery, posts), count in queued.items():
        lines.append(
            f"- Reset mail still queued when the {delivery}-delivery runs at "
            f"{posts:,} posts ended: {count:,} (sent afterwards)."
        )
    lines += [
        "",
        "### The reset request is blind to mail and account (item 2)",
        "",
        f"{args.requests} interleaved sequential requests per SMTP server (known, "
        "unknown, known, ...). Ratios are against the fast server's median.",
        "",
        "| SMTP server | p50 known ms | p50 unknown ms | known − unknown ms | "
        "ratio known | ratio unknown | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    fastest = {label.split(" (")[1]: (k, u) for label, k, u in blind if "fast" in label}
    for label, k, u in blind:
        fast_known, fast_unknown = fastest[label.split(" (")[1]]
        rk, ru = k / fast_known, u / fast_unknown
        ok = 0.9 <= rk <= 1.1 and 0.9 <= ru <= 1.1 and abs(k - u) < 0.5
        lines.append(
            f"| {label} | {k:.2f} | {u:.2f} | {k - u:+.2f} | {rk:.2f} | "
            f"{ru:.2f} | {verdict(ok)} |"
        )
    gap = signup["taken"] / signup["fresh"]
    lines += [
        "",
        "### Sign-up is blind to a taken address",
        "",
        f"{args.requests // 2} sign-ups of each kind, interleaved, after a warm-up; "
        "both answer with the same redirect and both hash the password.",
        "",
        "| p50 fresh ms | p50 taken ms | taken ÷ fresh | met (within 10%) |",
        "| ---: | ---: | ---: | --- |",
        f"| {signup['fresh']:.1f} | {signup['taken']:.1f} | {gap:.2f} | "
        f"{verdict(abs(gap - 1) <= 0.10)} |",
    ]
    lines += [
        "",
        "### Scale: 1,000 posts vs 100,000 posts and 10,000 users (item 3)",
        "",
        "| Page | p50 ms at 1,000 | p50 ms at 100,000 | ratio | met (≤ 1.5) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for page in ("GET /index", "GET /explore", "GET /user/<name>"):
        small, large = p50[(page, 1_000)], p50[(page, 100_000)]
        lines.append(
            f"| {page} | {small:.2f} | {large:.2f} | {large / small:.2f} | "
            f"{verdict(large / small <= 1.5)} |"
        )
    lines += [
        "",
        "SQL statements per page are a test, not a timing: "
        "`tests/test_queries.py` (at most 5, the same for 5 or 50 posts a page).",
        "",
        "### Costs (item 4)",
        "",
        "| What | Figure |",
        "| --- | ---: |",
        f"| argon2id hash (19 MiB, t=2), median of 20 | {cost['hash']:.1f} ms |",
        "| Password rules, a 33-character phrase (median of 200) | "
        f"{cost['check typical']:.2f} ms |",
        "| Password rules at 128 characters, worst of random / runs / own words | "
        f"{max(cost[f'check {kind}'] for kind in ('random', 'runs', 'personal')):.2f}"
        " ms |",
        f"| POST /login (one hash each): p50 | {cost['login']['p50']:.1f} ms |",
        f"| POST /login: req/s (one worker per core) | {cost['login']['rps']:.0f} |",
        f"| Mail to a local sink, one connection per pass | "
        f"{cost['reused']:.0f} msg/s |",
        f"| Mail to a local sink, one connection per message | "
        f"{cost['per message']:.0f} msg/s |",
        f"| Reuse speed-up | {cost['reused'] / cost['per message']:.2f}× |",
    ]
    return "\n".join(lines)


def plot(p50: dict, path: Path) -> None:
    """p50 against data size, one line per page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for page in ("GET /index", "GET /explore", "GET /user/<name>"):
        sizes = [1_000, 100_000]
        axes.plot(sizes, [p50[(page, s)] for s in sizes], marker="o", label=page)
    axes.set_xscale("log")
    axes.set_xlabel("posts in the database")
    axes.set_ylabel("p50 latency (ms)")
    axes.set_ylim(bottom=0)
    axes.set_title("microblog: median latency against data size")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def machine() -> str:
    """One line about this machine."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.platform()}, "
        f"Python {platform.python_version()}, wrk -t2 -c16, gunicorn with "
        f"{runpy.run_path(str(ROOT / 'gunicorn.conf.py'))['workers']} sync workers "
        "(gunicorn.conf.py)"
    )


def main() -> None:
    """Run every measurement, print the tables, write docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="wrk run length")
    parser.add_argument("--rounds", type=int, default=4, help="wrk runs per figure")
    parser.add_argument("--requests", type=int, default=200, help="item 2 requests")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `apt-get install wrk` (make bench does it).")
    with tempfile.TemporaryDirectory() as tmp, Sink() as sink:
        directory = Path(tmp)
        rows, p50, queued = throughput(args, directory, sink)
        blind = blindness(args, directory)
        signup = signup_blindness(args, directory, sink)
        cost = costs(directory, sink, args)
    tables = report(args, rows, p50, queued, blind, signup, cost)
    print(tables)
    output = Path(args.output)
    output.parent.mkdir(exist_ok=True)
    plot(p50, output.with_suffix(".png"))
    command = "make bench  # = .venv/bin/python -m bench " + " ".join(sys.argv[1:])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    output.write_text(
        "# Benchmarks\n\n"
        f"Measured {when} on {machine()}.\n\n"
        f"Command: `{command.strip()}`\n\n"
        "Every figure is a ratio against a baseline measured in the same run: the\n"
        "machines are shared and noisy, so absolute numbers mean little.\n\n"
        f"{tables}\n\n![p50 against data size]({output.with_suffix('.png').name})\n"
    )
    print(f"\nWrote {output} and {output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
