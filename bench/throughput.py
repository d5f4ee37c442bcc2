"""Throughput: pages and reset requests against the ceiling, on each database.

Also what the page measurements show besides speed: the cost of a deep page
(cursor and offset) and each gunicorn worker's memory across the rounds.
"""

import dataclasses
import functools
import html
import re
import statistics
import urllib.error
import urllib.parse

from bench.databases import DATABASES, bench_database, pending_mail
from bench.seed import PASSWORD, READER
from bench.servers import (
    KNOWN,
    UNKNOWN,
    Browser,
    gunicorn,
    reset_bodies,
    serve_app,
    worker_memory,
    wrk,
)

FIGURES = ("rps", "p50", "p99")
# (users, posts): a small site and a big one.
SIZES = ((100, 1_000), (10_000, 100_000))
LANGUAGES = {"en": "en-US,en;q=0.9", "zh-TW": "zh-TW,zh;q=0.9"}
# What <html lang> says for each, to be sure the page really is in that language.
HTML_LANG = {"en": "en", "zh-TW": "zh-Hant-TW"}
PAGES = {
    "GET /index": "/index",
    "GET /explore": "/explore",
    "GET /user/<name>": "/user/user1",
}
LOGIN = "GET /login"
# Any depth: page DEPTH of /explore, at DEPTH_POSTS posts.
DEPTH, DEPTH_POSTS = 2_000, 100_000
FIRST_PAGE = "GET /explore (en)"
CURSOR = f"GET /explore page {DEPTH:,} by cursor (en)"
OFFSET = f"GET /explore?page={DEPTH} (offset, en)"
A_TAG = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
REL_NEXT = re.compile(r"""\brel\s*=\s*["'][^"']*\bnext\b""", re.IGNORECASE)
HREF = re.compile(r"""\bhref\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)


@dataclasses.dataclass
class Row:
    """One wrk figure: what, where, its medians and its round's ceiling."""

    label: str
    database: str
    posts: int
    result: dict
    ceiling: dict

    @property
    def ratio(self) -> float:
        """The median over rounds of req/s over that round's ceiling req/s."""
        return self.result["ratio"]


@dataclasses.dataclass
class Throughput:
    """Everything the throughput runs found."""

    rows: list = dataclasses.field(default_factory=list)
    # (database, delivery, posts): reset mail still queued when the runs ended.
    queued: dict = dataclasses.field(default_factory=dict)
    # (database, posts): worker MiB by pid after the first and the last round.
    memory: dict = dataclasses.field(default_factory=dict)

    def p50(self, label: str, database: str, posts: int) -> float | None:
        """The median p50 of one row, or None if it was not measured."""
        for row in self.rows:
            if (row.label, row.database, row.posts) == (label, database, posts):
                return row.result["p50"]
        return None


def against_ceiling(ceiling: str, args, targets: list, after_round=None):
    """wrk on the ceiling, then each target, args.rounds times over; the medians.

    Taking turns spreads the machine's noise over both sides of every ratio: a
    target's "ratio" is the median of its rate over the same round's ceiling.
    The targets' order turns each round, so none always follows another (mail
    queued by one reset run is still being sent during the next). after_round,
    if given, is called after every round.
    """
    ceilings, runs = [], [[] for _ in targets]
    for turn in range(args.rounds):
        ceilings.append(wrk(ceiling + "/", args.seconds))
        order = list(range(len(targets)))
        for index in order[turn % len(order) :] + order[: turn % len(order)]:
            runs[index].append(targets[index]())
        if after_round:
            after_round()
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


def throughput(args, directory, sink) -> Throughput:
    """Pages, deep pages and reset requests at each size, on each database."""
    sections = args.sections
    found = Throughput()
    with gunicorn("bench.baseline:app", {}) as ceiling:
        for users, posts in SIZES:
            for kind in args.databases:
                with bench_database(kind, directory, users, posts) as database:
                    name = DATABASES[kind]
                    deep = "depth" in sections and posts >= DEPTH_POSTS
                    if "pages" in sections or deep:
                        pages(ceiling.url, args, database, sink, name, posts, found)
                    if "resets" in sections:
                        resets(ceiling.url, args, database, sink, name, posts, found)
    return found


def pages(ceiling, args, database, sink, name, posts, found) -> None:
    """Every page target of one server in one against_ceiling call; its memory."""
    with serve_app(database, sink.port) as server:
        targets = page_targets(server.url, args, posts)
        samples = []
        base, results = against_ceiling(
            ceiling,
            args,
            list(targets.values()),
            lambda: samples.append(worker_memory(server.pid)),
        )
    for label, result in zip(targets, results, strict=True):
        found.rows.append(Row(label, name, posts, result, base))
    found.memory[(name, posts)] = (samples[0], samples[-1])


def page_targets(url: str, args, posts: int) -> dict:
    """label: a wrk run, for each page to measure on the server at url."""
    reader = Browser(url)
    reader.post("/login", reader.form("/login", username=READER, password=PASSWORD))
    paths = {}
    if "pages" in args.sections:
        paths[LOGIN] = ("/login", None)
        for label, path in PAGES.items():
            for language in LANGUAGES:
                paths[f"{label} ({language})"] = (path, language)
    if "depth" in args.sections and posts >= DEPTH_POSTS:
        paths[FIRST_PAGE] = ("/explore", "en")
        paths[CURSOR] = (cursor_path(reader), "en")
        paths[OFFSET] = (f"/explore?page={DEPTH}", "en")
    targets = {}
    for label, (path, language) in paths.items():
        headers = {}
        if language:
            headers = {"Accept-Language": LANGUAGES[language], "Cookie": reader.cookie}
        check_page(url, path, headers, language or "en")
        targets[label] = functools.partial(
            wrk, url + path, args.seconds, headers=headers
        )
    return targets


def check_page(url: str, path: str, headers: dict, language: str) -> None:
    """Fail unless path answers 200 in language to exactly what wrk will send.

    wrk counts a redirect as a success: a signed-out cookie would otherwise
    measure the redirect to /login instead of the page.
    """
    try:
        page = Browser(url).get(path, headers)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"GET {path} answered {error.code}, not 200") from error
    if f'<html lang="{HTML_LANG[language]}"' not in page:
        raise RuntimeError(f"GET {path} is not in {language}: {page[:200]!r}")


def cursor_path(reader: Browser) -> str:
    """Page DEPTH's path by the keyset cursor: page DEPTH - 1's rel="next" link."""
    before = f"/explore?page={DEPTH - 1}"
    for tag in A_TAG.findall(reader.get(before)):
        href = HREF.search(tag)
        if REL_NEXT.search(tag) and href:
            link = urllib.parse.urlsplit(html.unescape(href.group(2)))
            if set(urllib.parse.parse_qs(link.query)) <= {"page"}:
                raise RuntimeError(
                    f'GET {before}: the rel="next" link pages by offset, not by '
                    f"cursor: {href.group(2)!r}. Skip this section with --skip depth."
                )
            return f"{link.path or '/explore'}?{link.query}"
    raise RuntimeError(
        f'GET {before} has no <a rel="next" href="..."> link, so page {DEPTH:,} '
        "cannot be reached by the keyset cursor (is the app's cursor paging in "
        "yet?). Skip this section with --skip depth."
    )


def resets(ceiling, args, database, sink, name, posts, found) -> None:
    """Known and unknown reset requests, with thread and with worker delivery."""
    for delivery in ("thread", "worker"):
        with serve_app(database, sink.port, delivery) as server:
            visitor, bodies = reset_bodies(server.url)
            targets = [
                functools.partial(
                    wrk,
                    server.url + "/reset_password_request",
                    args.seconds,
                    bodies[address],
                    visitor.cookie,
                )
                for address in (KNOWN, UNKNOWN)
            ]
            base, results = against_ceiling(ceiling, args, targets)
            found.queued[(name, delivery, posts)] = pending_mail(database)
        for label, result in zip(("known", "unknown"), results, strict=True):
            row = Row(f"POST reset ({label}, {delivery})", name, posts, result, base)
            found.rows.append(row)
