"""Browsing: a thousand readers on a thousand profiles and page numbers.

The page figures send one reader to a few paths, which every store keeps after
the first request. Real traffic spreads over readers and paths: this signs in
READERS seeded accounts, then wrk sends each request as a random one of them
(half in English, half in Chinese) to a random path: every profile and
/explore?page=1 to PAGE_NUMBERS. Each gunicorn worker writes its page stores'
counters at exit (PAGE_STORE_STATS_DIR, app/fragments.py); their memory is
read from /proc before and after the run.
"""

import concurrent.futures
import dataclasses
import json
from pathlib import Path

from bench.databases import bench_database
from bench.seed import PASSWORD
from bench.servers import (
    BENCH,
    USER_AGENT,
    Browser,
    app_env,
    free_port,
    gunicorn,
    worker_memory,
    wrk,
)

READERS = PROFILES = PAGE_NUMBERS = 1_000
# The seed's reader and user0 .. user999; 25 posts a page: page 1,000 and more.
USERS, POSTS = READERS + 1, 30_000
LANGUAGES = ("en-US,en;q=0.9", "zh-TW,zh;q=0.9")


@dataclasses.dataclass
class Browsing:
    """What the browse run found: wrk's figures, stores by worker, memory."""

    seconds: int
    paths: int
    result: dict
    stores: dict  # worker pid: {store name: its counters}
    memory: tuple  # (MiB by worker pid before the run, after it)


def browse(args, directory: Path, sink) -> Browsing:
    """Sign READERS in, then browse every profile and page number with wrk."""
    with bench_database("sqlite", directory, USERS, POSTS) as database:
        # One set of settings (and secret key) for both servers: sessions carry over.
        env = app_env(database, sink.port, free_port())
        with gunicorn("microblog:app", env) as server:
            readers = sign_in(server.url)
        paths = [f"/user/user{n}" for n in range(PROFILES)]
        paths += [f"/explore?page={n}" for n in range(1, PAGE_NUMBERS + 1)]
        files = directory / "browse"
        stats = files / "page-store"
        stats.mkdir(parents=True)
        (files / "readers").write_text("".join(f"{r}\n" for r in readers))
        (files / "paths").write_text("".join(f"{p}\n" for p in paths))
        seconds = args.seconds * args.rounds
        with gunicorn("microblog:app", env | {"PAGE_STORE_STATS_DIR": str(stats)}) as s:
            before = worker_memory(s.pid)
            result = wrk(
                s.url + "/",
                seconds,
                script=BENCH / "browse.lua",
                script_env={
                    "BENCH_READERS": str(files / "readers"),
                    "BENCH_PATHS": str(files / "paths"),
                    "BENCH_USER_AGENT": USER_AGENT,
                },
            )
            after = worker_memory(s.pid)
        # The workers wrote their files on the way out, before gunicorn stopped.
        stores = {
            int(path.stem): json.loads(path.read_text())
            for path in sorted(stats.glob("*.json"))
        }
    if not stores:
        raise RuntimeError("No worker wrote its page store counters")
    return Browsing(seconds, len(paths), result, stores, (before, after))


def sign_in(url: str) -> list[str]:
    """READERS signed-in sessions: "cookie<TAB>Accept-Language" lines."""

    def one(n: int) -> str:
        browser = Browser(url)
        form = browser.form("/login", username=f"user{n}", password=PASSWORD)
        if browser.post("/login", form) != 302:
            raise RuntimeError(f"user{n} could not sign in")
        language = LANGUAGES[n % len(LANGUAGES)]
        page = browser.get(f"/user/user{(n + 1) % PROFILES}")  # 200, not a redirect
        if "Sign out" not in page and "登出" not in page:
            raise RuntimeError(f"user{n}'s session does not stay signed in")
        return f"{browser.cookie}\t{language}"

    # Each sign-in hashes a password: as many at once as the server has workers.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(READERS)))
