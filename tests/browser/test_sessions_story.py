"""Two devices in a real browser: sign one out, take the data, delete the account."""

import json
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, expect

from app.account.email import GOODBYE_SUBJECT

from .tour import Tour, add_user, flash_texts

USERNAME = "ben"
EMAIL = "ben@example.org"
PASSWORD = "ben grows tomatoes on his balcony"
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def fill_sign_in(page: Page) -> None:
    """Fill the sign-in form on the current page."""
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(PASSWORD)


def subjects(tour: Tour) -> list[str]:
    """The subjects of the mail received so far."""
    return [message["Subject"] for _, message in tour.server.inbox.messages]


def test_sessions_story(tour: Tour, browser: Browser):
    """Sign in on two devices, end the other one, export, delete, register again."""
    page, server = tour.page, tour.server
    add_user(server, USERNAME, PASSWORD)

    # Sign in here (checked), and on a phone in a second context (not checked).
    tour.goto("/login", "login")
    fill_sign_in(page)
    tour.click(page.get_by_role("button", name="Sign in", exact=True), "home")
    assert urlsplit(page.url).path == "/index"
    phone_context = browser.new_context(user_agent=IPHONE_UA, locale="en-GB")
    try:
        phone = phone_context.new_page()
        phone.goto(server.url("/login"))
        fill_sign_in(phone)
        with phone.expect_navigation():
            phone.get_by_role("button", name="Sign in", exact=True).click()
        assert urlsplit(phone.url).path == "/index"

        # Settings -> sessions: two, this one marked.
        tour.click(page.get_by_role("link", name="Settings", exact=True), "settings")
        see = page.get_by_role("link", name="See and sign out sessions")
        tour.click(see, "sessions")
        assert urlsplit(page.url).path == "/sessions"
        heading = page.get_by_role("heading", name="Where you're signed in")
        expect(heading).to_be_visible()
        records = page.locator("main li")
        expect(records).to_have_count(2)
        expect(records.filter(has_text="this device")).to_have_count(1)
        other = records.filter(has_not_text="this device")
        expect(other).to_have_count(1)
        expect(other).to_contain_text("iOS")
        button = other.get_by_role("button", name="Sign out this session")
        tour.click(button, "other-signed-out")
        assert urlsplit(page.url).path == "/sessions"
        assert "That session was signed out." in flash_texts(page)
        expect(records.filter(has_text="signed out")).to_have_count(1)

        # The phone is signed out at its next request.
        phone.goto(server.url("/settings"))
        assert urlsplit(phone.url).path == "/login", phone.url
    finally:
        phone_context.close()

    # Take the data: one JSON file.
    tour.click(page.get_by_role("link", name="Back to settings"), "settings-again")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download your data (JSON)").click()
    download = info.value
    # Chromium ends a navigation that turns into a download as "aborted".
    aborted = f"request failed: {server.url('/account/export')} net::ERR_ABORTED"
    assert aborted in tour.errors, tour.errors
    tour.errors.remove(aborted)
    assert download.suggested_filename == f"microblog-{USERNAME}.json"
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["profile"]["username"] == USERNAME
    assert data["profile"]["email"] == EMAIL
    assert len(data["sessions"]) == 2
    assert urlsplit(page.url).path == "/settings"

    # Delete the account: goodbye, by flash and by mail.
    delete = page.get_by_role("link", name="Delete your account")
    tour.click(delete, "delete")
    assert urlsplit(page.url).path == "/account/delete"
    page.get_by_label("Current password").fill(PASSWORD)
    button = page.get_by_role("button", name="Delete my account and everything in it")
    tour.click(button, "deleted")
    assert urlsplit(page.url).path == "/login"
    assert any("Goodbye" in text for text in flash_texts(page))
    assert str(GOODBYE_SUBJECT) == "[Microblog] Your account was deleted"
    assert subjects(tour).count(str(GOODBYE_SUBJECT)) == 1
    goodbye = next(
        recipients
        for recipients, message in server.inbox.messages
        if message["Subject"] == str(GOODBYE_SUBJECT)
    )
    assert goodbye == [EMAIL]

    # The name and the address are free again.
    tour.goto("/register", "register-again")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    tour.click(page.get_by_role("button", name="Register"), "registered-again")
    assert urlsplit(page.url).path == "/login"
    assert any(text.startswith("Welcome!") for text in flash_texts(page))
