"""Two-factor sign-in in a real browser: turn it on, sign in with a code, with a
recovery code, and again after a password reset (which leaves it on)."""

import re
import time
from urllib.parse import unquote, urlsplit

import pyotp
from playwright.sync_api import expect

from app.auth.email import CHANGED_SUBJECT, CONFIRM_SUBJECT, RESET_SUBJECT

from .tour import Tour, flash_texts

USERNAME = "ana"
EMAIL = "ana@example.org"
PASSWORD = "ana keeps bees on the roof"
NEW_PASSWORD = "the bees moved to the garden shed"
TURNED_ON_SUBJECT = "[Microblog] Two-factor sign-in was turned on"
RECOVERY_USED_SUBJECT = "[Microblog] A recovery code was used"
STEP_SECONDS = 30
CODE_LABEL = "Code from your authenticator app, or a recovery code"


def current_step() -> int:
    """The authenticator's time step now."""
    return int(time.time() // STEP_SECONDS)


def mails(server, subject: str) -> list[str]:
    """The plain text of every received message with subject, each sent to EMAIL."""
    found = []
    for recipients, message in server.inbox.messages:
        if message["Subject"] == str(subject):
            assert recipients == [EMAIL]
            found.append(message.get_body(("plain",)).get_content())
    return found


def only_link(server, subject: str) -> str:
    """The one link in the one message with subject."""
    texts = mails(server, subject)
    assert len(texts) == 1, [m["Subject"] for _, m in server.inbox.messages]
    links = re.findall(r"http://\S+", texts[0])
    assert len(links) == 1, links
    assert links[0].startswith(server.origin + "/")
    return links[0]


def sign_in(tour: Tour, username: str, password: str, label: str) -> None:
    """Fill and submit the sign-in form on the current page.

    Not tour.sign_in: its get_by_role("button", name="Sign in") also matches
    "Sign in with a passkey" since passkeys came, and strict mode refuses two.
    """
    page = tour.page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    tour.click(page.get_by_role("button", name="Sign in", exact=True), label)


def type_code(tour: Tour, code: str, label: str) -> None:
    """On the code step of signing in, type code and press Verify."""
    page = tour.page
    page.get_by_label(CODE_LABEL).fill(code)
    tour.click(page.get_by_role("button", name="Verify"), label)


def expect_code_step(tour: Tour) -> None:
    """The password was right: the code step is shown, nobody is signed in yet."""
    page = tour.page
    assert urlsplit(page.url).path == "/login/two_factor", page.url
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(page.get_by_label(CODE_LABEL)).to_be_visible()


def expect_home(tour: Tour) -> None:
    """Signed in as USERNAME, on the home page."""
    page = tour.page
    assert urlsplit(page.url).path == "/index", page.url
    expect(page.get_by_role("heading", name=f"Hi, {USERNAME}!")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(1)


def test_two_factor_story(tour: Tour):
    page, server = tour.page, tour.server

    # Sign up and confirm the address (setup refuses an unproven address).
    tour.goto("/register", "register")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    tour.click(page.get_by_role("button", name="Register"), "registered")
    confirm = only_link(server, CONFIRM_SUBJECT)
    sign_in(tour, USERNAME, PASSWORD, "home-unconfirmed")
    page.goto(confirm)
    tour.check("confirm-page")
    tour.click(page.get_by_role("button", name="Confirm my address"), "confirmed")
    assert f"Thank you: {EMAIL} is confirmed." in flash_texts(page)

    # Settings: two-factor sign-in is off, with a way to turn it on.
    tour.click(page.get_by_role("link", name="Settings", exact=True), "settings-off")
    assert urlsplit(page.url).path == "/settings"
    section = page.get_by_role("region", name="Two-factor sign-in")
    turn_on = section.get_by_role("link", name="Turn on two-factor sign-in")
    tour.click(turn_on, "setup")

    # The setup page: a QR code, an otpauth:// link and the key in groups of four.
    assert urlsplit(page.url).path == "/two_factor/setup"
    heading = page.get_by_role("heading", name="Turn on two-factor sign-in")
    expect(heading).to_be_visible()
    qr = page.locator(".two-factor-qr svg")
    expect(qr).to_have_count(1)
    expect(qr.locator("title")).to_have_text("QR code for your authenticator app")
    app_link = page.get_by_role("link", name="Open it in your authenticator app")
    uri = app_link.get_attribute("href")
    assert uri.startswith(f"otpauth://totp/Microblog:{USERNAME}"), uri
    shown_key = page.locator("code#totp-key").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})+", shown_key), shown_key
    key = shown_key.replace(" ", "")
    assert f"secret={key}" in uri
    totp = pyotp.TOTP(key)

    # Type the code the "app" shows now: two-factor sign-in is on.
    setup_step = current_step()
    page.get_by_label("The 6-digit code your app shows").fill(
        totp.at(setup_step * STEP_SECONDS)
    )
    tour.click(page.get_by_role("button", name="Turn on two-factor sign-in"), "codes")
    assert urlsplit(page.url).path == "/two_factor/recovery_codes", page.url
    on = "Two-factor sign-in is on. The code you typed is used up"
    assert any(text.startswith(on) for text in flash_texts(page))
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    codes = [text.strip() for text in page.locator("li > code").all_inner_texts()]
    assert len(codes) == 10, codes
    assert len(set(codes)) == 10
    for code in codes:
        assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", code), code
    download = page.get_by_role("link", name="Download as a text file")
    expect(download).to_have_attribute("download", "microblog-recovery-codes.txt")
    href = download.get_attribute("href")
    assert href.startswith("data:text/plain"), href
    assert all(code in unquote(href) for code in codes)
    assert len(mails(server, TURNED_ON_SUBJECT)) == 1

    # Settings now say it is on, with all ten codes left.
    tour.click(page.get_by_role("link", name="Settings", exact=True), "settings-on")
    section = page.get_by_role("region", name="Two-factor sign-in")
    expect(section.get_by_text("on", exact=True)).to_be_visible()
    expect(section.get_by_text("10 recovery codes are left.")).to_be_visible()
    turn_off = section.get_by_role("link", name="Turn off two-factor sign-in")
    expect(turn_off).to_be_visible()

    # Sign out; the password alone leads to the code step, not in.
    tour.click(page.get_by_role("button", name="Sign out"), "signed-out")
    sign_in(tour, USERNAME, PASSWORD, "code-step")
    expect_code_step(tour)
    # The setup code's step is spent: use the next one (one step of drift is fine).
    first_step = max(setup_step + 1, current_step())
    type_code(tour, totp.at(first_step * STEP_SECONDS), "home-after-code")
    expect_home(tour)

    # Again, with a recovery code typed in capitals with spaces.
    tour.click(page.get_by_role("button", name="Sign out"), "signed-out-again")
    sign_in(tour, USERNAME, PASSWORD, "code-step-again")
    expect_code_step(tour)
    type_code(tour, codes[0].upper().replace("-", " "), "home-after-recovery-code")
    expect_home(tour)
    assert any("9 recovery codes are left" in text for text in flash_texts(page))
    assert len(mails(server, RECOVERY_USED_SUBJECT)) == 1
    tour.click(page.get_by_role("link", name="Settings", exact=True), "settings-9-left")
    section = page.get_by_role("region", name="Two-factor sign-in")
    expect(section.get_by_text("9 recovery codes are left.")).to_be_visible()

    # Forgot the password: a reset changes it but leaves two-factor sign-in on.
    tour.click(page.get_by_role("button", name="Sign out"), "signed-out-to-reset")
    tour.click(page.get_by_role("link", name="Forgot your password?"), "forgot")
    page.get_by_label("Email").fill(EMAIL)
    tour.click(page.get_by_role("button", name="Send reset link"), "link-requested")
    page.goto(only_link(server, RESET_SUBJECT))
    tour.check("set-new-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    tour.click(page.get_by_role("button", name="Set new password"), "password-reset")
    assert urlsplit(page.url).path == "/login"
    assert "Your password has been reset. Please sign in." in flash_texts(page)
    [changed] = mails(server, CHANGED_SUBJECT)
    assert "Two-factor sign-in is still on" in changed

    # The new password still needs a code, from a step after the last one used.
    sign_in(tour, USERNAME, NEW_PASSWORD, "code-step-after-reset")
    expect_code_step(tour)
    while current_step() < first_step:  # at most one step away from now
        time.sleep(0.5)
    last_step = max(first_step + 1, current_step())
    type_code(tour, totp.at(last_step * STEP_SECONDS), "home-after-reset")
    expect_home(tour)
