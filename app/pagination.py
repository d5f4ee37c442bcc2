"""Pages of posts, newest first: older and newer pages by keyset cursor.

A cursor names the post a page starts after (its time and id), so page 2,000
costs what page 1 does: the database seeks to the cursor in the timeline index
instead of counting past every newer post, as `?page=N` (kept for bookmarks)
must. Each page is one statement; fetching one row more than a page tells
whether another page follows, so nothing counts the whole table.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app, request

from app import db
from app.fragments import template_url_for
from app.models import NEWEST_FIRST, Post, Timeline, User, read

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# "<microseconds since 1970>_<post id>"; bounded so no value overflows a driver.
CURSOR = re.compile(r"([0-9]{1,18})_([0-9]{1,18})")
# Past this, ?page=N is treated as past the end (an offset must stay a 64-bit int).
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Cursor:
    """A place in the timeline: just after this post's (time, id)."""

    timestamp: datetime
    id: int

    @classmethod
    def of(cls, post: sa.Row) -> "Cursor":
        """The cursor at post."""
        return cls(post.timestamp, post.id)

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        """The cursor text spells, or None for anything else."""
        match = CURSOR.fullmatch(text or "")
        if match is None:
            return None
        micros, post_id = (int(part) for part in match.groups())
        try:
            return cls(EPOCH + micros * MICROSECOND, post_id)
        except OverflowError:  # beyond the year 9999
            return None

    def params(self) -> dict:
        """The cursor's values for a page statement's parameters."""
        return {"timestamp": self.timestamp, "id": self.id}

    def __str__(self) -> str:
        return f"{(self.timestamp - EPOCH) // MICROSECOND}_{self.id}"


@dataclass
class Page:
    """One page of posts and the links to the pages around it (None: no page)."""

    items: list[sa.Row]
    newer_url: str | None
    older_url: str | None

    def __iter__(self):
        return iter(self.items)


# A listed post: its own columns, and its author's name and address.
LISTED = (
    Post.id,
    Post.body,
    Post.timestamp,
    User.username.label("author"),
    User.email.label("author_email"),
)
OLDEST_FIRST = (Post.timestamp.asc(), Post.id.asc())
PLACE = sa.tuple_(Post.timestamp, Post.id)
CURSOR_PLACE = sa.tuple_(
    sa.bindparam("timestamp", type_=Post.timestamp.type), sa.bindparam("id")
)


@cache
def page_statement(timeline: Timeline, direction: str, dialect: str) -> sa.Select:
    """One kind of page of a timeline, built once: "older" or "newer" than a
    cursor, or "numbered" (the statement's SQL cache key is then memoized)."""
    if timeline.authors is not None and dialect == "postgresql":
        return fanned_out(timeline.authors, direction)
    query = timeline.posts.with_only_columns(*LISTED).join(Post.author)
    if direction == "older":
        query = query.where(PLACE < CURSOR_PLACE).order_by(*NEWEST_FIRST)
    elif direction == "newer":
        query = query.where(PLACE > CURSOR_PLACE).order_by(*OLDEST_FIRST)
    else:
        query = query.order_by(*NEWEST_FIRST).offset(sa.bindparam("offset"))
    return query.limit(sa.bindparam("limit"))


def fanned_out(authors: sa.CompoundSelect, direction: str) -> sa.Select:
    """A page of a few authors' posts: each author's newest (from the cursor on),
    read from their own (user_id, timestamp, id) index, then merged.

    Filtering everyone's timeline for them instead reads past every post by
    someone else: 10,000 rows for a page of a reader who follows 50 of 10,000
    people. SQLite has no LATERAL; it keeps the filter.
    """
    who = authors.subquery("authors")
    own = sa.select(Post).where(Post.user_id == who.c.author_id)
    if direction == "older":
        own = own.where(PLACE < CURSOR_PLACE)
    elif direction == "newer":
        own = own.where(PLACE > CURSOR_PLACE)
    # Each author can give at most the whole page (numbered: and the pages before).
    each = sa.bindparam("offset") + sa.bindparam("limit")
    newest_first = direction != "newer"
    own = own.order_by(*(NEWEST_FIRST if newest_first else OLDEST_FIRST))
    post = own.limit(each).lateral("post")
    page = (
        sa.select(post.c.id, post.c.body, post.c.timestamp, post.c.user_id)
        .select_from(who)
        .join(post, sa.true())
        .order_by(*timeline_order(post, newest_first))
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
        .subquery("page")
    )
    # Authors are joined to the page, not to every candidate post.
    return (
        sa.select(
            page.c.id,
            page.c.body,
            page.c.timestamp,
            User.username.label("author"),
            User.email.label("author_email"),
        )
        .join(User, User.id == page.c.user_id)
        .order_by(*timeline_order(page, newest_first))
    )


def timeline_order(posts, newest_first: bool) -> tuple:
    """ORDER BY for a subquery's posts: by time, then id."""
    if newest_first:
        return posts.c.timestamp.desc(), posts.c.id.desc()
    return posts.c.timestamp.asc(), posts.c.id.asc()


def paginate(timeline: Timeline, **params) -> Page:
    """The page of a timeline (app.models) the request asks for.

    `?before=<cursor>`: the page older than the cursor; `?after=<cursor>`: the
    page newer than it; `?page=N`: the Nth page from the top (bookmarks).
    """
    per_page = current_app.config["POSTS_PER_PAGE"]
    # One row more than a page tells whether another page follows.
    params |= {"limit": per_page + 1, "offset": 0}
    before = Cursor.parse(request.args.get("before"))
    after = Cursor.parse(request.args.get("after"))
    if before is not None:
        rows = fetch(timeline, "older", params | before.params())
        return page_of(rows[:per_page], newer=True, older=len(rows) > per_page)
    if after is not None:
        rows = fetch(timeline, "newer", params | after.params())
        if len(rows) > per_page:
            return page_of(rows[per_page - 1 :: -1], newer=True, older=True)
        number = 1  # back at the top: the first page whole, as its own link shows it
    else:
        number = max(request.args.get("page", 1, type=int), 1)
    if number > MAX_PAGE:
        return page_of([], newer=True, older=False)
    rows = fetch(timeline, "numbered", params | {"offset": (number - 1) * per_page})
    return page_of(rows[:per_page], newer=number > 1, older=len(rows) > per_page)


def fetch(timeline: Timeline, direction: str, params: dict) -> list[sa.Row]:
    """The rows of one kind of page of timeline."""
    dialect = db.session.get_bind().dialect.name
    statement = page_statement(timeline, direction, dialect)
    return list(read(statement, params))


def page_of(items: list[sa.Row], newer: bool, older: bool) -> Page:
    """A page of items with links to the next newer and older pages."""
    if not items:  # past the end: the way back is the top
        return Page(items=items, newer_url=here() if newer else None, older_url=None)
    return Page(
        items=items,
        newer_url=here(after=Cursor.of(items[0])) if newer else None,
        older_url=here(before=Cursor.of(items[-1])) if older else None,
    )


def here(**cursor: Cursor) -> str:
    """This page's address, at cursor (the top without one)."""
    path = template_url_for(request.endpoint, **request.view_args)
    # A cursor spells only digits and "_": nothing in it needs quoting.
    query = "&".join(f"{name}={value}" for name, value in cursor.items())
    return f"{path}?{query}" if query else path
