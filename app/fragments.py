"""Parts of pages rendered once per process and stored (key-based fragment caching).

Listed posts, the top bar, the language switcher and blank form pages. A
stored part is the same for every reader but for the CSRF token, which each
reader's own replaces on the way out. Its key holds everything it shows: the
template, the reader's language, where the app is mounted and the values the
caller passes. A changed value (a renamed user, another page, a new "3 minutes
ago") is a new key, never a stale entry, so nothing needs expiring.
"""

from collections.abc import Iterable
from functools import lru_cache

import sqlalchemy as sa
from flask import Flask, current_app, render_template, request, session
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup

from app.i18n import current_locale, time_ago
from app.models import utcnow

# Stands in for the CSRF token in a stored part; no rendered page contains it.
CSRF_SLOT = "\x00csrf-token\x00"
# Keys come from paths and usernames, so the store is bounded: old keys fall out.
STORED_FRAGMENTS = 2048


def init_app(app: Flask) -> None:
    """Give templates fragment() and posts_html()."""
    app.extensions["fragments"] = lru_cache(maxsize=STORED_FRAGMENTS)(render_once)
    app.add_template_global(fragment)
    app.add_template_global(posts_html)


def fragment(template: str, **values) -> Markup:
    """template rendered with values, stored.

    Only for templates that use nothing of the request but values, the
    language, url_for and csrf_token(): the top bar, the language switcher.
    """
    if current_app.jinja_env.auto_reload:  # templates being edited: show changes
        return Markup(render_template(template, **values))  # noqa: S704 (escaped)
    store = current_app.extensions["fragments"]
    key = tuple(sorted(values.items()))
    html = store(template, current_locale(), request.script_root, key)
    return Markup(with_token(html))  # noqa: S704 (a rendered template: escaped)


def render_once(template: str, locale: str, root: str, values: tuple) -> str:
    """template rendered with values (locale and root: the request's, the key's)."""
    return with_slot(render_template(template, **dict(values)))


def with_slot(html: str) -> str:
    """html with this request's CSRF token made a slot for any reader's."""
    return html.replace(generate_csrf(), CSRF_SLOT) if "csrf_token" in html else html


def with_token(html: str) -> str:
    """A stored html with this reader's own CSRF token in its slots."""
    return html.replace(CSRF_SLOT, generate_csrf()) if CSRF_SLOT in html else html


@pass_context
def posts_html(context, posts: Iterable[sa.Row]) -> Markup:
    """Listed posts (app.pagination rows) as HTML, each from _post.html."""
    # The render's own request and locale: the proxies cost a lookup a post.
    root = context["request"].root_path
    locale = context["current_locale"]
    rows, now = list(posts), utcnow()
    fields = rows[0]._fields if rows else ()  # every row has the same columns
    html = "\n".join(
        rendered_post(
            fields, tuple(post), time_ago(post.timestamp, locale, now), locale, root
        )
        for post in rows
    )
    # Rendered fragments, escaped already: Markup.join would escape each anew.
    return Markup(html)  # noqa: S704


@lru_cache(maxsize=4096)
def rendered_post(
    fields: tuple, values: tuple, when: str, locale: str, root: str
) -> Markup:
    """_post.html for these values, rendered once (key-based fragment caching).

    The key holds everything the fragment shows: a renamed author, a changed
    address, another language or a new "3 minutes ago" is a new key, never a
    stale entry, so nothing needs expiring; old keys fall out of the LRU.
    """
    post = dict(zip(fields, values, strict=True))
    html = render_template("_post.html", post=post, when=when)
    return Markup(html)  # noqa: S704 (a rendered template: escaped already)


def blank_form_page(template: str, form_class: type, **context) -> str:
    """The page (or fragment) with a blank form_class form, rendered once per process.

    Without pending messages it is the same page for every visitor but for the
    CSRF token, so later visitors get the stored page with their own token
    filled in. These pages take the anonymous traffic (and bots') that rate
    limits on POST don't see, and building the form and rendering it were half
    of such a request (docs/benchmarks.md). Only for templates whose blank
    page depends on nothing but the request path and the given context.
    """
    if (
        "_flashes" in session
        or request.query_string  # the page links back to its own URL
        or current_app.jinja_env.auto_reload
    ):
        return render_template(template, form=form_class(), **context)
    pages = current_app.extensions.setdefault("blank_form_pages", {})
    key = (
        template,
        current_locale(),
        request.script_root,
        request.path,
        tuple(sorted(context.items())),
    )
    if key not in pages:
        page = render_template(template, form=form_class(), **context)
        pages[key] = with_slot(page)
        return page
    return with_token(pages[key])
