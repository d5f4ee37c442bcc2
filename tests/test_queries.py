"""SQL statements per page: a small constant, whatever the page size."""

import html
import re

import pytest
import sqlalchemy as sa

from app import db
from app.models import Post, User
from tests.conftest import PASSWORD


def posts_shown(path, per_page):
    """How many posts path should list: 120 posts by 30 authors, 4 each."""
    return {"/user/author0": min(4, per_page), "/user/reader": 0}.get(
        path, min(120, per_page)
    )


PAGES = ["/index", "/explore", "/user/author0", "/user/reader"]


def statements_per_page(make_app, per_page):
    """Log in as a reader following 30 authors; count statements per page."""
    app = make_app(POSTS_PER_PAGE=per_page)
    with app.app_context():
        reader = User(username="reader", email="reader@example.org")
        reader.set_password(PASSWORD)
        authors = [
            User(username=f"author{n}", email=f"author{n}@example.org")
            for n in range(30)
        ]
        db.session.add_all([reader, *authors])
        db.session.flush()
        for n in range(120):
            db.session.add(Post(body=f"post {n}", user_id=authors[n % 30].id))
        for author in authors:
            reader.follow(author)
        db.session.commit()
        engine = db.engine
    client = app.test_client()
    client.post("/login", data={"username": "reader", "password": PASSWORD})
    client.get("/index")  # the once-a-minute last_seen write happens here
    counts = {}
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        for path in PAGES:
            statements.clear()
            response = client.get(path)
            assert response.status_code == 200
            assert response.text.count("<article") == posts_shown(path, per_page)
            counts[path] = len(statements)
            # Deeper pages, by cursor and by number, cost the same statements.
            older = re.search(r'href="([^"#]+)" rel="next"', response.text)
            for deeper in [html.unescape(older[1])] if older else []:
                statements.clear()
                assert client.get(deeper).text.count("<article") > 0
                counts[deeper.split("=")[0]] = len(statements)
            statements.clear()
            client.get(path, query_string={"page": 2})
            counts[f"{path}?page="] = len(statements)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return counts


@pytest.mark.parametrize("per_page", [5, 50])
def test_pages_use_at_most_five_statements(make_app, per_page):
    counts = statements_per_page(make_app, per_page)
    assert all(count <= 5 for count in counts.values()), counts


def test_statement_count_does_not_grow_with_page_size(make_app):
    assert statements_per_page(make_app, 5) == statements_per_page(make_app, 50)
