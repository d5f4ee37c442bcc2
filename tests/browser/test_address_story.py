"""The address story in a real browser: sign up, confirm, change the address, undo."""

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from app.account.email import CHANGE_SUBJECT, EMAIL_CHANGED_SUBJECT
from app.auth.email import CONFIRM_SUBJECT, RESET_SUBJECT

from .tour import Tour, flash_texts, sign_in

USERNAME = "mei"
EMAIL = "mei@example.org"
NEW_EMAIL = "Mei.Lin@Example.org"
PASSWORD = "a quiet bench in the park for mei"


def only_link(server, subject: str, to: str) -> str:
    """The one link in the one message with subject sent to to."""
    found = [m for rcpt, m in server.inbox.messages if m["Subject"] == subject]
    assert len(found) == 1, [m["Subject"] for _, m in server.inbox.messages]
    rcpt = [r for r, m in server.inbox.messages if m["Subject"] == subject][0]
    assert rcpt == [to]
    text = found[0].get_body(("plain",)).get_content()
    links = re.findall(r"http://\S+", text)
    assert len(links) == 1, links
    assert links[0].startswith(server.origin)
    return links[0]


def test_address_story(tour: Tour):
    page, server = tour.page, tour.server

    # Sign up: a confirmation link is mailed; signing in works meanwhile.
    tour.goto("/register", "register")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    tour.click(page.get_by_role("button", name="Register"), "registered")
    confirm = only_link(server, CONFIRM_SUBJECT, EMAIL)
    sign_in(tour, USERNAME, PASSWORD, "unconfirmed-home")
    notice = page.get_by_text("Please confirm your address")
    expect(notice).to_be_visible()

    # The link opens a page with one button; pressing it confirms.
    page.goto(confirm)
    tour.check("confirm-page")
    expect(page.get_by_text(f"Confirm that {EMAIL} is the address")).to_be_visible()
    tour.click(page.get_by_role("button", name="Confirm my address"), "confirmed")
    assert f"Thank you: {EMAIL} is confirmed." in flash_texts(page)
    expect(notice).to_have_count(0)

    # Settings: change the address (the current password proves it is mei).
    tour.click(page.get_by_role("link", name="Settings"), "settings")
    tour.click(page.get_by_role("link", name="Change email address"), "change-email")
    page.get_by_label("New email address").fill(NEW_EMAIL)
    page.get_by_label("Current password").fill(PASSWORD)
    tour.click(page.get_by_role("button", name="Send confirmation link"), "pending")
    expect(page.get_by_text("Waiting for you to follow the link")).to_be_visible()
    change = only_link(server, CHANGE_SUBJECT, NEW_EMAIL)

    page.goto(change)
    tour.check("change-page")
    tour.click(page.get_by_role("button", name="Use this address"), "changed")
    assert f"Your email address is now {NEW_EMAIL}." in flash_texts(page)
    tour.click(page.get_by_role("link", name="Settings"), "settings-changed")
    expect(page.get_by_text(NEW_EMAIL, exact=True)).to_be_visible()

    # The old address was told, with a way back: undo signs everyone out.
    undo = only_link(server, EMAIL_CHANGED_SUBJECT, EMAIL)
    page.goto(undo)
    tour.check("undo-page")
    tour.click(page.get_by_role("button", name="Restore my address"), "restored")
    assert urlsplit(page.url).path == "/login"
    assert any("is your address again" in text for text in flash_texts(page))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    only_link(server, RESET_SUBJECT, EMAIL)

    # The undo link works once.
    page.goto(undo)
    tour.check("undo-used", status=410)
    expect(page.get_by_role("heading", name="This link can't be used")).to_be_visible()
