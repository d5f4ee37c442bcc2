"""`python -m bench.instructions`: the instructions a signed-in page costs (callgrind).

Instruction counts hold still when the machine is busy, where wall-clock and
even CPU timings here moved by a third from one run to the next; so this is
how to tell whether a change made pages cheaper. Each figure is the count of a
run that serves N requests less that of a run that serves none, over N, so
start-up and seeding cancel out. The one-line ceiling app is counted the same
way for a ratio. `--against REV` counts another commit too, from a temporary
git worktree that shares this venv.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.servers import BIN, ROOT

PAGES = ("/index", "/explore", "/user/user1")
REQUESTS = 30  # a page, in each language
COLLECTED = re.compile(r"Collected : (\d+)")


# What a counted run does, in the tree being counted (run with `python -c`, so
# that an older commit without this module can be counted too): warm every page
# up, then GET one page (or none) REQUESTS times in each language.
CHILD = """
import sys, tempfile
from pathlib import Path
from bench.profile import build

requests, page = int(sys.argv[1]), sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    app, clients = build(f"sqlite:///{Path(tmp) / 'count.db'}", 1_000)
    for client in clients.values():
        for warm in PAGES:
            for _ in range(20):
                assert client.get(warm).status_code == 200, warm
    for client in clients.values():
        for _ in range(requests):
            assert client.get(page).status_code == 200, page
""".replace("PAGES", repr(PAGES))
CEILING_CHILD = """
import sys
from bench.baseline import app

client = app.test_client()
for _ in range(20 + 2 * int(sys.argv[1])):
    assert client.get("/").status_code == 200
"""


def counted(tree: Path, source: str, *argv: str) -> int:
    """Instructions python -c source executes in tree, under callgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [str(BIN / "python"), "-c", source, *argv]
    env = os.environ | {"PYTHONHASHSEED": "0"}
    run = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    found = COLLECTED.search(run.stderr)
    if run.returncode or not found:
        raise RuntimeError(f"{argv} in {tree} failed:\n{run.stderr[-3000:]}")
    return int(found.group(1))


def per_request(tree: Path, pool) -> dict[str, float]:
    """Millions of instructions a request, by page (both languages' mean)."""
    runs = {"none": pool.submit(counted, tree, CHILD, "0", PAGES[0])}
    for page in PAGES:
        runs[page] = pool.submit(counted, tree, CHILD, str(REQUESTS), page)
    # Both languages: twice REQUESTS requests a page.
    return {
        page: (runs[page].result() - runs["none"].result()) / (2 * REQUESTS) / 1e6
        for page in PAGES
    }


def worktree(revision: str, into: Path) -> Path:
    """A checkout of revision (with compiled catalogs) in into."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(into), revision],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(BIN / "pybabel"), "compile", "-d", str(into / "app/translations")],
        check=True,
        capture_output=True,
    )
    return into


def main() -> None:
    """Count this tree (and --against REV), print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", help="a git revision to count as well")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed: `apt-get install valgrind`.")
    with (
        tempfile.TemporaryDirectory() as tmp,
        concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool,
    ):
        idle, busy = (
            pool.submit(counted, ROOT, CEILING_CHILD, n) for n in ("0", str(REQUESTS))
        )
        trees = {"this tree": ROOT}
        if args.against:
            other = worktree(args.against, Path(tmp) / "against")
            trees = {args.against: other} | trees
        try:
            counts = {name: per_request(tree, pool) for name, tree in trees.items()}
        finally:
            if args.against:
                remove = ["git", "worktree", "remove", "--force", str(other)]
                subprocess.run(remove, cwd=ROOT, check=False)
        ceiling = (busy.result() - idle.result()) / (2 * REQUESTS) / 1e6
    print(f"Ceiling (one-line app, in process): {ceiling:.2f} M instructions a request")
    names = list(counts)
    headers = [f"{name}: M instr. (x ceiling)" for name in names]
    print("\n| Page | " + " | ".join(headers) + " |")
    print("| --- |" + " ---: |" * len(names))
    for page in PAGES:
        figures = [counts[name][page] for name in names]
        cells = [f"{figure:.2f} ({figure / ceiling:.1f})" for figure in figures]
        print(f"| GET {page} | " + " | ".join(cells) + " |")
    if len(names) == 2:
        before, after = (sum(counts[name].values()) for name in names)
        print(f"\nAll three pages: {after / before:.2f} of {names[0]}'s instructions")


if __name__ == "__main__":
    main()
