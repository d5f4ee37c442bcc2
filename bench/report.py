"""The report: Markdown tables, each explained in a sentence, and the plot."""

import contextlib
import os
import platform
import runpy
from pathlib import Path

from bench.browse import PAGE_NUMBERS, POSTS, PROFILES, READERS, USERS
from bench.databases import DATABASES
from bench.servers import ROOT
from bench.throughput import (
    CURSOR,
    DEPTH,
    DEPTH_POSTS,
    FIRST_PAGE,
    LANGUAGES,
    LOGIN,
    OFFSET,
    PAGES,
    SIZES,
)

SIGNED_IN = [f"{page} ({language})" for page in PAGES for language in LANGUAGES]
# Throughput targets: the share of the ceiling's req/s each request must reach.
TARGETS = {LOGIN: 0.40} | dict.fromkeys(SIGNED_IN, 0.15)
RESET_TARGET, SCALE_TARGET, DEPTH_TARGET, MEMORY_TARGET = 0.20, 1.5, 1.5, 0.10


def verdict(passed: bool) -> str:
    """A table cell for a target."""
    return "yes" if passed else "**no**"


def target(label: str) -> float | None:
    """The ratio label must reach, or None when it has no target."""
    return RESET_TARGET if label.startswith("POST reset") else TARGETS.get(label)


def report(args, found, blind, signup, cost, browsing=None) -> str:
    """The tables of whatever was measured, as Markdown."""
    lines = []
    if found and found.rows:
        lines += throughput_table(args, found) + reset_notes(found)
        lines += scale_table(found) + depth_table(found) + memory_table(args, found)
    if blind:
        lines += blindness_table(args, blind)
    if signup:
        lines += signup_table(args, signup)
    if cost:
        lines += costs_table(cost)
    if browsing:
        lines += browse_tables(browsing)
    return "\n".join(lines).strip()


def throughput_table(args, found) -> list[str]:
    """Item 1: every wrk figure against its round's ceiling."""
    lines = [
        "### Throughput and latency (item 1)",
        "",
        "Ceiling: a one-line Flask app under the same gunicorn settings, measured "
        f"once per round before the requests of one server ({args.rounds} rounds of "
        f"{args.seconds} s each, the requests' order turning each round; medians). "
        "Ratio = the median over rounds of req/s ÷ that round's ceiling req/s. "
        "Signed-in pages are the seeded reader's, sent `Accept-Language: "
        f"{LANGUAGES['en']}` (en) or `{LANGUAGES['zh-TW']}` (zh-TW), each checked "
        "first to answer 200 in that language. PostgreSQL is a fresh database on "
        "the machine's server (`BENCH_POSTGRES_URL`), migrated, seeded and "
        "`ANALYZE`d, dropped at the end.",
        "",
        "| Request | Database | Posts | req/s | ceiling req/s | ratio | p50 ms "
        "| p99 ms | target | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in found.rows:
        goal = target(row.label)
        lines.append(
            f"| {row.label} | {row.database} | {row.posts:,} | "
            f"{row.result['rps']:.0f} | {row.ceiling['rps']:.0f} | {row.ratio:.2f} | "
            f"{row.result['p50']:.2f} | {row.result['p99']:.2f} | "
            f"{f'≥ {goal:.2f}' if goal else '-'} | "
            f"{verdict(row.ratio >= goal) if goal else '-'} |"
        )
    return [*lines, ""]


def reset_notes(found) -> list[str]:
    """Known vs unknown reset throughput, and the mail left queued."""
    ratios = {(r.label, r.database, r.posts): r.ratio for r in found.rows}
    lines = []
    for (label, database, posts), ratio in ratios.items():
        if label.startswith("POST reset (known"):
            other = ratios[(label.replace("known", "unknown"), database, posts)]
            gap = abs(ratio / other - 1)
            mode = label.split(", ")[1].rstrip(")")
            lines.append(
                f"- Known vs unknown reset throughput, {database}, {mode} delivery, "
                f"{posts:,} posts: {gap:.1%} apart (target within 10%: "
                f"{verdict(gap <= 0.10)})."
            )
    for (database, delivery, posts), count in found.queued.items():
        lines.append(
            f"- Reset mail still queued when the {delivery}-delivery runs on "
            f"{database} at {posts:,} posts ended: {count:,} (sent afterwards)."
        )
    return lines


def scale_table(found) -> list[str]:
    """Item 3: each signed-in page's p50 at the big size over the small one."""
    (_, small), (users, large) = SIZES
    lines = [
        "",
        f"### Scale: {small:,} posts vs {large:,} posts and {users:,} users (item 3)",
        "",
        "Each signed-in page's median p50 with the big data set over the small one, "
        "per database and language: a page must not slow down as the site grows.",
        "",
        f"| Page | Database | p50 ms at {small:,} | p50 ms at {large:,} | ratio "
        f"| met (≤ {SCALE_TARGET}) |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for database in DATABASES.values():
        for page in SIGNED_IN:
            before = found.p50(page, database, small)
            after = found.p50(page, database, large)
            if before and after:
                ratio = after / before
                lines.append(
                    f"| {page} | {database} | {before:.2f} | {after:.2f} | "
                    f"{ratio:.2f} | {verdict(ratio <= SCALE_TARGET)} |"
                )
    return [
        *lines,
        "",
        "SQL statements per page are a test, not a timing: "
        "`tests/test_queries.py` (at most 5, the same for 5 or 50 posts a page).",
    ]


def depth_table(found) -> list[str]:
    """Any depth: /explore's page DEPTH by cursor (and by offset) over page 1."""
    lines = []
    for database in DATABASES.values():
        first = found.p50(FIRST_PAGE, database, DEPTH_POSTS)
        cursor = found.p50(CURSOR, database, DEPTH_POSTS)
        offset = found.p50(OFFSET, database, DEPTH_POSTS)
        if first and cursor and offset:
            lines.append(
                f"| {database} | {first:.2f} | {cursor:.2f} | {cursor / first:.2f} | "
                f"{verdict(cursor / first <= DEPTH_TARGET)} | {offset:.2f} | "
                f"{offset / first:.2f} |"
            )
    if not lines:
        return []
    return [
        "",
        "### Any depth costs the same (issue #14)",
        "",
        f"At {DEPTH_POSTS:,} posts, signed in (en): /explore's page {DEPTH:,} reached "
        f'by the keyset cursor (the `rel="next"` link of `?page={DEPTH - 1}`) '
        "against page 1, from the same rounds as item 1; "
        f"`?page={DEPTH}` (offset paging, kept for bookmarks) is a contrast, "
        "without a target.",
        "",
        f"| Database | p50 ms page 1 | p50 ms page {DEPTH:,} by cursor | cursor ÷ "
        f"page 1 | met (≤ {DEPTH_TARGET}) | p50 ms `?page={DEPTH}` | offset ÷ page 1 |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
        *lines,
    ]


def memory_table(args, found) -> list[str]:
    """Each page server's workers' resident memory, first round vs last."""
    lines = [
        "",
        "### Memory per worker (issue #14)",
        "",
        "Resident memory (VmRSS) of each gunicorn worker serving the pages above, "
        f"after the first and after the last of the {args.rounds} rounds; growth is "
        "the most any one worker grew.",
        "",
        "| Database | Posts | MiB per worker, first round | MiB per worker, last "
        f"round | growth | met (< {MEMORY_TARGET:.0%}) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for (database, posts), (first, last) in found.memory.items():
        common = [pid for pid in first if pid in last]
        growth = max((last[pid] / first[pid] - 1 for pid in common), default=None)
        shown = "-" if growth is None else f"{growth:+.1%}"
        met = "-" if growth is None else verdict(growth < MEMORY_TARGET)
        lines.append(
            f"| {database} | {posts:,} | {mib(first.values())} | "
            f"{mib(last.values())} | {shown} | {met} |"
        )
    return lines


def mib(values) -> str:
    """Memory figures as one table cell."""
    return " / ".join(f"{value:.1f}" for value in values) or "-"


def blindness_table(args, blind) -> list[str]:
    """Item 2: reset latency with fast, slow and dead SMTP."""
    lines = [
        "",
        "### The reset request is blind to mail and account (item 2)",
        "",
        f"{args.requests} interleaved sequential requests per SMTP server (known, "
        "unknown, known, ...), on SQLite. Ratios are against the fast server's median.",
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
    return lines


def signup_table(args, signup) -> list[str]:
    """Sign-up with a fresh vs a taken address."""
    gap = signup["taken"] / signup["fresh"]
    return [
        "",
        "### Sign-up is blind to a taken address",
        "",
        f"{args.requests // 2} sign-ups of each kind, interleaved, after a warm-up, "
        "on SQLite; both answer with the same redirect and both hash the password.",
        "",
        "| p50 fresh ms | p50 taken ms | taken ÷ fresh | met (within 10%) |",
        "| ---: | ---: | ---: | --- |",
        f"| {signup['fresh']:.1f} | {signup['taken']:.1f} | {gap:.2f} | "
        f"{verdict(abs(gap - 1) <= 0.10)} |",
    ]


def costs_table(cost) -> list[str]:
    """Item 4: hashing, password rules, login, mail delivery."""
    worst = max(cost[f"check {kind}"] for kind in ("random", "runs", "personal"))
    return [
        "",
        "### Costs (item 4)",
        "",
        "In-process timings on SQLite, and wrk on POST /login.",
        "",
        "| What | Figure |",
        "| --- | ---: |",
        f"| argon2id hash (19 MiB, t=2), median of 20 | {cost['hash']:.1f} ms |",
        "| Password rules, a 33-character phrase (median of 200) | "
        f"{cost['check typical']:.2f} ms |",
        "| Password rules at 128 characters, worst of random / runs / own words | "
        f"{worst:.2f} ms |",
        f"| POST /login (one hash each): p50 | {cost['login']['p50']:.1f} ms |",
        f"| POST /login: req/s (one worker per core) | {cost['login']['rps']:.0f} |",
        "| A whole sign-in, password only (one request), median of 30 | "
        f"{cost['sign-in plain']:.1f} ms |",
        "| A whole sign-in with the second factor (the password, then the code) | "
        f"{cost['sign-in coded']:.1f} ms "
        f"({cost['sign-in coded'] / cost['sign-in plain']:.2f}× password only) |",
        f"| Mail to a local sink, one connection per pass | "
        f"{cost['reused']:.0f} msg/s |",
        f"| Mail to a local sink, one connection per message | "
        f"{cost['per message']:.0f} msg/s |",
        f"| Reuse speed-up | {cost['reused'] / cost['per message']:.2f}× |",
    ]


def browse_tables(browsing) -> list[str]:
    """Each page store's hit rate and each worker's memory after browsing."""
    result = browsing.result
    lines = [
        "",
        "### Browsing: a thousand readers, a thousand profiles and page numbers",
        "",
        f"{READERS:,} seeded readers signed in (half sending en, half zh-TW), then "
        f"wrk ran {browsing.seconds} s sending each request as a random reader to a "
        f"random one of {browsing.paths:,} paths: every profile "
        f"(`/user/user0` to `/user/user{PROFILES - 1}`) and `/explore?page=1` to "
        f"`?page={PAGE_NUMBERS}`, on SQLite with {USERS:,} users and {POSTS:,} posts: "
        f"{result['rps']:.0f} req/s, p50 {result['p50']:.1f} ms, p99 "
        f"{result['p99']:.1f} ms (offset pages cost more the deeper they go). Each "
        "gunicorn worker wrote its page stores' counters at exit "
        "(`PAGE_STORE_STATS_DIR`, `app/fragments.py`); the counters cover only "
        "this run (the sign-ins used another server).",
        "",
        "| Store | hits | misses | hit rate | entries per worker (most kept) "
        "| MiB stored per worker |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    workers = list(browsing.stores.values())
    for name in workers[0]:
        counts = [worker[name] for worker in workers]
        hits = sum(count["hits"] for count in counts)
        misses = sum(count["misses"] for count in counts)
        rate = f"{hits / (hits + misses):.1%}" if hits + misses else "-"
        entries = " / ".join(f"{count['entries']:,}" for count in counts)
        stored = " / ".join(f"{count['bytes'] / 2**20:.2f}" for count in counts)
        lines.append(
            f"| {name} | {hits:,} | {misses:,} | {rate} | {entries} "
            f"({counts[0]['maxsize']:,}) | {stored} |"
        )
    before, after = browsing.memory
    lines += [
        "",
        "MiB stored: the entries' keys and values by `sys.getsizeof`, each object "
        "once. Each worker's resident memory (VmRSS):",
        "",
        "| Worker | MiB before browsing | MiB after |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| {number} | {before.get(pid, 0):.1f} | {after[pid]:.1f} |"
        for number, pid in enumerate(sorted(after), start=1)
    ]
    return lines


def plot(found, path: Path) -> bool:
    """p50 against data size, a panel per database, a line per page and language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [posts for _, posts in SIZES]
    lines = {
        (database, label): [found.p50(label, database, posts) for posts in sizes]
        for database in DATABASES.values()
        for label in SIGNED_IN
    }
    lines = {key: p50 for key, p50 in lines.items() if None not in p50}
    databases = [d for d in DATABASES.values() if any(k[0] == d for k in lines)]
    if not databases:
        return False
    figure, panels = plt.subplots(
        1, len(databases), figsize=(5 * len(databases), 4.6), sharey=True, squeeze=False
    )
    for axes, database in zip(panels[0], databases, strict=True):
        for index, label in enumerate(SIGNED_IN):
            if (database, label) in lines:
                # A colour per page, solid for English and dashed for Chinese.
                style = "-" if index % 2 == 0 else "--"
                colour = f"C{index // 2}"
                p50 = lines[(database, label)]
                axes.plot(sizes, p50, style, color=colour, marker="o", label=label)
        axes.set_xscale("log")
        axes.set_xlabel("posts in the database")
        axes.set_title(database)
    panels[0][0].set_ylabel("p50 latency (ms)")
    panels[0][0].set_ylim(0, 1.1 * max(max(p50) for p50 in lines.values()))
    handles, labels = panels[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize="small")
    figure.suptitle("microblog: median latency against data size")
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    figure.savefig(path, dpi=100)
    return True


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
