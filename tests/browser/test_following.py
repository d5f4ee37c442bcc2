"""Following and unfollowing someone, and what it does to the home feed."""

from playwright.sync_api import expect

from .tour import Tour, add_posts, add_user, flash_texts, sign_in

PASSWORD = "tangerine lamp orbit 42"
DAVIDS_POST = "Hiking the ridge this weekend, who's in?"


def test_following(tour: Tour):
    """Find someone on Explore, follow them, see their posts at home, unfollow."""
    page, server = tour.page, tour.server
    add_user(server, "susan", PASSWORD)
    add_user(server, "david", PASSWORD, about_me="Mountains, mostly.")
    add_posts(server, "david", [DAVIDS_POST])

    tour.goto("/login", "sign-in")
    sign_in(tour, "susan", PASSWORD, "home-before-following")
    expect(page.get_by_text(DAVIDS_POST)).to_have_count(0)

    tour.click(page.get_by_role("link", name="Explore"), "explore")
    expect(page.get_by_text(DAVIDS_POST)).to_be_visible()
    tour.click(page.get_by_role("link", name="david"), "david-profile")
    expect(page.get_by_role("heading", name="david")).to_be_visible()
    expect(page.get_by_text("Mountains, mostly.")).to_be_visible()
    expect(page.get_by_text("0 followers, 0 following.")).to_be_visible()

    tour.click(page.get_by_role("button", name="Follow", exact=True), "followed")
    assert "You are following david!" in flash_texts(page)
    expect(page.get_by_text("1 follower, 0 following.")).to_be_visible()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()

    tour.click(page.get_by_role("link", name="Home"), "home-while-following")
    expect(page.get_by_text(DAVIDS_POST)).to_be_visible()

    tour.click(page.get_by_role("link", name="david"), "david-profile-again")
    tour.click(page.get_by_role("button", name="Unfollow"), "unfollowed")
    assert "You are not following david." in flash_texts(page)
    expect(page.get_by_text("0 followers, 0 following.")).to_be_visible()
    expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()

    tour.click(page.get_by_role("link", name="Home"), "home-after-unfollowing")
    expect(page.get_by_text(DAVIDS_POST)).to_have_count(0)
