"""Posts, who follows whom, and the statements that list posts (timelines)."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app import db
from app.models.clock import Timestamp, utcnow

followers = sa.Table(
    "followers",
    db.metadata,
    sa.Column(
        "follower_id",
        sa.Integer,
        sa.ForeignKey("user.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "followed_id",
        sa.Integer,
        sa.ForeignKey("user.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # The primary key serves "whom does X follow"; this serves "who follows X".
    sa.Index("ix_followers_followed_id", "followed_id"),
)


class Post(db.Model):
    """A short message a user published."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    body: so.Mapped[str] = so.mapped_column(sa.String(140))
    timestamp: so.Mapped[datetime] = so.mapped_column(Timestamp(), default=utcnow)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE")
    )

    author: so.Mapped["User"] = so.relationship(back_populates="posts")  # noqa: F821

    # Pages are read newest first and resume after a (timestamp, id) cursor
    # (app.pagination): these indexes let any page start with one seek.
    __table_args__ = (
        sa.Index("ix_post_timeline", "timestamp", "id"),
        sa.Index("ix_post_user_timeline", "user_id", "timestamp", "id"),
    )

    def __repr__(self) -> str:
        return f"<Post {self.body}>"


# Statements pages run on every view, built once with parameters: building one
# and its SQL cache key anew rivals running it (docs/benchmarks.md).
FOLLOWERS_OF = sa.select(sa.func.count()).where(
    followers.c.followed_id == sa.bindparam("profile_id")
)
FOLLOWED_BY = sa.select(sa.func.count()).where(
    followers.c.follower_id == sa.bindparam("profile_id")
)


def read(statement: sa.Executable, params: dict) -> sa.CursorResult:
    """Plain rows of statement: the ORM's execution path costs more than the query."""
    return db.session.connection().execute(statement, params)


@dataclass(frozen=True)
class Timeline:
    """Posts a page lists (app.pagination orders and pages them).

    authors: when the posts are those of a few authors (a feed), their ids; a
    database that can (PostgreSQL's LATERAL) then reads each author's newest
    posts from their own index instead of filtering everyone's timeline.
    """

    posts: sa.Select
    authors: sa.CompoundSelect | None = None


NEWEST_FIRST = (Post.timestamp.desc(), Post.id.desc())
EVERYONES_POSTS = Timeline(sa.select(Post))
POSTS_BY = Timeline(sa.select(Post).where(Post.user_id == sa.bindparam("author_id")))
# A reader's feed: the people they follow, and themselves.
FEED_AUTHORS = sa.union(
    sa.select(followers.c.followed_id.label("author_id")).where(
        followers.c.follower_id == sa.bindparam("reader_id")
    ),
    sa.select(sa.bindparam("reader_id", type_=sa.Integer).label("author_id")),
)
FEED = Timeline(
    sa.select(Post).where(Post.user_id.in_(FEED_AUTHORS)), authors=FEED_AUTHORS
)
