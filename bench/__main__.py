"""`make bench`: microblog's speed and scale, as ratios to baselines of the same run.

Starts the app under gunicorn on loopback, on SQLite and on a throwaway
PostgreSQL database, seeds data, drives load with wrk, and prints the tables
(also written to docs/benchmarks.md with a plot). Every figure is a ratio
against something measured in the same run, because the machines are shared
and noisy.

Modules: servers.py (gunicorn, wrk, SMTP sink, browser), databases.py (SQLite
and PostgreSQL set-up), throughput.py (pages, deep pages, resets, memory),
blindness.py (reset and sign-up blindness), costs.py, browse.py (many readers
on many paths: the page store's hit rates), report.py (Markdown, plot).
"""

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.blindness import blindness, signup_blindness
from bench.browse import browse
from bench.costs import costs
from bench.databases import DATABASES
from bench.report import machine, plot, report
from bench.servers import ROOT, Sink
from bench.throughput import throughput

SECTIONS = (
    "pages",
    "depth",
    "resets",
    "blindness",
    "signup",
    "costs",
    "browse",
    "profile",
)


def arguments() -> argparse.Namespace:
    """The command line, with args.sections the set of sections to run."""
    parser = argparse.ArgumentParser(description=__doc__)
    # 4 s x 5 rounds: about 20 minutes on two cores (some 60 wrk runs a round:
    # both databases, both languages, deep pages, resets). At 3 s the reset
    # rows' known-vs-unknown gap was mostly noise (4 to 33% in one run); with 3
    # rounds one page's ratio moved by a quarter from one run to the next.
    parser.add_argument("--seconds", type=int, default=4, help="wrk run length")
    parser.add_argument("--rounds", type=int, default=5, help="wrk runs per figure")
    parser.add_argument("--requests", type=int, default=200, help="item 2 requests")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=DATABASES,
        default=list(DATABASES),
        help="where pages and resets run (PostgreSQL: BENCH_POSTGRES_URL's server)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, default=SECTIONS, help="run these"
    )
    parser.add_argument(
        "--skip", nargs="+", choices=SECTIONS, default=(), help="leave these out"
    )
    args = parser.parse_args()
    args.sections = set(args.only) - set(args.skip)
    return args


def measure(args) -> tuple:
    """Run the chosen sections: throughput, blindness, sign-up, costs, browsing."""
    found = blind = signup = cost = browsing = None
    with tempfile.TemporaryDirectory() as tmp, Sink() as sink:
        directory = Path(tmp)
        if args.sections & {"pages", "depth", "resets"}:
            found = throughput(args, directory, sink)
        if "blindness" in args.sections:
            blind = blindness(args, directory)
        if "signup" in args.sections:
            signup = signup_blindness(args, directory, sink)
        if "costs" in args.sections:
            cost = costs(directory, sink, args)
        if "browse" in args.sections:
            browsing = browse(args, directory, sink)
    return found, blind, signup, cost, browsing


def in_process_profile() -> str:
    """bench.profile's tables: each page's CPU time in process, and where it goes."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.profile", "--top", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tables = "\n".join(line for line in output.splitlines() if line.startswith("|"))
    tables = tables.replace("\n| Where", "\n\n| Where")
    return (
        "### In process: CPU time per page and where it goes\n\n"
        "`python -m bench.profile`: the test client on a seeded SQLite database, no "
        "gunicorn; the fastest of 300 requests in this thread's CPU time, then "
        "cProfile's own time per function grouped by area.\n\n" + tables
    )


# The hand-written end of docs/benchmarks.md, kept as it is by every run.
KEPT = "## Why the code is shaped this way"


def kept_part(output: Path) -> str:
    """What follows KEPT in the existing file (with the heading), or nothing."""
    text = output.read_text() if output.exists() else ""
    return text[text.index(KEPT) :] if KEPT in text else ""


def write(args, tables: str, found, started: float) -> None:
    """docs/benchmarks.md (or --output) and its plot."""
    output = Path(args.output)
    kept = kept_part(output)
    output.parent.mkdir(exist_ok=True)
    image = output.with_suffix(".png")
    plotted = bool(found) and plot(found, image)
    command = "make bench  # = .venv/bin/python -m bench " + " ".join(sys.argv[1:])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    minutes = (time.monotonic() - started) / 60
    output.write_text(
        "# Benchmarks\n\n"
        f"Measured {when} on {machine()}; the run took {minutes:.0f} minutes.\n\n"
        f"Command: `{command.strip()}`\n\n"
        "Every figure is a ratio against a baseline measured in the same run: the\n"
        "machines are shared and noisy, so absolute numbers mean little.\n\n"
        f"{tables}\n"
        + (f"\n![p50 against data size]({image.name})\n" if plotted else "")
        + (f"\n{kept}" if kept else "")
    )
    print(f"\nWrote {output}" + (f" and {image}" if plotted else ""))


def main() -> None:
    """Run every measurement, print the tables, write docs/benchmarks.md."""
    args = arguments()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `apt-get install wrk` (make bench does it).")
    # A plain SIGTERM would skip the finally blocks that drop the PostgreSQL
    # database and stop the servers; as SystemExit it runs them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    found, blind, signup, cost, browsing = measure(args)
    tables = report(args, found, blind, signup, cost, browsing)
    if "profile" in args.sections:
        tables += "\n\n" + in_process_profile()
    print(tables)
    write(args, tables, found, started)


if __name__ == "__main__":
    main()
