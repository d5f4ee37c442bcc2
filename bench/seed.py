"""Fill a migrated database with users, follows and posts, fast (bulk inserts)."""

import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app import db
from app.models import Post, User, followers, normalize_email

READER = "reader"
PASSWORD = "benchmark passphrase that is long"


def seed(users: int, posts: int, follows: int = 50) -> None:
    """users accounts (one hash shared), posts spread over them, reader follows some."""
    reader = User(username=READER, email=f"{READER}@example.org")
    reader.set_password(PASSWORD)
    db.session.add(reader)
    db.session.commit()
    shared_hash = reader.password_hash
    db.session.execute(
        sa.insert(User),
        [
            {
                "username": f"user{n}",
                "email": f"user{n}@example.org",
                "email_key": normalize_email(f"user{n}@example.org"),
                "password_hash": shared_hash,
                "session_token": secrets.token_urlsafe(32),
                "active": True,
            }
            for n in range(users - 1)
        ],
    )
    ids = db.session.scalars(sa.select(User.id).where(User.id != reader.id)).all()
    db.session.execute(
        sa.insert(followers),
        [{"follower_id": reader.id, "followed_id": i} for i in ids[:follows]],
    )
    start = datetime.now(UTC) - timedelta(days=30)
    for first in range(0, posts, 10_000):
        db.session.execute(
            sa.insert(Post),
            [
                {
                    "body": f"Post number {n} with a few words in it.",
                    "user_id": ids[n % len(ids)],
                    "timestamp": start + timedelta(seconds=n),
                }
                for n in range(first, min(posts, first + 10_000))
            ],
        )
    db.session.commit()
