"""The page store: parts of pages rendered once per process and kept per app.

Key-based fragment caching, as Rails does it. The rule of what may be stored:
a stored part's bytes depend only on its key, which is the template, the
reader's language, where the app is mounted and the values PARTS lists for the
template. Anything else a part shows for one request is a slot (SLOTS: the
CSRF token, the page to come back to, the reader's profile link): a stored
part holds a marker, filled in, escaped, with each reader's own value on the
way out. A whole page that shows anything of its reader (the "confirm your
address" banner, a flashed message) is never stored.

Keys hold nothing that grows with traffic (no paths, no page numbers, no
tokens) and every store is bounded (STORES), old keys falling out. A changed value (a
renamed user, a new "3 minutes ago") is a new key, never a stale entry, so
nothing expires. While templates auto-reload (`make run`), nothing is stored:
Store.get. tests/test_page_store.py renders every part in PARTS for different
readers and proves the rule holds.
"""

import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from flask import (
    Flask,
    current_app,
    g,
    get_flashed_messages,
    has_request_context,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup, escape

from app.i18n import current_locale, time_ago
from app.models import utcnow


class Part(NamedTuple):
    """A stored template: the store that keeps it and what its key holds."""

    store: str
    key: tuple[str, ...]  # besides the template, language and mount point
    page: bool = False  # a whole page: stored only when it shows nothing of its reader


PARTS = {
    # The top bar: the page's endpoint (None: none of its links), whether signed in.
    "_navbar.html": Part("top bar", ("endpoint", "signed_in")),
    "_language_switcher.html": Part("switcher", ()),
    "_post.html": Part("posts", ("post", "when")),
    "_post_form.html": Part("form pages", ("endpoint", "form")),
    "auth/login.html": Part("form pages", ("endpoint", "form", "title"), page=True),
    "auth/register.html": Part("form pages", ("endpoint", "form", "title"), page=True),
    "auth/reset_password_request.html": Part(
        "form pages", ("endpoint", "form", "title"), page=True
    ),
}
# Each store and the most entries it keeps per process. The top bar holds two
# per endpoint at most; paths and posts one per link or post shown, so deep
# browsing cycles them (docs/benchmarks.md, "Browsing").
STORES = {
    "top bar": 2048,
    "switcher": 16,
    "posts": 4096,
    "form pages": 64,
    "paths": 4096,  # templates' url_for
}


def next_url() -> str:
    """The page's own path and query: where the language switcher comes back to."""
    return request.full_path if request.query_string else request.path


def profile_url() -> str:
    """The signed-in reader's own profile, the top bar's link ("" when signed out)."""
    user = current_user._get_current_object()  # one proxy lookup, not two
    if not user.is_authenticated:
        return ""
    return template_url_for("main.user", username=user.username)


# Per-request values a stored part may show, and how each is found.
SLOTS = {"csrf_token": generate_csrf, "next_url": next_url, "profile_url": profile_url}
# What a stored part holds for each slot; no rendered value contains one.
MARKERS = {name: f"\x00{name}\x00" for name in SLOTS}
# True while a part renders to be stored: slots give markers, inner parts stay so.
RENDERING = ContextVar("rendering_for_the_page_store", default=False)


class Store:
    """A bounded LRU of rendered parts (or paths), with hit and miss counters."""

    def __init__(self, app: Flask, maxsize: int):
        self.env, self.maxsize = app.jinja_env, maxsize
        self.entries: OrderedDict = OrderedDict()  # oldest first
        self.hits = self.misses = 0
        self.lock = threading.Lock()  # for a miss; a hit's steps are atomic each

    def get(self, key, make: Callable, *args):
        """key's stored value, made with make(*args) and kept if it is new.

        Every store looks up through here, so this is the one place where
        template auto-reload (`make run`) turns them all off.
        """
        if self.env.auto_reload:  # templates being edited: show each change
            return make(*args)
        entries = self.entries
        value = entries.get(key)
        if value is not None:
            self.hits += 1
            try:  # noqa: SIM105 (suppress() would cost every hit a Python call)
                entries.move_to_end(key)
            except KeyError:  # another thread's miss pushed it out just now
                pass
            return value
        value = make(*args)
        with self.lock:
            self.misses += 1
            entries[key] = value
            while len(entries) > self.maxsize:
                entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry (the counters stay)."""
        with self.lock:
            self.entries.clear()

    def stats(self) -> dict:
        """The counters and the fill, for the bench."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "entries": len(self.entries),
            "maxsize": self.maxsize,
            "bytes": footprint(self.entries),
        }


def footprint(entries: dict) -> int:
    """About how many bytes entries' keys and values take (each object once)."""
    seen, size, objects = set(), sys.getsizeof(entries), [*entries.items()]
    while objects:
        thing = objects.pop()
        if id(thing) not in seen:
            seen.add(id(thing))
            size += sys.getsizeof(thing)
            if isinstance(thing, tuple):
                objects.extend(thing)
    return size


def init_app(app: Flask) -> None:
    """The app's stores; templates' fragment(), posts_html() and slot globals."""
    app.extensions["page_store"] = {
        name: Store(app, size) for name, size in STORES.items()
    }
    app.add_template_global(fragment)
    app.add_template_global(posts_html)
    app.jinja_env.globals["url_for"] = partial(build_path, stores(app)["paths"])
    # csrf_token() stays Flask-WTF's (render_for_store makes its token a slot).
    for name in ("next_url", "profile_url"):
        app.jinja_env.globals[name] = slot(name, SLOTS[name])


def stores(app: Flask) -> dict[str, Store]:
    """The app's stores by name."""
    return app.extensions["page_store"]


def slot(name: str, value: Callable[[], str]) -> Callable[[], str]:
    """A template global: this request's value, or its marker in a part being stored."""

    def template_global() -> str:
        return MARKERS[name] if RENDERING.get() else value()

    template_global.__name__ = name
    return template_global


def render_part(template: str, values: dict) -> str:
    """template rendered with its key's values, as the store keeps it."""
    return render_for_store(template, **values)


def render_for_store(template: str, **context) -> str:
    """template rendered as a store keeps it: its slots (and inner parts') markers."""
    token = RENDERING.set(True)
    try:
        html = render_template(template, **context)
    finally:
        RENDERING.reset(token)
    # However it was written (csrf_token(), a form's own field), this request's
    # CSRF token becomes its slot. Pages without a form never start a session.
    if "csrf_token" not in html:
        return html
    return html.replace(generate_csrf(), MARKERS["csrf_token"])


def served(html: str) -> Markup:
    """A stored part as this request shows it: its slots filled (inside a part
    being stored, left for the outer part's own filling)."""
    if "\x00" in html and not RENDERING.get():
        filled = g.setdefault("page_store_slots", {})  # each found once a request
        for name, marker in MARKERS.items():
            if marker in html:
                if name not in filled:
                    filled[name] = str(escape(SLOTS[name]()))
                html = html.replace(marker, filled[name])
    return Markup(html)  # noqa: S704 (rendered templates and escaped values)


def key_of(template: str, values: dict) -> tuple:
    """The store key of template's part for values (exactly PARTS' names)."""
    names = PARTS[template].key
    if len(values) != len(names) or not all(map(values.__contains__, names)):
        raise TypeError(f"{template}'s key is {names}, not {tuple(values)}")
    listed = tuple(map(values.__getitem__, names))
    return (template, current_locale(), request.root_path, *listed)


def fragment(template: str, **values) -> Markup:
    """template's stored part for values (its key: PARTS), the reader's slots filled."""
    store = stores(current_app)[PARTS[template].store]
    key = key_of(template, values)
    return served(store.get(key, render_part, template, values))


@pass_context
def posts_html(context, posts: Iterable[sa.Row]) -> Markup:
    """Listed posts (app.pagination rows) as HTML, each a stored _post.html."""
    # The render's own request and locale: the proxies cost a lookup a post.
    root = context["request"].root_path
    locale = context["current_locale"]
    store = stores(current_app)["posts"]
    rows, now = list(posts), utcnow()
    fields = rows[0]._fields if rows else ()  # every row has the same columns
    html = []
    for row in rows:
        post, when = tuple(row), time_ago(row.timestamp, locale, now)
        key = ("_post.html", locale, root, fields, post, when)  # PARTS' key
        html.append(store.get(key, render_post, fields, post, when))
    # As stored: _post.html has no slots (a marker would fail the page store test).
    return Markup("\n".join(html))  # noqa: S704 (rendered templates: escaped)


def render_post(fields: tuple, values: tuple, when: str) -> str:
    """_post.html for one post's values, as the store keeps it."""
    post = dict(zip(fields, values, strict=True))
    return render_for_store("_post.html", post=post, when=when)


def blank_form_page(template: str, form_class: type, **context) -> str:
    """The page (or part) with a blank form_class form, stored per endpoint.

    A blank sign-in page is the same for every visitor but for the slots, so
    later visitors get the stored page. These pages take the anonymous traffic
    (and bots') that rate limits on POST don't see, and building the form and
    rendering it were half of such a request (docs/benchmarks.md). A whole page
    (PARTS: page) that would show its reader anything is rendered afresh.
    """
    if PARTS[template].page and shows_reader():
        return render_template(template, form=form_class(), **context)
    values = context | {"endpoint": request.endpoint, "form": form_class}
    store = stores(current_app)["form pages"]
    key = key_of(template, values)
    return served(store.get(key, render_blank, template, form_class, context))


def shows_reader() -> bool:
    """Whether a whole page would show something of this reader."""
    return bool(
        current_user.is_authenticated  # the address banner, say
        or get_flashed_messages()  # the page keeps them for its own render
        or request.query_string  # a query the page might read (?next=...)
    )


def render_blank(template: str, form_class: type, context: dict) -> str:
    """template with a blank form, as the store keeps it."""
    return render_for_store(template, form=form_class(), **context)


def build_path(paths: Store, endpoint: str, **values) -> str:
    """Templates' url_for: each link of a page built once per process, in paths.

    A path depends only on the endpoint, its values and where the app is
    mounted, and the URL map is fixed once the app serves; building one costs
    some 10 µs and a page has a dozen. Absolute URLs (mail), relative endpoints,
    emailed links' tokens and anything outside a request are built each time.
    """
    if (
        endpoint.startswith(".")
        or "token" in values
        or any(name.startswith("_") for name in values)
        or not has_request_context()
    ):
        return url_for(endpoint, **values)
    key = (request.root_path, endpoint, tuple(sorted(values.items())))
    try:
        return paths.get(key, built_path, endpoint, values)
    except TypeError:  # a value that cannot be a key (a list of query values)
        return url_for(endpoint, **values)


def built_path(endpoint: str, values: dict) -> str:
    """url_for's path for endpoint and values."""
    return url_for(endpoint, **values)


def template_url_for(endpoint: str, **values) -> str:
    """url_for as templates have it (build_path), for the app's own code."""
    return build_path(stores(current_app)["paths"], endpoint, **values)


def write_stats(app: Flask) -> None:
    """This process's store counters as JSON in PAGE_STORE_STATS_DIR, if set."""
    directory = app.config.get("PAGE_STORE_STATS_DIR")
    if directory:
        stats = {name: store.stats() for name, store in stores(app).items()}
        Path(directory, f"{os.getpid()}.json").write_text(json.dumps(stats))
