"""Blindness: the reset request and sign-up answer alike whatever the mail and account.

SQLite only: these compare two kinds of request on one server, not databases.
"""

import contextlib
import statistics
import time

from bench.databases import seeded_database
from bench.servers import (
    KNOWN,
    UNKNOWN,
    Browser,
    Sink,
    free_port,
    reset_bodies,
    serve_app,
)

SMTP_MODES = {"fast": 0.0, "2 s slow": 2.0, "dead": None}


@contextlib.contextmanager
def smtp_behaving(port: int, mode: str):
    """An SMTP server on port that is fast, slow, or not there at all."""
    delay = SMTP_MODES[mode]
    if delay is None:
        yield
        return
    with Sink(delay, port):
        yield


def blindness(args, directory) -> list:
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
        with serve_app(database, port, delivery) as server:
            visitor, bodies = reset_bodies(server.url)
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


def signup_blindness(args, directory, sink: Sink) -> dict:
    """Sign-up with a fresh vs a taken address, interleaved: milliseconds each.

    The taken path must do the same work (the password hash included), so the
    two medians should match; every request gets the same redirect.
    """
    database = seeded_database(directory, 100, 1_000)
    password = "violet harbour kettle drifts slowly"
    times = {"fresh": [], "taken": []}
    with serve_app(database, sink.port, "worker") as server:
        visitor = Browser(server.url)
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
