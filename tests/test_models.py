"""Model behaviour, including the Mega-Tutorial's own model tests."""

from datetime import UTC, datetime, timedelta

import pytest

from app import db
from app.models import FEED, Post, User


@pytest.fixture
def ctx(app):
    """An application context for tests that use the models directly."""
    with app.app_context():
        yield


@pytest.mark.usefixtures("ctx")
def test_password_hashing():
    u = User(username="susan", email="susan@example.com")
    u.set_password("cat")
    assert not u.check_password("dog")
    assert u.check_password("cat")


@pytest.mark.usefixtures("ctx")
def test_avatar():
    u = User(username="john", email="john@example.com")
    assert u.avatar(128) == (
        "https://www.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?d=identicon&s=128"
    )


@pytest.mark.usefixtures("ctx")
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


@pytest.mark.usefixtures("ctx")
def test_follow_posts():
    u1 = User(username="john", email="john@example.com")
    u2 = User(username="susan", email="susan@example.com")
    u3 = User(username="mary", email="mary@example.com")
    u4 = User(username="david", email="david@example.com")
    db.session.add_all([u1, u2, u3, u4])

    now = datetime.now(UTC)
    p1 = Post(body="post from john", author=u1, timestamp=now + timedelta(seconds=1))
    p2 = Post(body="post from susan", author=u2, timestamp=now + timedelta(seconds=4))
    p3 = Post(body="post from mary", author=u3, timestamp=now + timedelta(seconds=3))
    p4 = Post(body="post from david", author=u4, timestamp=now + timedelta(seconds=2))
    db.session.add_all([p1, p2, p3, p4])
    db.session.commit()

    u1.follow(u2)
    u1.follow(u4)
    u2.follow(u3)
    u3.follow(u4)
    db.session.commit()

    def feed(user):
        newest_first = FEED.posts.order_by(Post.timestamp.desc())
        return db.session.scalars(newest_first, {"reader_id": user.id}).all()

    f1, f2, f3, f4 = feed(u1), feed(u2), feed(u3), feed(u4)
    assert f1 == [p2, p4, p1]
    assert f2 == [p2, p3]
    assert f3 == [p3, p4]
    assert f4 == [p4]
