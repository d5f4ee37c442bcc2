"""The page store (app/fragments.py): every stored part is the same for every reader."""

import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import flash, render_template_string
from flask_babel import force_locale
from flask_login import login_user
from flask_wtf import FlaskForm
from jinja2 import ChoiceLoader, DictLoader, FileSystemLoader
from wtforms import SubmitField

from app import db, fragments
from app.fragments import PARTS, STORES, Part, Store, blank_form_page, fragment, stores
from app.models import EVERYONES_POSTS, Post, User, utcnow
from app.pagination import paginate
from tests.conftest import PASSWORD
from tests.test_errors import REFERER, csrf_token, signed_in_client

ZH = {"Accept-Language": "zh-TW,zh;q=0.9"}


def sign_in(app, username):
    """A client signed in as username through the protected form."""
    client = app.test_client()
    token = csrf_token(client.get("/login"))
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data, headers=REFERER).status_code == 302
    return client


def top_bar(page: str) -> str:
    """The page's <nav> top bar."""
    return re.search(r"<nav class=\"navbar.*?</nav>", page, re.S)[0]


def sign_out_token(page: str) -> str:
    """The CSRF token of the top bar's sign-out form."""
    return csrf_token_in(top_bar(page))


def csrf_token_in(html: str) -> str:
    """The first CSRF token in html."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def test_each_reader_gets_their_own_top_bar_and_token(csrf_app):
    susan, john = sign_in(csrf_app, "susan"), sign_in(csrf_app, "john")
    pages = {}
    for _ in range(2):  # the second round is served from the store
        for name, client in (("susan", susan), ("john", john)):
            pages[name] = client.get("/explore").text
    assert 'href="/user/susan"' in top_bar(pages["susan"])
    assert 'href="/user/john"' in top_bar(pages["john"])
    assert "/user/john" not in pages["susan"]
    assert "\x00" not in pages["susan"] + pages["john"]
    assert sign_out_token(pages["susan"]) != sign_out_token(pages["john"])
    assert stores(csrf_app)["top bar"].hits >= 2  # each reader's second round

    foreign = {"csrf_token": sign_out_token(pages["john"])}
    assert susan.post("/logout", data=foreign, headers=REFERER).status_code == 400
    own = {"csrf_token": sign_out_token(pages["susan"])}
    assert susan.post("/logout", data=own, headers=REFERER).status_code == 302
    assert susan.get("/index").status_code == 302  # signed out


def test_top_bar_follows_a_new_username(app, make_user):
    make_user("susan")
    client = signed_in_client(app)
    assert 'href="/user/susan"' in top_bar(client.get("/index").text)
    data = {"username": "suzy", "about_me": "", "csrf_token": ""}
    assert client.post("/edit_profile", data=data).status_code == 302
    bar = top_bar(client.get("/index").text)
    assert 'href="/user/suzy"' in bar
    assert "/user/susan" not in bar


def marked(page: str) -> list[str]:
    """The links the top bar marks as the page shown."""
    return re.findall(r'href="([^"]+)"\s*aria-current="page"', top_bar(page))


def test_top_bar_marks_the_page_shown(app, make_user):
    make_user("susan")
    client = signed_in_client(app)
    for path, current in [("/explore", "/explore"), ("/", "/index")]:
        assert marked(client.get(path).text) == [current]


def test_top_bar_and_switcher_speak_the_readers_language(app, make_user):
    make_user("susan")
    client = signed_in_client(app)
    english = client.get("/explore").text
    chinese = client.get("/explore", headers=ZH).text
    assert ">Home<" in top_bar(english) and ">首頁<" in top_bar(chinese)
    assert "Language:" in english and "語言：" in chinese
    assert "語言：" not in english and "Language:" not in chinese


def test_switcher_comes_back_to_the_page_with_its_query(app, make_user):
    make_user("susan")
    client = signed_in_client(app)
    nexts = [
        re.search(r'<footer.*name="next" value="([^"]+)"', client.get(path).text, re.S)[
            1
        ]
        for path in ("/explore", "/explore?page=2", "/explore")
    ]
    assert nexts == ["/explore", "/explore?page=2", "/explore"]


def test_stored_parts_follow_the_mount_point(app, make_user):
    make_user("susan")
    client = signed_in_client(app)
    plain = client.get("/explore").text
    mounted = client.get("/explore", base_url="https://app.example.com/blog").text
    assert 'href="/user/susan"' in top_bar(plain)
    assert 'href="/blog/user/susan"' in top_bar(mounted)
    assert marked(mounted) == ["/blog/explore"]
    assert 'name="next" value="/explore"' in mounted


@dataclass(frozen=True)
class Reader:
    """Someone a stored part is shown to: who, their message, language and page."""

    username: str | None
    message: str | None
    accept_language: str
    page: str  # where they are (a whole page's example: only its query)


# Different people, messages, languages and pages; susan's address is unconfirmed
# (the banner) and her account's language Chinese. The last two are what a stored
# whole page is for: signed out, no message, no query.
READERS = (
    Reader("susan", "Susan's news", "zh-TW,zh;q=0.9", "/user/john?page=2"),
    Reader("john", "John's news", "en-US,en;q=0.9", "/explore"),
    Reader(None, "You have been signed out.", "zh-TW", "/login?next=%2Fexplore"),
    Reader(None, None, "zh-TW,zh;q=0.9", "/register"),
    Reader(None, None, "en-US,en;q=0.9", "/"),
)


@dataclass(frozen=True)
class Example:
    """How to show one stored part with one fixed key (a whole page: at path)."""

    show: Callable[[], str]
    path: str | None = None  # a page dispatched there; None: shown on any page


def dispatched() -> str:
    """The page this request asks for, through the app as a browser gets it."""
    from flask import current_app

    return current_app.full_dispatch_request().get_data(as_text=True)


def one_post() -> str:
    """A listed post, through posts_html() as a page lists it."""
    return render_template_string("{{ posts_html(posts) }}", posts=POST_ROWS)


POST_ROWS = []  # filled by the readers fixture: a real row of app.pagination
# One example per stored template, each with a fixed key (the language: en).
EXAMPLES = {
    "_navbar.html": Example(
        lambda: fragment("_navbar.html", endpoint="main.explore", signed_in=True)
    ),
    "_language_switcher.html": Example(lambda: fragment("_language_switcher.html")),
    "_post.html": Example(one_post),
    "_post_form.html": Example(dispatched, "/index"),
    "auth/login.html": Example(dispatched, "/login"),
    "auth/register.html": Example(dispatched, "/register"),
    "auth/reset_password_request.html": Example(dispatched, "/reset_password_request"),
}


@pytest.fixture
def readers_app(make_app, make_user):
    """An app checking CSRF tokens; susan (unconfirmed, Chinese), john, a post."""
    app = make_app(WTF_CSRF_ENABLED=True)
    susan = make_user("susan", locale="zh_Hant_TW")
    make_user("john", locale="en", email_confirmed_at=utcnow())
    with app.test_request_context("/explore"):
        db.session.add(Post(body="Hello <b>there</b>", user_id=susan))
        db.session.commit()
        POST_ROWS[:] = paginate(EVERYONES_POSTS).items
    return app


def stored_for_each_reader(app, template: str, example: Example) -> list:
    """What template's store holds after example is shown to each reader alone."""
    held = []
    for reader in READERS:
        for store in stores(app).values():
            store.clear()
        headers = {"Accept-Language": reader.accept_language}
        page = reader.page
        if example.path:
            page = urlunsplit(
                urlsplit(example.path)._replace(query=urlsplit(page).query)
            )
        with app.test_request_context(page, headers=headers):
            if reader.username:
                login_user(User.by_username(reader.username))
            if reader.message:
                flash(reader.message)
            with force_locale("en"):
                shown = example.show()
            assert "\x00" not in shown  # every slot filled
        entries = stores(app)[PARTS[template].store].entries
        held.append(list(entries.items()))
    return [entries for entries in held if entries]


@pytest.mark.parametrize("template", sorted(PARTS))
def test_a_stored_part_is_the_same_for_every_reader(readers_app, template):
    assert template in EXAMPLES, f"{template} is stored: add an example here"
    held = stored_for_each_reader(readers_app, template, EXAMPLES[template])
    assert len(held) >= 2, "stored for fewer than two readers: nothing compared"
    assert all(len(entries) == 1 for entries in held)  # one key, each time
    assert all(entries == held[0] for entries in held)  # same key, same bytes
    ((key, html),) = held[0]
    assert fragments.MARKERS["csrf_token"] in html or "csrf_token" not in html


LEAKS = {
    "the user": "{{ current_user.username }}",
    "the path": "<a href='{{ request.path }}'>",
    "the page's endpoint": "{{ request.endpoint }}",
    "the query": "{{ request.args }}",
    "a message": "{{ get_flashed_messages()|join }}",
    "the account's language": "{{ current_user.locale }}",
    "the session": "{{ session.get('_user_id') }}",
}


@pytest.mark.parametrize("leak", LEAKS)
def test_a_part_that_reads_outside_its_key_is_caught(readers_app, monkeypatch, leak):
    """The test above has teeth: a template showing the reader's data fails it."""
    loader = ChoiceLoader(
        [DictLoader({"_leak.html": LEAKS[leak]}), readers_app.jinja_env.loader]
    )
    monkeypatch.setattr(readers_app.jinja_env, "loader", loader)
    monkeypatch.setitem(PARTS, "_leak.html", Part("switcher", ()))
    example = Example(lambda: fragment("_leak.html"))
    held = stored_for_each_reader(readers_app, "_leak.html", example)
    assert len(held) == len(READERS)
    assert any(entries != held[0] for entries in held)


def test_a_part_is_stored_under_the_key_listed(readers_app):
    with readers_app.test_request_context("/explore"):
        with pytest.raises(TypeError, match="key is"):
            fragment("_navbar.html", path="/explore", username="susan")
        with pytest.raises(KeyError):
            fragment("_unlisted.html")


class BlankForm(FlaskForm):
    """A form with only a button."""

    submit = SubmitField("Go")


def test_a_page_with_the_address_banner_is_never_stored(readers_app, monkeypatch):
    page = '{% extends "base.html" %}{% block content %}{{ title }}{% endblock %}'
    loader = ChoiceLoader(
        [DictLoader({"_page.html": page}), readers_app.jinja_env.loader]
    )
    monkeypatch.setattr(readers_app.jinja_env, "loader", loader)
    monkeypatch.setitem(
        PARTS,
        "_page.html",
        Part("form pages", ("endpoint", "form", "title"), page=True),
    )
    store = stores(readers_app)["form pages"]
    with readers_app.test_request_context("/explore"):
        login_user(User.by_username("susan"))
        shown = blank_form_page("_page.html", BlankForm, title="A page")
    assert "susan@example.org" in shown  # the banner (in her Chinese)
    assert not store.entries
    with readers_app.test_request_context("/explore"):
        blank_form_page("_page.html", BlankForm, title="A page")
    assert len(store.entries) == 1  # signed out, the same page is stored


def test_no_store_holds_a_readers_address(readers_app):
    client = sign_in(readers_app, "susan")
    for path in (
        "/index",
        "/explore",
        "/user/susan",
        "/user/john",
        "/settings",
        "/edit_profile",
        "/nowhere",
    ):
        assert "susan@example.org" in client.get(path).text
    stored = [
        str(value)
        for store in stores(readers_app).values()
        for value in store.entries.values()
    ]
    assert stored
    assert not [html for html in stored if "susan@example.org" in html]


def test_keys_do_not_grow_with_traffic(csrf_app):
    client = sign_in(csrf_app, "susan")
    tokens = [secrets.token_urlsafe(16) for _ in range(333)]
    paths = (
        [f"/user/nobody{n}" for n in range(334)]
        + [f"/explore?page={n}" for n in range(1, 334)]
        + [f"/confirm_email/{token}" for token in tokens]
    )
    assert len(set(paths)) == 1_000
    for path in paths:
        assert "Sign out" in client.get(path).text
    assert 1 <= len(stores(csrf_app)["top bar"].entries) <= 3
    keys = repr([list(store.entries) for store in stores(csrf_app).values()])
    assert not [token for token in tokens if token in keys]
    assert "page=" not in keys and "nobody" not in keys


def test_a_store_keeps_its_newest_entries(app):
    store = Store(app, maxsize=3)
    for key in "abcd":
        store.get(key, str.upper, key)
    store.get("b", str.upper, "b")  # b is now the newest
    store.get("e", str.upper, "e")
    assert list(store.entries) == ["d", "b", "e"]
    assert (store.hits, store.misses) == (1, 5)
    assert store.stats()["entries"] == 3


def test_every_store_is_bounded():
    assert set(STORES) == {part.store for part in PARTS.values()} | {"paths"}
    assert all(0 < size <= 4096 for size in STORES.values())


def edited(template: str, marker: str) -> str:
    """template's text with marker shown where the page shows it."""
    if "{% block content %}" in template:
        return template.replace(
            "{% block content %}", "{% block content %}" + marker, 1
        )
    return marker + template


def test_auto_reload_turns_every_store_off(make_app, make_user, tmp_path):
    """Under `make run`, an edited stored template shows at once."""
    app = make_app(TEMPLATES_AUTO_RELOAD=True)
    make_user("susan")
    templates = Path(app.root_path, app.template_folder)
    for name in PARTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(templates / name, tmp_path / name)
    app.jinja_env.loader = ChoiceLoader(
        [FileSystemLoader(tmp_path), app.jinja_env.loader]
    )
    reader, visitor = signed_in_client(app), app.test_client()
    reader.post("/index", data={"post": "hello"})

    def pages() -> str:
        signed_in = [reader.get(path).text for path in ("/index", "/explore")]
        signed_out = [
            visitor.get(path).text
            for path in ("/login", "/register", "/reset_password_request")
        ]
        return "".join(signed_in + signed_out)

    pages()
    pages()
    for name in PARTS:
        path = tmp_path / name
        path.write_text(edited(path.read_text(), f"edited:{name}"))
        later = os.stat(path).st_mtime + 5
        os.utime(path, (later, later))
    shown = pages()
    assert [name for name in PARTS if f"edited:{name}" not in shown] == []
    assert all(not store.entries for store in stores(app).values())


def test_workers_write_their_store_counters_where_asked(make_app, tmp_path):
    """PAGE_STORE_STATS_DIR: the bench reads each worker's counters from there."""
    quiet = make_app()
    quiet.test_client().get("/login")
    fragments.write_stats(quiet)
    assert list(tmp_path.iterdir()) == []

    app = make_app(PAGE_STORE_STATS_DIR=str(tmp_path))
    for _ in range(3):
        app.test_client().get("/login")
    fragments.write_stats(app)
    stats = json.loads((tmp_path / f"{os.getpid()}.json").read_text())
    assert set(stats) == set(STORES)
    assert stats["form pages"] | {"bytes": 0} == {
        "hits": 2,
        "misses": 1,
        "entries": 1,
        "maxsize": STORES["form pages"],
        "bytes": 0,
    }
    assert stats["form pages"]["bytes"] > 1000
