"""Writing posts, and reaching them through the phone-sized navigation menu."""

from urllib.parse import urlsplit

from playwright.sync_api import expect

from .tour import PHONE, Tour, add_user, flash_texts, sign_in

PASSWORD = "tangerine lamp orbit 42"


def test_posting(tour: Tour):
    """Sign in via the redirect, post, see it escaped, dismiss the alert."""
    page, server = tour.page, tour.server
    add_user(server, "susan", PASSWORD)

    tour.goto("/index", "home-needs-sign-in")
    assert urlsplit(page.url).path == "/login"
    assert "Please sign in to see this page." in flash_texts(page)
    sign_in(tour, "susan", PASSWORD, "home-empty")
    assert urlsplit(page.url).path == "/index"
    expect(page.get_by_text("No posts yet.")).to_be_visible()

    # An empty post is refused, with the reason next to the field.
    post = page.get_by_label("Say something")
    tour.click(page.get_by_role("button", name="Post"), "empty-post-refused")
    expect(post).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#post-error")).to_have_text("This field is required.")

    post.fill("Hello from a real browser!")
    tour.click(page.get_by_role("button", name="Post"), "first-post")
    assert "Your post is now live!" in flash_texts(page)
    posts = page.locator("article")
    expect(posts).to_have_count(1)
    expect(posts.first).to_contain_text("Hello from a real browser!")
    expect(posts.first.get_by_role("link", name="susan")).to_be_visible()

    # Markup in a post is shown as text, never run or rendered.
    page.get_by_label("Say something").fill("<b>not bold</b> <script>x()</script>")
    tour.click(page.get_by_role("button", name="Post"), "second-post")
    expect(posts).to_have_count(2)
    expect(posts.first.locator("p")).to_have_text(
        "<b>not bold</b> <script>x()</script>"
    )
    expect(posts.first.locator("b")).to_have_count(0)

    # The flashed message is dismissible (Bootstrap's script is loaded and allowed).
    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    alert.get_by_role("button", name="Close").click()
    expect(alert).to_have_count(0)

    # On a phone the links fold into a menu that opens.
    page.set_viewport_size(PHONE)
    explore = page.get_by_role("link", name="Explore")
    expect(explore).to_be_hidden()
    page.get_by_role("button", name="Toggle navigation").click()
    expect(explore).to_be_visible()
    tour.click(explore, "explore-from-phone-menu")
    assert urlsplit(page.url).path == "/explore"
    expect(page.get_by_role("heading", name="Explore")).to_be_visible()
    expect(page.locator("article")).to_have_count(2)
