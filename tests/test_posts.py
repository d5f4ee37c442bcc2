"""Writing and reading posts: the home page, explore and pagination."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template_string

from app import db
from app.models import Post, User
from tests.conftest import AuthActions, field_error
from tests.test_errors import add_user

REQUIRED = "This field is required."
TOO_LONG = "Field must be between 1 and 140 characters long."


def post_bodies(app):
    """Every stored post body, oldest first."""
    with app.app_context():
        return db.session.scalars(sa.select(Post.body).order_by(Post.id)).all()


def add_posts(app, username, bodies, start=None):
    """Store posts for username a minute apart, in the order given."""
    start = start or datetime(2024, 1, 1, tzinfo=UTC)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        for minutes, body in enumerate(bodies):
            moment = start + timedelta(minutes=minutes)
            db.session.add(Post(body=body, author=user, timestamp=moment))
        db.session.commit()


@pytest.mark.parametrize("path", ["/", "/index", "/explore"])
def test_pages_require_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_index_redirects_to_login_with_next(client):
    response = client.get("/index")
    assert response.headers["Location"] == "/login?next=%2Findex"


def test_post_requires_login(app, client):
    response = client.post("/index", data={"post": "sneaky"})
    assert response.status_code == 302
    assert post_bodies(app) == []


def test_index_shows_form(client, auth, make_user):
    make_user()
    auth.login()
    response = client.get("/index")
    assert response.status_code == 200
    assert "Hi, susan!" in response.text
    assert 'name="post"' in response.text
    assert "No posts yet." in response.text


def test_post(app, client, auth, make_user):
    make_user()
    auth.login()
    response = client.post("/index", data={"post": "Hello, <world>!"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/index"
    page = client.get("/index").text
    assert "Your post is now live!" in page
    assert "Hello, &lt;world&gt;!" in page
    assert "<world>" not in page
    assert post_bodies(app) == ["Hello, <world>!"]


def test_post_of_140_characters(app, client, auth, make_user):
    make_user()
    auth.login()
    response = client.post("/index", data={"post": "x" * 140})
    assert response.status_code == 302
    assert post_bodies(app) == ["x" * 140]


@pytest.mark.parametrize(
    ("body", "message"),
    [("", REQUIRED), ("   ", REQUIRED), ("x" * 141, TOO_LONG)],
    ids=["empty", "blank", "too-long"],
)
def test_post_rejected(app, client, auth, make_user, body, message):
    make_user()
    auth.login()
    response = client.post("/index", data={"post": body})
    assert response.status_code == 200
    assert field_error(response, "post") == message
    assert post_bodies(app) == []


def test_explore_shows_everyone(app, client, auth, make_user):
    make_user("susan")
    make_user("john")
    add_posts(app, "john", ["john was here"])
    auth.login()
    assert "john was here" not in client.get("/index").text
    response = client.get("/explore")
    assert response.status_code == 200
    assert "john was here" in response.text
    assert 'href="/user/john"' in response.text
    assert 'name="post"' not in response.text


@pytest.fixture
def paged_app(make_app):
    """An app with three posts a page and seven posts by susan."""
    app = make_app(POSTS_PER_PAGE=3)
    add_user(app, "susan")
    add_posts(app, "susan", [f"Post #{number}" for number in range(1, 8)])
    return app


@pytest.fixture
def paged_client(paged_app):
    """A client of paged_app, signed in as susan."""
    client = paged_app.test_client()
    AuthActions(client).login()
    return client


def shown(response):
    """The post bodies on a page, top to bottom."""
    return re.findall(r'<p class="mb-0">(Post #\d)</p>', response.text)


def links(response):
    """The page's (newer, older) link addresses; None where a link is disabled."""
    found = {}
    for href, rel in re.findall(r'href="([^"#]+)" rel="(prev|next)"', response.text):
        found[rel] = html.unescape(href)
    return found.get("prev"), found.get("next")


@pytest.mark.parametrize("path", ["/index", "/explore", "/user/susan"])
def test_older_and_newer_links_walk_every_post_once(paged_client, path):
    first = paged_client.get(path)
    assert shown(first) == ["Post #7", "Post #6", "Post #5"]
    newer, older = links(first)
    assert newer is None
    assert 'href="#" aria-disabled="true" tabindex="-1">Newer posts' in first.text
    assert older.startswith(f"{path}?before=")

    second = paged_client.get(older)
    assert shown(second) == ["Post #4", "Post #3", "Post #2"]
    newer, older = links(second)
    assert newer.startswith(f"{path}?after=")

    last = paged_client.get(older)
    assert shown(last) == ["Post #1"]
    assert links(last)[1] is None
    assert 'href="#" aria-disabled="true" tabindex="-1">Older posts' in last.text

    back = paged_client.get(links(last)[0])
    assert shown(back) == ["Post #4", "Post #3", "Post #2"]
    top = paged_client.get(links(back)[0])
    assert shown(top) == ["Post #7", "Post #6", "Post #5"]
    assert links(top)[0] is None


@pytest.mark.parametrize("path", ["/index", "/explore", "/user/susan"])
def test_page_numbers_still_work_for_bookmarks(paged_client, path):
    second = paged_client.get(path, query_string={"page": 2})
    assert shown(second) == ["Post #4", "Post #3", "Post #2"]
    newer, older = links(second)
    assert shown(paged_client.get(newer)) == ["Post #7", "Post #6", "Post #5"]
    assert shown(paged_client.get(older)) == ["Post #1"]
    assert shown(paged_client.get(path, query_string={"page": 3})) == ["Post #1"]


def test_posts_at_the_same_instant_are_neither_skipped_nor_repeated(make_app):
    """Ties on time are broken by id, so a cursor lands between two of them."""
    app = make_app(POSTS_PER_PAGE=3)
    add_user(app, "susan")
    moment = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        for number in range(1, 9):
            db.session.add(Post(body=f"Post #{number}", author=user, timestamp=moment))
        db.session.commit()
    client = app.test_client()
    AuthActions(client).login()
    seen, address = [], "/explore"
    while address:
        page = client.get(address)
        seen += shown(page)
        address = links(page)[1]
    assert seen == [f"Post #{number}" for number in range(8, 0, -1)]


def test_a_new_post_does_not_shift_the_older_pages(paged_app, paged_client):
    """With page numbers a new post pushes one onto the next page twice."""
    older = links(paged_client.get("/explore"))[1]
    add_posts(paged_app, "susan", ["Post #8"], start=datetime(2025, 1, 1, tzinfo=UTC))
    assert shown(paged_client.get(older)) == ["Post #4", "Post #3", "Post #2"]


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        "1_",
        "_1",
        "-5_1",
        "1.5_2",
        "9" * 19 + "_1",
        "1_" + "9" * 19,
        "999999999999999999_1",
        "\u0661_1",
    ],
)
@pytest.mark.parametrize("direction", ["before", "after"])
def test_a_cursor_that_is_not_one_shows_the_first_page(paged_client, direction, cursor):
    response = paged_client.get("/explore", query_string={direction: cursor})
    assert response.status_code == 200
    assert shown(response) == ["Post #7", "Post #6", "Post #5"]


@pytest.mark.parametrize("page", [4, 99, 10**6 + 1, 10**30])
def test_page_past_the_end_is_empty(paged_client, page):
    response = paged_client.get("/index", query_string={"page": page})
    assert response.status_code == 200
    assert shown(response) == []
    assert "No posts yet." in response.text


@pytest.mark.parametrize("page", ["0", "-1", "abc", ""])
def test_page_not_positive_number_is_first(paged_client, page):
    response = paged_client.get("/index", query_string={"page": page})
    assert response.status_code == 200
    assert shown(response) == ["Post #7", "Post #6", "Post #5"]


def test_a_listed_post_shows_its_author_as_they_are_now(paged_app, paged_client):
    """Rendered posts are kept by what they show: a new name is a new entry."""
    assert ">susan</a>" in paged_client.get("/explore").text
    paged_client.post("/edit_profile", data={"username": "susanna"})
    with paged_app.app_context():
        user = db.session.scalar(sa.select(User))
        user.email = "new-address@example.org"
        db.session.commit()
    page = paged_client.get("/explore").text
    assert ">susan</a>" not in page
    assert page.count('<a class="fw-semibold" href="/user/susanna">susanna</a>') == 3
    assert html.escape(User(email="new-address@example.org").avatar(48)) in page
    chinese = paged_client.get("/explore", headers={"Accept-Language": "zh-TW"}).text
    assert "年前" in chinese or "個月前" in chinese


def test_links_follow_where_the_app_is_mounted(app):
    """Links built once per process are kept per mount point (SCRIPT_NAME)."""
    template = "{{ url_for('main.explore') }} {{ url_for('main.user', username='a b')}}"
    for base, prefix in [("", ""), ("/blog", "/blog"), ("", "")]:
        with app.test_request_context("/", base_url=f"http://localhost{base}"):
            expected = f"{prefix}/explore {prefix}/user/a%20b"
            assert render_template_string(template) == expected
