"""Emailed links' tokens kept out of logs: every logged path shows them redacted.

A link route is any URL rule with a `token` argument (reset, confirm, change and
undo links): the patterns come from the app's URL map, so a new link route is
covered without a list to keep. A static sibling of a link route (such as
`/reset_password/set-password`) is not a token and stays readable.
"""

import logging
import re
from functools import partial

from flask import Flask
from werkzeug.routing import Map

REDACTED = "[redacted]"
SECRET_ARGUMENTS = frozenset({"token"})
# What a path segment (or the rest of a path, for path:) can hold inside a log line.
SEGMENT = r"[^/?#\s\"'<>]+"
REST = r"[^?#\s\"'<>]+"
PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+)(?:\(.*?\))?:)?(?P<name>\w+)>")

# Rule string -> (pattern, static paths it must leave alone), from every app built.
_links: dict[str, tuple[re.Pattern, frozenset[str]]] = {}
# Any link route at all: one search, so text without one costs little to check.
_probe = re.compile(r"(?!)")


def link_pattern(rule: str) -> re.Pattern | None:
    """A pattern finding rule's paths in text, its secrets as groups; None if none."""
    parts, secrets, end = [], 0, 0
    for placeholder in PLACEHOLDER.finditer(rule):
        parts.append(re.escape(rule[end : placeholder.start()]))
        value = REST if placeholder["converter"] == "path" else SEGMENT
        if placeholder["name"] in SECRET_ARGUMENTS:
            secrets += 1
            value = f"(?P<secret{secrets}>{value})"
        parts.append(value)
        end = placeholder.end()
    if not secrets:
        return None
    return re.compile("".join([*parts, re.escape(rule[end:])]))


def add_link_routes(url_map: Map) -> None:
    """Learn url_map's link routes, and the static paths each could be mistaken for."""
    rules = list(url_map.iter_rules())
    static = [rule.rule for rule in rules if not rule.arguments]
    for rule in rules:
        if rule.rule in _links or not SECRET_ARGUMENTS & rule.arguments:
            continue
        pattern = link_pattern(rule.rule)
        if pattern is not None:
            _links[rule.rule] = (pattern, frozenset(filter(pattern.fullmatch, static)))
    global _probe
    sources = (pattern.pattern for pattern, _ in _links.values())
    _probe = re.compile("|".join(re.sub(r"\(\?P<\w+>", "(?:", s) for s in sources))


def redact(text: str) -> str:
    """text (a path, a URL, a log line) with every link route's token redacted."""
    if not _probe.search(text):
        return text
    for pattern, static in _links.values():
        text = pattern.sub(partial(redacted, static=static), text)
    return text


def redacted(match: re.Match, static: frozenset[str]) -> str:
    """The matched path with its secrets replaced, unless it is a static route."""
    if match[0] in static:
        return match[0]
    parts, cut = [], match.start()
    for name in match.re.groupindex:  # only secrets have names, in path order
        parts += [match.string[cut : match.start(name)], REDACTED]
        cut = match.end(name)
    return "".join([*parts, match.string[cut : match.end()]])


class RedactFilter(logging.Filter):
    """Rewrites a record's message and traceback with link tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a handler reports a malformed record
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            # Formatted here once, as a handler would, so the text can be cleaned.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


LOG_FILTER = RedactFilter()


def init_app(app: Flask) -> None:
    """Learn app's link routes; filter the app's and the dev server's loggers."""
    add_link_routes(app.url_map)
    for logger in (app.logger, logging.getLogger("werkzeug")):
        logger.addFilter(LOG_FILTER)
