"""Passkeys in a real browser: add one, sign in with it, keep it through a
password reset, remove it, and see a removed one refused in words.

WebAuthn refuses an IP address as RP ID, and the app takes its RP ID and origin
from SERVER_NAME: so these tests name the app localhost:<port> (still bound on
127.0.0.1), not conftest's 127.0.0.1:<port>. Chromium's virtual authenticator
(the DevTools WebAuthn domain) stands in for a fingerprint reader.
"""

import re
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app.auth.email import CHANGED_SUBJECT, RESET_SUBJECT

from .tour import DESKTOP, LiveServer, Tour, add_user, flash_texts

USERNAME = "cai"
EMAIL = "cai@example.org"
PASSWORD = "cai keeps bees on the roof garden"
NEW_PASSWORD = "the bees moved to the orchard"
PASSKEY_NAME = "Test laptop"
ADDED_SUBJECT = "[Microblog] A passkey was added"
REMOVED_SUBJECT = "[Microblog] A passkey was removed"
PASSKEY_BUTTON = "Sign in with a passkey"
# A built-in authenticator that holds discoverable credentials and always
# verifies its user, with no one there to touch it.
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def localhost_server(make_app, smtp_server, database_url, tmp_path):
    """As conftest's `serve`, but the app is named localhost:<port>."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    port = server.server_port
    url = database_url
    if url.startswith("sqlite"):
        # Several server threads at once: a file, not in-memory SQLite.
        url = f"sqlite:///{tmp_path / 'browser.db'}"
    app = make_app(
        SQLALCHEMY_DATABASE_URI=url,
        SERVER_NAME=f"localhost:{port}",
        PREFERRED_URL_SCHEME="http",
        WTF_CSRF_ENABLED=True,
        RATELIMIT_ENABLED=True,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_TIMEOUT=5,
        MAIL_DELIVERY="inline",
    )
    server.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app=app, origin=f"http://localhost:{port}", inbox=smtp_server)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def passkey_tour(make_tour, localhost_server) -> Tour:
    """A checked walk on the localhost server, with a virtual authenticator."""
    tour = make_tour(localhost_server)
    cdp = tour.page.context.new_cdp_session(tour.page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    tour.authenticator = (cdp, added["authenticatorId"])
    return tour


def held_credentials(tour: Tour) -> list[dict]:
    """The credentials the virtual authenticator holds."""
    cdp, authenticator_id = tour.authenticator
    answer = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    return answer["credentials"]


def subjects(server: LiveServer) -> list[str]:
    """The subjects of the mails received so far (each to EMAIL alone)."""
    assert all(to == [EMAIL] for to, _ in server.inbox.messages)
    return [str(message["Subject"]) for _, message in server.inbox.messages]


def mail_text(server: LiveServer, subject: str) -> str:
    """The plain text of the one received message with this subject."""
    found = [
        message.get_body(("plain",)).get_content()
        for _, message in server.inbox.messages
        if str(message["Subject"]) == str(subject)
    ]
    assert len(found) == 1, subjects(server)
    return found[0]


def sign_in(tour: Tour, label: str, password: str = PASSWORD) -> None:
    """tour.sign_in, but the button named exactly "Sign in".

    tour.sign_in's name="Sign in" also matches "Sign in with a passkey".
    """
    page = tour.page
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(password)
    tour.click(page.get_by_role("button", name="Sign in", exact=True), label)


def sign_out(tour: Tour, label: str) -> None:
    """Sign out through the navigation bar; it lands on /login."""
    tour.click(tour.page.get_by_role("button", name="Sign out"), label)
    assert "You have been signed out." in flash_texts(tour.page)
    assert urlsplit(tour.page.url).path == "/login", tour.page.url


def expect_home(tour: Tour) -> None:
    """Signed in as USERNAME, on the home page."""
    page = tour.page
    assert urlsplit(page.url).path == "/index", page.url
    expect(page.get_by_role("heading", name=f"Hi, {USERNAME}!")).to_be_visible()


def sign_in_with_passkey(tour: Tour, label: str) -> None:
    """On /login, nothing typed: the passkey button alone signs in."""
    page = tour.page
    expect(page.get_by_label("Username")).to_have_value("")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    tour.click(page.get_by_role("button", name=PASSKEY_BUTTON), label)
    expect_home(tour)


def test_passkey_story(passkey_tour: Tour):
    """Add a passkey, sign in with it, reset the password, remove it."""
    tour = passkey_tour
    page, server = tour.page, tour.server
    add_user(server, USERNAME, PASSWORD)

    # Sign in with the password, then Settings -> Manage passkeys.
    tour.goto("/login", "login")
    expect(page.get_by_role("button", name=PASSKEY_BUTTON)).to_be_visible()
    sign_in(tour, "home-password")
    expect_home(tour)
    tour.goto("/settings", "settings")
    tour.click(page.get_by_role("link", name="Manage passkeys"), "passkeys-none")
    assert urlsplit(page.url).path == "/passkeys"
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()

    # Add one, named.
    tour.click(page.get_by_role("link", name="Add a passkey"), "add-passkey")
    assert urlsplit(page.url).path == "/passkeys/add"
    page.get_by_label("Name").fill(PASSKEY_NAME)
    assert held_credentials(tour) == []
    tour.click(page.get_by_role("button", name="Create the passkey"), "passkey-added")
    assert urlsplit(page.url).path == "/passkeys"
    expect(page.get_by_label("Name")).to_have_value(PASSKEY_NAME)
    assert f"Passkey “{PASSKEY_NAME}” added." in flash_texts(page)
    assert subjects(server) == [ADDED_SUBJECT]
    held = held_credentials(tour)
    assert len(held) == 1 and held[0]["rpId"] == "localhost", held

    # Signed out, the passkey alone signs in.
    sign_out(tour, "signed-out")
    sign_in_with_passkey(tour, "home-passkey")

    # Forget the password, reset it by mail.
    sign_out(tour, "signed-out-before-reset")
    server.inbox.messages.clear()
    tour.click(page.get_by_role("link", name="Forgot your password?"), "forgot")
    page.get_by_label("Email").fill(EMAIL)
    tour.click(page.get_by_role("button", name="Send reset link"), "link-requested")
    text = mail_text(server, RESET_SUBJECT)
    links = re.findall(r"http://\S+/reset_password/\S+", text)
    assert len(links) == 1 and links[0].startswith(server.origin + "/"), links
    page.goto(links[0])
    tour.check("set-new-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    tour.click(page.get_by_role("button", name="Set new password"), "password-reset")
    assert urlsplit(page.url).path == "/login"
    assert "Your password has been reset. Please sign in." in flash_texts(page)
    assert subjects(server) == [str(RESET_SUBJECT), str(CHANGED_SUBJECT)]

    # The passkey survives the reset.
    sign_in_with_passkey(tour, "home-passkey-after-reset")

    # Remove it.
    server.inbox.messages.clear()
    tour.goto("/passkeys", "passkeys")
    remove = page.get_by_role("button", name=f"Remove “{PASSKEY_NAME}”")
    tour.click(remove, "passkey-removed")
    assert urlsplit(page.url).path == "/passkeys"
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    assert subjects(server) == [REMOVED_SUBJECT]

    # The authenticator still holds it; the server says it is not registered.
    assert len(held_credentials(tour)) == 1
    sign_out(tour, "signed-out-after-removal")
    verify_url = server.url("/login/passkey")
    with page.expect_response(verify_url) as answer:
        page.get_by_role("button", name=PASSKEY_BUTTON).click()
    assert answer.value.status == 400
    # The flash ("You have been signed out.") is an alert too: the passkey box's.
    passkey_box = page.locator("[data-passkey-sign-in]")
    expect(passkey_box.get_by_role("alert")).to_contain_text("not registered here")
    expect(passkey_box.get_by_role("button", name=PASSKEY_BUTTON)).to_be_enabled()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert urlsplit(page.url).path == "/login"
    # That refusal is a 400 by design: the tour noted it, and Chromium logged it.
    refusal = f"400 for {verify_url}"
    assert refusal in tour.errors, tour.errors
    others = [
        error
        for error in tour.errors
        if error != refusal and "the server responded with a status of 400" not in error
    ]
    assert others == [], tour.errors
    tour.errors.clear()
    # The pointer that clicked would sit on the button at phone width: axe would
    # then sample a hover transition's colours, not the button's.
    page.mouse.move(0, 0)
    tour.check("removed-passkey-refused")


def test_without_javascript_only_the_password_form(browser, localhost_server, request):
    """No script: /login shows its password form; the passkey button stays hidden.

    Not through tour.goto: axe.run is a promise that never settles in a page
    whose scripts are off, so Tour.check would wait forever. The Tour still
    records console errors, failed requests and foreign ones; this /login is
    the one the story checks with axe, less the hidden passkey box.
    """
    context = browser.new_context(
        java_script_enabled=False, viewport=DESKTOP, locale="en-GB"
    )
    try:
        page = context.new_page()
        name = request.node.originalname.removeprefix("test_").replace("_", "-")
        tour = Tour(page=page, server=localhost_server, name=name)
        page.goto(localhost_server.url("/login"))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_label("Username")).to_be_visible()
        expect(page.get_by_label("Password", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=PASSKEY_BUTTON)).to_be_hidden()
        expect(page.locator("[data-passkey-sign-in]")).to_have_attribute("hidden", "")

        # And that form alone signs in.
        add_user(localhost_server, USERNAME, PASSWORD)
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in", exact=True).click()
        assert urlsplit(page.url).path == "/index", page.url
        expect(page.get_by_role("heading", name=f"Hi, {USERNAME}!")).to_be_visible()
        assert tour.errors == [] and tour.blocked == [], (tour.errors, tour.blocked)
    finally:
        context.close()
