"""The password rules (NIST SP 800-63B-4), shared by every form that sets one."""

import gzip
import string
from functools import cache
from importlib.resources import files

from flask import current_app

SITE_WORDS = ("microblog",)
MIN_DISTINCT_CHARACTERS = 4
EDGE_CHARACTERS = string.digits + string.punctuation + string.whitespace


@cache
def common_passwords() -> frozenset[str]:
    """The blocklist: Django's 20,000 most common passwords, case-folded."""
    data = files("app").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().casefold().split())


def password_problem(password: str, context: tuple[str, ...] = ()) -> str | None:
    """Why password is not acceptable, or None when it is."""
    config = current_app.config
    minimum, maximum = config["PASSWORD_MIN_LENGTH"], config["PASSWORD_MAX_LENGTH"]
    if len(password) < minimum:
        return f"Use at least {minimum} characters; a few words make it easy."
    if len(password) > maximum:
        return f"Use at most {maximum} characters."
    folded = password.casefold()
    if folded in common_passwords() or folded.strip(EDGE_CHARACTERS) in (
        common_passwords()
    ):
        return "This password is too common; choose one that is harder to guess."
    if len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        return "This password repeats too few characters; choose a less simple one."
    for word in (*SITE_WORDS, *context):
        word = word.casefold().strip()
        if len(word) >= 3 and word in folded:
            return "Don't use your username, email address or the site's name."
    return None


def personal_words(username: str | None, email: str | None) -> tuple[str, ...]:
    """Words a user's password must not contain: the username and email parts."""
    words = [username or ""]
    if email:
        local, _, domain = email.partition("@")
        words += [email, local, domain.split(".")[0]]
    return tuple(word for word in words if word)
