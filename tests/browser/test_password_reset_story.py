"""The whole story in a real browser: register, forget, reset by mail, sign in."""

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from app.auth.email import CONFIRM_SUBJECT

from .tour import Tour, flash_texts, sign_in

# Passphrases as people type them: their own name inside is fine.
PASSWORD = "mike rides his bike to work"
NEW_PASSWORD = "a brand new password for mike"
GUESSABLE = "mike@example.org 2024"
USERNAME = "mike"
EMAIL = "mike@example.org"


def mail_part(message, content_type: str) -> str:
    """The text of a received message's part of content_type."""
    return next(
        part.get_content()
        for part in message.walk()
        if part.get_content_type() == content_type
    )


def test_password_reset_story(tour: Tour):
    """Register, sign out, reset by the emailed link, sign in with the new password."""
    page, server = tour.page, tour.server

    # Register, first getting a mistake pointed out next to its field.
    tour.goto("/register", "register")
    for name in ("Password", "Repeat password"):
        expect(page.get_by_label(name, exact=True)).to_have_attribute(
            "autocomplete", "new-password"
        )
    expect(page.get_by_text("At least 15 characters")).to_be_visible()
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD + " typo")
    tour.click(page.get_by_role("button", name="Register"), "register-mismatch")
    repeat = page.get_by_label("Repeat password")
    expect(repeat).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password2-error")).to_have_text("The passwords don't match.")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    repeat.fill(PASSWORD)
    tour.click(page.get_by_role("button", name="Register"), "registered")
    assert urlsplit(page.url).path == "/login"
    welcome = f"Welcome! We've sent a link to {EMAIL} to confirm your address."
    assert any(text.startswith(welcome) for text in flash_texts(page))
    # The confirmation link waits in the mailbox; this story leaves it there.
    assert [m["Subject"] for _, m in server.inbox.messages] == [CONFIRM_SUBJECT]
    server.inbox.messages.clear()

    # Sign in, then out through the navigation bar.
    sign_in(tour, USERNAME, PASSWORD, "home-first-visit")
    expect(page.get_by_role("heading", name=f"Hi, {USERNAME}!")).to_be_visible()
    tour.click(page.get_by_role("button", name="Sign out"), "signed-out")
    assert "You have been signed out." in flash_texts(page)

    # Forgot the password: ask for a link.
    tour.click(page.get_by_role("link", name="Forgot your password?"), "forgot")
    expect(page.get_by_text("stays valid for 30 minutes")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    assert server.inbox.messages == []
    tour.click(page.get_by_role("button", name="Send reset link"), "link-requested")
    assert urlsplit(page.url).path == "/login"
    assert any("we've sent it a link" in text for text in flash_texts(page))

    # The real SMTP server got one mail, to the address, with one link.
    assert len(server.inbox.messages) == 1
    recipients, message = server.inbox.messages[0]
    assert recipients == [EMAIL]
    text = mail_part(message, "text/plain")
    links = re.findall(r"http://\S+/reset_password/\S+", text)
    assert len(links) == 1
    link = links[0]
    assert link.startswith(server.origin + "/reset_password/")
    assert f'href="{link}"' in mail_part(message, "text/html")

    # Open it: the token leaves the address bar; choose a new password.
    page.goto(link)
    tour.check("set-new-password")
    assert page.url == server.url("/reset_password/set-password")
    token = link.rsplit("/", 1)[1]
    assert token not in page.content()
    expect(page.get_by_text(f"For {USERNAME}.")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(GUESSABLE)
    page.get_by_label("Repeat new password").fill(GUESSABLE)
    tour.click(page.get_by_role("button", name="Set new password"), "guessable-refused")
    expect(page.locator("#password-error")).to_contain_text(
        "without your username or email address"
    )
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    tour.click(page.get_by_role("button", name="Set new password"), "password-reset")
    assert urlsplit(page.url).path == "/login"
    assert "Your password has been reset. Please sign in." in flash_texts(page)
    assert len(server.inbox.messages) == 2  # "your password was changed"
    assert server.inbox.messages[1][0] == [EMAIL]

    # The old password is refused, the new one lets us in.
    sign_in(tour, USERNAME, PASSWORD, "old-password-refused")
    assert urlsplit(page.url).path == "/login"
    assert "Invalid username or password." in flash_texts(page)
    sign_in(tour, USERNAME, NEW_PASSWORD, "home-new-password")
    assert urlsplit(page.url).path == "/index"
    expect(page.get_by_role("heading", name=f"Hi, {USERNAME}!")).to_be_visible()

    # The used link is dead (signed out first: signed-in users are sent home).
    tour.click(page.get_by_role("button", name="Sign out"), "signed-out-again")
    page.goto(link)
    tour.check("used-link")
    assert urlsplit(page.url).path == "/reset_password_request"
    assert any("invalid or has expired" in text for text in flash_texts(page))


def test_auth_pages_load_nothing_from_another_origin(tour: Tour):
    """CSS, scripts and icons of the account pages all come from the app."""
    page, server = tour.page, tour.server
    for path, label in (
        ("/register", "register"),
        ("/login", "login"),
        ("/reset_password_request", "reset-request"),
        ("/reset_password/not-a-token", "bad-link"),
    ):
        tour.goto(path, label)
    # Everything those pages needed (CSS, JS, icons) came from the app itself.
    assert any(url.endswith("bootstrap.min.css") for url in tour.requests)
    assert any(url.endswith("bootstrap.min.js") for url in tour.requests)
    foreign = [url for url in tour.requests if not url.startswith(server.origin + "/")]
    assert foreign == []
    assert urlsplit(page.url).path == "/reset_password_request"
