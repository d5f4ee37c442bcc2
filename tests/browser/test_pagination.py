"""Paging through posts with the Older and Newer controls."""

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from .tour import add_posts, add_user, sign_in

PASSWORD = "tangerine lamp orbit 42"


def test_pagination(serve, make_tour):
    """Seven posts, three a page: page through home and a profile."""
    server = serve(POSTS_PER_PAGE=3)
    tour = make_tour(server)
    page = tour.page
    add_user(server, "susan", PASSWORD)
    add_posts(server, "susan", [f"Post number {n}" for n in range(1, 8)])
    bodies = page.locator("article p")
    older = page.get_by_role("link", name="Older posts")
    newer = page.get_by_role("link", name="Newer posts")

    tour.goto("/login", "sign-in")
    sign_in(tour, "susan", PASSWORD, "home-page-1")
    expect(bodies).to_have_text(["Post number 7", "Post number 6", "Post number 5"])
    expect(newer).to_have_attribute("aria-disabled", "true")

    tour.click(older, "home-page-2")
    # Older pages resume after the last post shown (its time and id).
    assert list(parse_qs(urlsplit(page.url).query)) == ["before"]
    expect(bodies).to_have_text(["Post number 4", "Post number 3", "Post number 2"])

    tour.click(older, "home-page-3")
    expect(bodies).to_have_text(["Post number 1"])
    expect(older).to_have_attribute("aria-disabled", "true")

    tour.click(newer, "home-page-2-again")
    expect(bodies).to_have_text(["Post number 4", "Post number 3", "Post number 2"])
    tour.click(newer, "home-page-1-again")
    expect(bodies).to_have_text(["Post number 7", "Post number 6", "Post number 5"])
    expect(newer).to_have_attribute("aria-disabled", "true")

    # A bookmarked page number still opens that page.
    tour.goto("/index?page=2", "bookmarked-page-2")
    expect(bodies).to_have_text(["Post number 4", "Post number 3", "Post number 2"])

    # A profile pages the same way, keeping its own address.
    tour.goto("/user/susan", "profile-page-1")
    expect(bodies).to_have_text(["Post number 7", "Post number 6", "Post number 5"])
    tour.click(older, "profile-page-2")
    assert urlsplit(page.url).path == "/user/susan"
    expect(bodies).to_have_text(["Post number 4", "Post number 3", "Post number 2"])
