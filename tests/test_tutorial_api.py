"""The Flask Mega-Tutorial's model API, used exactly as the tutorial writes it.

This file is a contract. People come from the tutorial and use these models
from `flask shell`, their own code and their own templates as it taught them:
a change that makes any test here fail is a breaking change, to be named as
one in the README, never a test to adjust quietly.
"""

from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template_string
from markupsafe import escape

from app import db
from app.models import Post, User


@pytest.fixture(autouse=True)
def ctx(app):
    """The tutorial's tests run inside an application context."""
    with app.app_context():
        yield


def test_password_hashing():
    u = User(username="susan", email="susan@example.com")
    u.set_password("cat")
    assert not u.check_password("dog")
    assert u.check_password("cat")


def test_avatar():
    u = User(username="john", email="john@example.com")
    assert u.avatar(128) == (
        "https://www.gravatar.com/avatar/"
        "d4c74594d841139328695756648b6bd6"
        "?d=identicon&s=128"
    )


def test_avatar_hashes_the_lowercased_address():
    u = User(username="john", email="John@Example.com")
    assert u.avatar(128) == User(username="j", email="john@example.com").avatar(128)


def test_follow():
    u1 = User(username="john", email="john@example.com")
    u2 = User(username="susan", email="susan@example.com")
    db.session.add(u1)
    db.session.add(u2)
    db.session.commit()
    following = db.session.scalars(u1.following.select()).all()
    followers = db.session.scalars(u2.followers.select()).all()
    assert following == []
    assert followers == []

    u1.follow(u2)
    db.session.commit()
    assert u1.is_following(u2)
    assert u1.following_count() == 1
    assert u2.followers_count() == 1
    u1_following = db.session.scalars(u1.following.select()).all()
    u2_followers = db.session.scalars(u2.followers.select()).all()
    assert u1_following[0].username == "susan"
    assert u2_followers[0].username == "john"

    u1.unfollow(u2)
    db.session.commit()
    assert not u1.is_following(u2)
    assert u1.following_count() == 0
    assert u2.followers_count() == 0


def test_follow_posts():
    # create four users
    u1 = User(username="john", email="john@example.com")
    u2 = User(username="susan", email="susan@example.com")
    u3 = User(username="mary", email="mary@example.com")
    u4 = User(username="david", email="david@example.com")
    db.session.add_all([u1, u2, u3, u4])

    # create four posts
    now = datetime.now(UTC)
    p1 = Post(body="post from john", author=u1, timestamp=now + timedelta(seconds=1))
    p2 = Post(body="post from susan", author=u2, timestamp=now + timedelta(seconds=4))
    p3 = Post(body="post from mary", author=u3, timestamp=now + timedelta(seconds=3))
    p4 = Post(body="post from david", author=u4, timestamp=now + timedelta(seconds=2))
    db.session.add_all([p1, p2, p3, p4])
    db.session.commit()

    # setup the followers
    u1.follow(u2)  # john follows susan
    u1.follow(u4)  # john follows david
    u2.follow(u3)  # susan follows mary
    u3.follow(u4)  # mary follows david
    db.session.commit()

    # check the following posts of each user
    f1 = db.session.scalars(u1.following_posts()).all()
    f2 = db.session.scalars(u2.following_posts()).all()
    f3 = db.session.scalars(u3.following_posts()).all()
    f4 = db.session.scalars(u4.following_posts()).all()
    assert f1 == [p2, p4, p1]
    assert f2 == [p2, p3]
    assert f3 == [p3, p4]
    assert f4 == [p4]


def test_reset_password_token():
    user = User(username="susan", email="susan@example.com")
    user.set_password("cat")
    db.session.add(user)
    db.session.commit()
    token = user.get_reset_password_token()
    assert User.verify_reset_password_token(token) == user
    assert User.verify_reset_password_token(token + "x") is None
    assert User.verify_reset_password_token("not a token") is None


def test_templates_use_the_models():
    u1 = User(username="john", email="john@example.com")
    u2 = User(username="susan", email="susan@example.com")
    db.session.add_all([u1, u2])
    db.session.add(Post(body="hi from susan", author=u2))
    u1.follow(u2)
    db.session.commit()
    # The tutorial's user.html header and _post.html, as it writes them.
    page = render_template_string(
        """
        <img src="{{ user.avatar(128) }}"><h1>User: {{ user.username }}</h1>
        {% for post in posts %}
        <table class="table table-hover"><tr>
          <td width="70px">
            <a href="{{ url_for('main.user', username=post.author.username) }}">
              <img src="{{ post.author.avatar(70) }}" />
            </a>
          </td>
          <td>
            <a href="{{ url_for('main.user', username=post.author.username) }}">
              {{ post.author.username }}
            </a>
            says:<br>
            {{ post.body }}
          </td>
        </tr></table>
        {% endfor %}
        """,
        user=u1,
        posts=db.session.scalars(u1.following_posts()).all(),
    )
    page = " ".join(page.split())
    assert f'<img src="{escape(u1.avatar(128))}"><h1>User: john</h1>' in page
    assert f'<img src="{escape(u2.avatar(70))}" />' in page
    assert '<a href="https://app.example.com/user/susan"> susan </a> says:' in page
    assert "says:<br> hi from susan" in page
