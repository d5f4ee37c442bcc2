"""`python -m bench.profile`: where a signed-in page's time goes, in process.

Seeds a temporary SQLite database, signs the reader in through the test client,
then times each page in both languages and prints cProfile's heaviest functions
for one of them. In-process figures leave out gunicorn and the network: they
show the app's own share, which is what a change to the app can move, in CPU
milliseconds.
"""

import argparse
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = ("/index", "/explore", "/user/user1")
LANGUAGES = {"en": "en-US,en;q=0.9", "zh_Hant_TW": "zh-TW,zh;q=0.9"}


def build(database: str, posts: int):
    """A production-like app on a seeded database; a signed-in client per language."""
    os.environ.update(
        SECRET_KEY="x" * 64,
        SERVER_NAME="localhost",
        PREFERRED_URL_SCHEME="http",
        DATABASE_URL=database,
        RATELIMIT_ENABLED="false",
        MAIL_DELIVERY="worker",
        LOG_DIR=tempfile.mkdtemp(prefix="profile-logs-"),
    )
    from flask_migrate import upgrade

    from app import create_app, db
    from bench.seed import PASSWORD, READER, seed
    from config import Config

    app = create_app(Config)
    with app.app_context():
        upgrade()
        seed(100, posts)
        db.session.remove()
    clients = {}
    for locale, header in LANGUAGES.items():
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = header
        page = client.get("/login").get_data(as_text=True)
        token = CSRF_FIELD.search(page).group(1)
        answer = client.post(
            "/login",
            data={"csrf_token": token, "username": READER, "password": PASSWORD},
        )
        assert answer.status_code == 302, answer.status_code
        clients[locale] = client
    return app, clients


def timed(client, path: str, runs: int) -> float:
    """The fewest CPU milliseconds of runs GETs of path (after a warm-up).

    This thread's CPU time, and the fastest run: other work on the shared
    machine moves the median by a third from one run to the next.
    """
    for _ in range(20):
        client.get(path)
    taken = []
    for _ in range(runs):
        started = time.thread_time()
        response = client.get(path)
        taken.append((time.thread_time() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return min(taken)


def area(filename: str) -> str:
    """The part of the stack a profiled function belongs to."""
    if any(part in filename for part in ("/app/templates/", "jinja2", "markupsafe")):
        return "templates (Jinja, escaping)"
    if "sqlalchemy" in filename or "sqlite3" in filename or "psycopg" in filename:
        return "database (SQLAlchemy, driver)"
    if "/app/" in filename:
        return "app code"
    for part in ("flask_babel", "babel", "flask_login", "flask_wtf", "wtforms"):
        if f"/{part}/" in filename:
            return "extensions (Babel, Login, WTF)"
    if "werkzeug" in filename or "/flask/" in filename or "itsdangerous" in filename:
        return "Flask, Werkzeug, sessions"
    return "Python and the rest"


def shares(stats: pstats.Stats) -> dict[str, float]:
    """Each area's share of the profiled time (own time of its functions)."""
    totals: dict[str, float] = {}
    for (filename, _, name), (*_, own, _cumulative, _callers) in stats.stats.items():
        where = filename if filename != "~" else name
        totals[area(where)] = totals.get(area(where), 0.0) + own
    whole = sum(totals.values())
    return {key: value / whole for key, value in sorted(totals.items())}


def main() -> None:
    """Time every page in both languages; profile one."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--profile", default="/index", help="page to profile")
    parser.add_argument("--locale", default="zh_Hant_TW", choices=LANGUAGES)
    parser.add_argument("--top", type=int, default=25, help="0: tables only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, clients = build(f"sqlite:///{Path(tmp) / 'profile.db'}", args.posts)
        print("| Page | " + " | ".join(f"{loc} CPU ms" for loc in LANGUAGES) + " |")
        print("| --- |" + " ---: |" * len(LANGUAGES))
        for path in PAGES:
            cells = [f"{timed(clients[loc], path, args.runs):.2f}" for loc in LANGUAGES]
            print(f"| GET {path} | " + " | ".join(cells) + " |")
        client = clients[args.locale]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.runs):
            client.get(args.profile)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        print(f"\n| Where GET {args.profile} ({args.locale}) spends | share |")
        print("| --- | ---: |")
        for where, share in shares(stats).items():
            print(f"| {where} | {share:.0%} |")
        if args.top:
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
