"""Editing your profile: a taken name is refused in place, a free one is saved."""

from urllib.parse import urlsplit

from playwright.sync_api import expect

from .tour import Tour, add_user, flash_texts, sign_in

PASSWORD = "tangerine lamp orbit 42"
ABOUT = "I test things in real browsers."


def test_profile_edit(tour: Tour):
    """Change username and about-me from the profile page, and see them shown."""
    page, server = tour.page, tour.server
    add_user(server, "susan", PASSWORD)
    add_user(server, "david", PASSWORD)

    tour.goto("/login", "sign-in")
    sign_in(tour, "susan", PASSWORD, "home")
    tour.click(page.get_by_role("link", name="Profile"), "own-profile")
    assert urlsplit(page.url).path == "/user/susan"
    nav_link = page.get_by_role("link", name="Profile", exact=True)
    expect(nav_link).to_have_attribute("aria-current", "page")

    tour.click(page.get_by_role("link", name="Edit your profile"), "edit-form")
    username = page.get_by_label("Username")
    expect(username).to_have_value("susan")
    expect(username).to_have_attribute("autocomplete", "username")

    username.fill("David")
    tour.click(page.get_by_role("button", name="Save"), "name-taken")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#username-error")).to_have_text(
        "That username is taken; please choose another."
    )

    username.fill("susan_q")
    page.get_by_label("About me").fill(ABOUT)
    tour.click(page.get_by_role("button", name="Save"), "saved")
    assert "Your changes have been saved." in flash_texts(page)
    expect(page.get_by_label("Username")).to_have_value("susan_q")
    expect(page.get_by_label("About me")).to_have_value(ABOUT)

    tour.click(page.get_by_role("link", name="Profile"), "renamed-profile")
    assert urlsplit(page.url).path == "/user/susan_q"
    expect(page.get_by_role("heading", name="susan_q")).to_be_visible()
    expect(page.get_by_text(ABOUT)).to_be_visible()
