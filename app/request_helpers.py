"""What a request tells the views: the client's address and browser, and a safe
place to go next."""

import re
from functools import lru_cache
from urllib.parse import urlsplit

from flask import request
from ua_parser import parse


def client_ip() -> str:
    """The client address (behind ProxyFix when configured)."""
    return request.remote_addr or "-"


def safe_next_url(target: str | None) -> str | None:
    """target if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def browser_name() -> str:
    """The User-Agent, cut down to plain words: it goes into mail the owner reads."""
    agent = request.headers.get("User-Agent", "")
    words = [
        word
        for word in re.sub(r"[^A-Za-z0-9 ._/;:()+-]", " ", agent).split()
        if "//" not in word and not word.lower().startswith(("http", "www."))
    ]
    return " ".join(words)[:120] or "unknown browser"


def device() -> tuple[str, str]:
    """The browser and system the User-Agent names ("Firefox", "Windows")."""
    return device_of(request.headers.get("User-Agent", "")[:512])


@lru_cache(maxsize=1024)
def device_of(agent: str) -> tuple[str, str]:
    """ua-parser's families, "" where it knows none (about 1 ms uncached)."""
    found = parse(agent)
    browser = found.user_agent.family if found.user_agent else ""
    system = found.os.family if found.os else ""
    return (
        "" if browser == "Other" else browser,
        "" if system == "Other" else system,
    )
