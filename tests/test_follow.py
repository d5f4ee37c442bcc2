"""Following and unfollowing other users, and what it does to the home page."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import db
from app.models import Post, User
from tests.conftest import AuthActions


def follows(app, follower, followed):
    """Whether follower follows followed, according to the database."""
    with app.app_context():
        users = {
            user.username: user
            for user in db.session.scalars(
                sa.select(User).where(User.username.in_([follower, followed]))
            )
        }
        return users[follower].is_following(users[followed])


def counts(client, username):
    """The followers/following line on a profile page."""
    response = client.get(f"/user/{username}")
    assert response.status_code == 200
    start = re.search(r" followers?, ", response.text).start()
    line_start = response.text.rindex("<p>", 0, start) + len("<p>")
    return response.text[line_start : response.text.index("</p>", start)]


def publish(app, username, body):
    """Sign username in on a new client and post body through the form."""
    client = app.test_client()
    AuthActions(client).login(username=username)
    response = client.post("/index", data={"post": body})
    assert response.status_code == 302


@pytest.fixture
def users(app, make_user):
    """Three accounts: susan, john and mary."""
    for name in ("susan", "john", "mary"):
        make_user(name)


@pytest.mark.usefixtures("users")
def test_follow_and_unfollow(app, client, auth):
    auth.login()
    profile = client.get("/user/john").text
    assert 'action="/follow/john"' in profile
    assert counts(client, "john") == "0 followers, 0 following."

    response = client.post("/follow/john")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/john"
    profile = client.get("/user/john").text
    assert "You are following john!" in profile
    assert 'action="/unfollow/john"' in profile
    assert counts(client, "john") == "1 follower, 0 following."
    assert counts(client, "susan") == "0 followers, 1 following."
    assert follows(app, "susan", "john")

    response = client.post("/unfollow/john")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/john"
    profile = client.get("/user/john").text
    assert "You are not following john." in profile
    assert 'action="/follow/john"' in profile
    assert counts(client, "john") == "0 followers, 0 following."
    assert counts(client, "susan") == "0 followers, 0 following."
    assert not follows(app, "susan", "john")


@pytest.mark.usefixtures("users")
def test_follow_twice_counts_once(client, auth):
    auth.login()
    client.post("/follow/john")
    response = client.post("/follow/john")
    assert response.status_code == 302
    assert counts(client, "john") == "1 follower, 0 following."


@pytest.mark.usefixtures("users")
def test_unfollow_when_not_following(client, auth):
    auth.login()
    response = client.post("/unfollow/john")
    assert response.status_code == 302
    assert counts(client, "john") == "0 followers, 0 following."


@pytest.mark.usefixtures("users")
def test_home_page_shows_followed_posts(app, client, auth):
    publish(app, "john", "news from john")
    publish(app, "mary", "news from mary")
    publish(app, "susan", "news from susan")
    auth.login()
    page = client.get("/index").text
    assert "news from susan" in page
    assert "news from john" not in page

    client.post("/follow/john")
    page = client.get("/index").text
    assert "news from susan" in page
    assert "news from john" in page
    assert "news from mary" not in page

    client.post("/unfollow/john")
    assert "news from john" not in client.get("/index").text


@pytest.mark.usefixtures("users")
def test_home_page_lists_what_following_posts_gives(app, client, auth):
    """One definition of a feed: the home page and User.following_posts() agree."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with app.app_context():
        people = {u.username: u for u in db.session.scalars(sa.select(User))}
        people["susan"].follow(people["john"])
        for n, name in enumerate(["john", "mary", "susan", "john", "susan", "mary"]):
            # Two posts share each instant: the id decides their order.
            moment = start + timedelta(seconds=n // 2)
            db.session.add(
                Post(body=f"post {n}", author=people[name], timestamp=moment)
            )
        db.session.commit()
        feed = db.session.scalars(people["susan"].following_posts()).all()
        expected = [post.body for post in feed]
    assert expected == ["post 4", "post 3", "post 2", "post 0"]
    auth.login()
    page = client.get("/index").text
    assert re.findall(r'<p class="mb-0">(post \d)</p>', page) == expected


@pytest.mark.usefixtures("users")
@pytest.mark.parametrize("name", ["susan", "SUSAN"])
def test_cannot_follow_yourself(app, client, auth, name):
    auth.login()
    response = client.post(f"/follow/{name}")
    assert response.status_code == 302
    assert counts(client, "susan") == "0 followers, 0 following."
    assert not follows(app, "susan", "susan")


@pytest.mark.usefixtures("users")
def test_follow_yourself_flashes(client, auth):
    auth.login()
    response = client.post("/follow/susan")
    assert response.headers["Location"] == "/user/susan"
    assert "You cannot follow yourself!" in client.get("/user/susan").text


@pytest.mark.usefixtures("users")
@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_unknown_user(client, auth, action):
    auth.login()
    response = client.post(f"/{action}/nobody")
    assert response.status_code == 302
    assert response.headers["Location"] == "/index"
    assert "User nobody not found." in client.get("/index").text


@pytest.mark.usefixtures("users")
@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_get_is_not_allowed(client, auth, action):
    auth.login()
    response = client.get(f"/{action}/john")
    assert response.status_code == 405
    assert "That page can&#39;t be used like that." in response.text
    assert counts(client, "john") == "0 followers, 0 following."


@pytest.mark.usefixtures("users")
def test_follow_requires_login(app, client):
    response = client.post("/follow/john")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Ffollow%2Fjohn"
    assert not follows(app, "susan", "john")
