"""The password rules (NIST SP 800-63B-4), shared by every form that sets one.

A password is judged whole: it is refused when it *is* a common password, when it is
one short piece repeated, or when, after taking out what an attacker tries first (the
person's own words, the site's name, stems like "password", keyboard and alphabet
runs, years, repeats), too little of it is left. Merely containing a word is fine.
"""

import gzip
import hashlib
import re
import string
import urllib.request
from functools import cache
from importlib.resources import files

from babel.lists import format_list
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.text import fold

SITE_WORDS = ("microblog",)
# What people build guessable passwords from; none of it counts as their own.
COMMON_STEMS = (
    "password",
    "passwort",
    "passwd",
    "qwerty",
    "qwertz",
    "azerty",
    "letmein",
    "iloveyou",
    "welcome",
    "admin",
    "login",
)
RUN_SOURCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "1234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
)
MIN_RUN = 4
MIN_WORD = 3
MIN_OWN_CHARACTERS = 10
YEAR = re.compile(r"(?:19|20)\d\d")
REPEAT = re.compile(r"(.+?)\1+", re.S)
WORD = re.compile(r"\w+")
EDGE_CHARACTERS = string.digits + string.punctuation + string.whitespace
# Letters people swap in for look-alike symbols ("p@ssw0rd").
LOOK_ALIKES = str.maketrans("0134578@$!|", "oieastbasil")

TOO_COMMON = _l(
    "This password is too common: it is among the first ones attackers try. "
    "Choose a few unrelated words instead."
)
REPEATED = _l(
    "This password is one short piece repeated, and repeating it doesn't make it "
    "harder to guess. Use a few different words instead."
)
BREACHED = _l(
    "This password has appeared in a data breach, so attackers already try it. "
    "Choose a different one."
)
FOUND = {
    "personal": _l("your username or email address"),
    "site": _l("the site's name"),
    "stem": _l("words like “password”"),
    "run": _l("keyboard and alphabet runs"),
    "year": _l("years"),
    "repeat": _l("repeats"),
}


@cache
def common_passwords() -> frozenset[str]:
    """The blocklist: Django's 20,000 most common passwords, case-folded."""
    data = files("app").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(fold(word) for word in gzip.decompress(data).decode().split())


def password_problem(password: str, context: tuple[str, ...] = ()) -> str | None:
    """Why password is not acceptable, or None when it is."""
    config = current_app.config
    minimum, maximum = config["PASSWORD_MIN_LENGTH"], config["PASSWORD_MAX_LENGTH"]
    if len(password) < minimum:
        return _(
            "Use at least %(minimum)s characters; a few words make it easy.",
            minimum=minimum,
        )
    if len(password) > maximum:
        return _("Use at most %(maximum)s characters.", maximum=maximum)
    folded = fold(password)
    if is_common(folded):
        return str(TOO_COMMON)
    if is_repeated(folded, minimum):
        return str(REPEATED)
    left, found = own_characters(folded, context)
    if left < MIN_OWN_CHARACTERS:
        return _(
            "This password is too easy to guess: without %(found)s, only %(left)s "
            "characters of your own are left. Add a few more words that have nothing "
            "to do with you or this site.",
            found=spoken_list(found),
            left=left,
        )
    if config["PASSWORD_BREACH_CHECK"] and is_breached(password):
        return str(BREACHED)
    return None


def spoken_list(found: set[str]) -> str:
    """The guessable parts found, listed as the reader's language lists things."""
    names = [str(FOUND[kind]) for kind in FOUND if kind in found]
    return format_list(names, locale=get_locale() or "en")


def is_common(folded: str) -> bool:
    """Whether the whole password, give or take padding and spaces, is on the list."""
    blocklist = common_passwords()
    candidates = {folded, folded.strip(EDGE_CHARACTERS), "".join(folded.split())}
    return not blocklist.isdisjoint(candidates)


def is_repeated(folded: str, minimum: int) -> bool:
    """Whether the password is one piece, shorter than the minimum, said again."""
    match = REPEAT.fullmatch(folded)
    return match is not None and len(match.group(1)) < minimum


def own_characters(folded: str, context: tuple[str, ...]) -> tuple[int, set[str]]:
    """How many characters are left once the guessable parts are taken out."""
    guessable = [False] * len(folded)
    found: set[str] = set()

    def mark(kind: str, start: int, end: int) -> None:
        guessable[start:end] = [True] * (end - start)
        found.add(kind)

    look_alike = folded.translate(LOOK_ALIKES)
    words = [("personal", fold(word)) for word in context]
    words += [("site", word) for word in SITE_WORDS]
    words += [("stem", word) for word in COMMON_STEMS]
    for kind, word in words:
        if len(word) < MIN_WORD:
            continue
        for text in {folded, look_alike}:
            for match in re.finditer(re.escape(word), text):
                mark(kind, match.start(), match.end())
    for match in YEAR.finditer(folded):
        mark("year", match.start(), match.end())
    for start, end in runs(folded):
        mark("run", start, end)
    for match in REPEAT.finditer(folded):
        # The first copy stays someone's own; "aa" and "ll" in words are no repeat.
        if match.end() - match.start() >= 3:
            mark("repeat", match.start() + len(match.group(1)), match.end())
    seen = set()
    for match in WORD.finditer(folded):
        if match.group() in seen and len(match.group()) >= MIN_WORD:
            mark("repeat", match.start(), match.end())
        seen.add(match.group())
    pairs = zip(folded, guessable, strict=True)
    own = "".join(" " if hidden else char for char, hidden in pairs)
    # Separators and symbols count once between words, never as padding.
    own = re.sub(r"[\W_]+", " ", own).strip()
    return len(own), found


def runs(folded: str):
    """(start, end) of each run of at least MIN_RUN neighbouring keys or letters."""
    for source in RUN_SOURCES:
        for sequence in (source, source[::-1]):
            position = {char: index for index, char in enumerate(sequence)}
            start = 0
            for end in range(1, len(folded) + 1):
                if end < len(folded):
                    before = position.get(folded[end - 1])
                    after = position.get(folded[end])
                    if before is not None and after == before + 1:
                        continue
                if end - start >= MIN_RUN:
                    yield start, end
                start = end


def is_breached(password: str) -> bool:
    """Ask Pwned Passwords (k-anonymity: only 5 hex digits of the SHA-1 leave)."""
    config = current_app.config
    # SHA-1 because that is what the range API indexes; it protects nothing here.
    digest = hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324
    prefix, suffix = digest[:5], digest[5:]
    request = urllib.request.Request(  # noqa: S310 (the URL is operator-set)
        config["PASSWORD_BREACH_API"] + prefix,
        headers={"Add-Padding": "true", "User-Agent": "microblog-password-check"},
    )
    try:
        timeout = config["PASSWORD_BREACH_TIMEOUT"]
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(4 * 1024 * 1024).decode("ascii")
    except (OSError, ValueError) as error:
        # Failing open: a slow or missing service must not stop anyone setting one.
        current_app.logger.warning("password breach check unavailable: %s", error)
        return False
    for line in body.splitlines():
        listed, _, count = line.strip().partition(":")
        # Padding lines carry a count of 0 and match nothing real.
        if listed.upper() == suffix and count.strip().isdigit() and int(count) > 0:
            return True
    return False


def personal_words(username: str | None, email: str | None) -> tuple[str, ...]:
    """The person's own words: username and its parts, the address and its parts."""
    words = [username or ""]
    words += re.split(r"[._-]+", username or "")
    if email:
        local, _, domain = email.rpartition("@")
        words += [email, local, domain.split(".")[0]]
    return tuple(dict.fromkeys(word for word in words if word))
