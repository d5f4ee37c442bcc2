"""Writing and reading posts: the home page, explore and pagination."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import db
from app.models import Post, User
from tests.conftest import PASSWORD, AuthActions, field_error

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
    with app.app_context():
        user = User(username="susan", email="susan@example.org")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
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


@pytest.mark.parametrize("path", ["/index", "/explore", "/user/susan"])
def test_pagination(paged_client, path):
    first = paged_client.get(path)
    assert shown(first) == ["Post #7", "Post #6", "Post #5"]
    assert re.search(rf'href="{path}\?page=2"[^>]*>Older posts', first.text)
    assert ">Page 1<" in first.text

    second = paged_client.get(path, query_string={"page": 2})
    assert shown(second) == ["Post #4", "Post #3", "Post #2"]
    assert re.search(rf'href="{path}\?page=1"[^>]*>Newer posts', second.text)
    assert re.search(rf'href="{path}\?page=3"[^>]*>Older posts', second.text)

    last = paged_client.get(path, query_string={"page": 3})
    assert shown(last) == ["Post #1"]
    assert 'href="#" aria-disabled="true" tabindex="-1">Older posts' in last.text


@pytest.mark.parametrize("page", [4, 99])
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
