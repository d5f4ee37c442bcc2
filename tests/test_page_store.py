"""Stored parts of pages (the top bar, the language switcher): right for each reader."""

import re

from app.fragments import stores
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
