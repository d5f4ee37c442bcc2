"""Owning the address: confirm it at sign-up, change it safely, undo a change.

Each test drives the forms over HTTP and reads the mail a real SMTP server
(aiosmtpd on loopback) received; rows refer to ../shared/docs/account-email.md.
"""

import html
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app import db
from app.account.email import (
    CHANGE_SUBJECT,
    CHANGE_TAKEN_SUBJECT,
    EMAIL_CHANGED_SUBJECT,
)
from app.auth.email import CONFIRM_SUBJECT, REGISTRATION_ATTEMPT_SUBJECT, RESET_SUBJECT
from app.models import CONFIRM_PURPOSE, User
from app.tokens import make_token
from tests.conftest import PASSWORD, AuthActions, field_error

NOTICE = "Please confirm your address"
INVALID = "This link can't be used"
BROWSER = {"User-Agent": "TestBrowser/1.0 (X11)"}
LINK = re.compile(r"https://app\.example\.com/[\w/.-]+")


def sign_up(client, username="nina", email="nina@example.org", password=PASSWORD):
    """POST the registration form."""
    data = {
        "username": username,
        "email": email,
        "password": password,
        "password2": password,
    }
    return client.post("/register", data=data)


def mails(inbox, subject=None, to=None):
    """Messages the SMTP server received, by subject and envelope recipient."""
    return [
        message
        for recipients, message in inbox.messages
        if (subject is None or message["Subject"] == subject)
        and (to is None or recipients == [to])
    ]


def link_in(message, path: str) -> str:
    """The one link to path in message, the same in its text and HTML parts."""
    found = set()
    for part in message.walk():
        if part.get_content_maintype() == "text":
            text = html.unescape(part.get_content())
            found |= {link for link in LINK.findall(text) if path in link}
    assert len(found) == 1, found
    return urlsplit(found.pop()).path


def text_of(message) -> str:
    """The plain-text part of message, whitespace collapsed."""
    return " ".join(message.get_body(("plain",)).get_content().split())


def account(app, username="nina"):
    """The stored account as a dict of the columns these tests look at."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            return None
        return {
            "email": user.email,
            "confirmed": user.email_confirmed,
            "pending": user.pending_email,
            "session_token": user.session_token,
        }


def press(client, path, **kwargs):
    """Open an emailed link (a page with one button), then press the button."""
    page = client.get(path, **kwargs)
    assert page.status_code == 200, page.status_code
    assert 'method="post"' in page.get_data(as_text=True)
    return client.post(path, **kwargs)


def page_text(response) -> str:
    """The response body with entities decoded."""
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def nina(smtp_app, smtp_server):
    """nina signed up through the form (her confirmation link is in the inbox)."""
    client = smtp_app.test_client()
    assert sign_up(client).headers["Location"] == "/login"
    return client


# --- Rows 1 and 2: confirm at sign-up ------------------------------------------------


def test_sign_up_mails_one_confirmation_link(smtp_app, smtp_server, nina):
    (message,) = smtp_server.messages
    assert message[0] == ["nina@example.org"]
    assert message[1]["Subject"] == CONFIRM_SUBJECT
    assert link_in(message[1], "/confirm_email/").startswith("/confirm_email/")
    body = text_of(message[1])
    assert "Dear nina," in body and "expires in 3 days" in body
    AuthActions(nina).login("nina")
    for path in ("/index", "/explore", "/user/nina", "/settings"):
        page = page_text(nina.get(path))
        assert NOTICE in page and 'action="/confirm_email/resend"' in page, path
    assert account(smtp_app)["confirmed"] is False


def test_confirm_link_shows_a_button_and_only_the_post_confirms(
    smtp_app, smtp_server, nina
):
    link = link_in(mails(smtp_server, CONFIRM_SUBJECT)[0], "/confirm_email/")
    stranger = smtp_app.test_client()  # any device, signed in or not
    assert stranger.get(link).status_code == 200
    assert stranger.get(link).status_code == 200  # a mail scanner, twice
    assert account(smtp_app)["confirmed"] is False

    response = stranger.post(link)
    assert response.headers["Location"] == "/login"
    assert account(smtp_app)["confirmed"] is True
    assert stranger.get("/index").status_code == 302  # nobody was signed in

    for method in (stranger.get, stranger.post):
        again = method(link)
        assert again.status_code == 410
        assert INVALID in page_text(again)
    AuthActions(nina).login("nina")
    assert NOTICE not in page_text(nina.get("/index"))


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "x" * 5000],
)
def test_forged_confirmation_links_get_one_clear_page(client, make_user, token):
    make_user("nina")
    for method in (client.get, client.post):
        response = method(f"/confirm_email/{token}")
        assert response.status_code == 410
        assert INVALID in page_text(response)


def test_expired_confirmation_link_is_refused(app, client, make_user):
    user_id = make_user("nina")
    with app.app_context():
        user = db.session.get(User, user_id)
        state = user.token_state(CONFIRM_PURPOSE)
        expired = make_token(CONFIRM_PURPOSE, user_id, state, expires_in=-60)
    assert client.post(f"/confirm_email/{expired}").status_code == 410
    assert account(app)["confirmed"] is False


def test_resend_is_limited_and_answers_the_same(make_app, smtp_server):
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        RATELIMIT_ENABLED=True,
    )
    client = app.test_client()
    sign_up(client)
    AuthActions(client).login("nina")
    answers = []
    for _ in range(3):
        response = client.post("/confirm_email/resend", data={"next": "/explore"})
        flashed = client.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"]))
        assert "We've sent a new confirmation link" in page_text(flashed)
    assert answers == [(302, "/explore")] * 3
    # The sign-up's link and one more: the other two were quietly not sent.
    assert len(mails(smtp_server, CONFIRM_SUBJECT)) == 2


def test_resend_never_redirects_off_site(nina):
    AuthActions(nina).login("nina")
    response = nina.post("/confirm_email/resend", data={"next": "//evil.example/"})
    assert response.headers["Location"] == "/index"


# --- Row 4: a taken address tells nobody ----------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "susan@example.org",
        "SUSAN@Example.ORG",
        "  susan@example.org ",
        "\uff53\uff55\uff53\uff41\uff4e@example.org",  # fullwidth letters
        "\u017fusan@example.org",  # long s folds to s
    ],
)
def test_sign_up_with_a_taken_address_tells_nobody(
    make_app, smtp_server, make_user, typed
):
    # A relay that speaks SMTPUTF8, so the form takes every spelling (without it,
    # any letter beyond ASCII before the @ is refused, taken or not).
    smtp_app = make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_SMTPUTF8=True
    )
    make_user("susan", email="susan@example.org")
    fresh = sign_up(smtp_app.test_client(), "nina", "nina@example.org")
    visitor = smtp_app.test_client()
    taken = sign_up(visitor, "mallory", typed)

    assert (taken.status_code, taken.headers["Location"]) == (
        fresh.status_code,
        fresh.headers["Location"],
    )
    flashed = page_text(visitor.get(taken.headers["Location"]))
    assert f"We've sent a link to {typed.strip()} to confirm your address" in flashed
    assert account(smtp_app, "mallory") is None
    (attempt,) = mails(smtp_server, REGISTRATION_ATTEMPT_SUBJECT)
    assert mails(smtp_server, to="susan@example.org") == [attempt]
    assert link_in(attempt, "/login") == "/login"
    assert link_in(attempt, "/reset_password_request") == "/reset_password_request"
    assert "Dear susan," in text_of(attempt)


def test_taken_address_costs_the_same_password_hash(
    app, client, make_user, monkeypatch
):
    from argon2 import PasswordHasher

    make_user("susan", email="susan@example.org")
    hashes = []
    real = PasswordHasher.hash
    monkeypatch.setattr(
        PasswordHasher,
        "hash",
        lambda self, password: hashes.append(password) or real(self, password),
    )
    sign_up(client, "nina", "nina@example.org", "first lamp orbit 42")
    sign_up(client, "mallory", "Susan@example.org", "second lamp orbit 42")
    assert hashes == ["first lamp orbit 42", "second lamp orbit 42"]


# --- Row 5: a reset confirms --------------------------------------------------------


def test_completing_a_reset_confirms_and_cancels_a_pending_change(
    smtp_app, smtp_server, nina
):
    AuthActions(nina).login("nina")
    nina.post("/change_email", data={"email": "new@example.org", "password": PASSWORD})
    change_link = link_in(mails(smtp_server, CHANGE_SUBJECT)[0], "/change_email/")
    nina.post("/logout")

    nina.post("/reset_password_request", data={"email": "nina@example.org"})
    reset_link = link_in(mails(smtp_server, RESET_SUBJECT)[0], "/reset_password/")
    nina.get(reset_link)
    new_password = "a brand new password for nina"
    data = {"password": new_password, "password2": new_password}
    assert nina.post("/reset_password/set-password", data=data).status_code == 302

    assert account(smtp_app) | {"session_token": None} == {
        "email": "nina@example.org",
        "confirmed": True,
        "pending": None,
        "session_token": None,
    }
    assert nina.post(change_link).status_code == 410
    AuthActions(nina).login("nina", new_password)
    assert NOTICE not in page_text(nina.get("/index"))


# --- Rows 6 to 9: change the address, be told, undo -----------------------------------


def request_change(client, email, password=PASSWORD):
    """POST the change-email form."""
    return client.post(
        "/change_email", data={"email": email, "password": password}, headers=BROWSER
    )


def test_change_email_needs_the_current_password(smtp_app, smtp_server, nina):
    AuthActions(nina).login("nina")
    before = len(smtp_server.messages)
    response = request_change(nina, "new@example.org", "not my lamp orbit 42")
    assert response.status_code == 200
    assert field_error(response, "password") == ("That is not your current password.")
    assert len(smtp_server.messages) == before
    assert account(smtp_app)["pending"] is None


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("not an address", "Invalid email address."),
        ("NINA@example.org", "That is already your address."),
        ("", "This field is required."),
    ],
)
def test_change_email_form_errors(smtp_app, nina, email, error):
    AuthActions(nina).login("nina")
    response = request_change(nina, email)
    assert response.status_code == 200
    assert field_error(response, "email") == error
    assert account(smtp_app)["pending"] is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_change_email_and_settings_need_sign_in(client, method):
    for path in ("/change_email", "/settings"):
        if method == "post" and path == "/settings":
            continue
        response = getattr(client, method)(path)
        assert response.headers["Location"].startswith("/login?next=")


def test_change_story_notice_and_undo(smtp_app, smtp_server, nina):
    AuthActions(nina).login("nina")
    response = request_change(nina, "Nina.New@Example.org")
    assert response.headers["Location"] == "/settings"
    settings = page_text(nina.get("/settings"))
    assert "We've sent a link to Nina.New@Example.org" in settings
    assert "Waiting for you to follow the link we sent to" in settings

    (change,) = mails(smtp_server, CHANGE_SUBJECT)
    assert mails(smtp_server, to="Nina.New@Example.org") == [change]
    assert "expires in 24 hours" in text_of(change)
    link = link_in(change, "/change_email/")

    # Until the link is followed, nothing changed: resets still go to the old one.
    outsider = smtp_app.test_client()
    outsider.post("/reset_password_request", data={"email": "nina@example.org"})
    assert len(mails(smtp_server, RESET_SUBJECT, "nina@example.org")) == 1
    assert account(smtp_app)["email"] == "nina@example.org"

    # Followed from another device, no sign-in needed.
    other_device = smtp_app.test_client()
    response = press(other_device, link, headers=BROWSER)
    assert response.headers["Location"] == "/login"
    assert account(smtp_app)["email"] == "Nina.New@Example.org"
    assert account(smtp_app)["confirmed"] is True
    assert other_device.post(link).status_code == 410  # works once

    # The old address is told when and from where, with an undo link.
    (notice,) = mails(smtp_server, EMAIL_CHANGED_SUBJECT)
    assert mails(smtp_server, EMAIL_CHANGED_SUBJECT, "nina@example.org") == [notice]
    body = text_of(notice)
    assert "Nina.New@Example.org" in body and "127.0.0.1" in body
    assert "TestBrowser/1.0" in body and " UTC" in body
    assert "expires in 7 days" in body
    undo = link_in(notice, "/revert_email/")

    # Resets now go to the new address.
    outsider.post("/reset_password_request", data={"email": "nina.new@example.org"})
    assert len(mails(smtp_server, RESET_SUBJECT, "Nina.New@Example.org")) == 1

    # Undo: the old address is back, every session ends, a reset link arrives.
    tokens_before = account(smtp_app)["session_token"]
    resets_before = len(mails(smtp_server, RESET_SUBJECT, "nina@example.org"))
    response = press(outsider, undo)
    assert response.headers["Location"] == "/login"
    state = account(smtp_app)
    assert (state["email"], state["confirmed"]) == ("nina@example.org", True)
    assert state["session_token"] != tokens_before
    assert nina.get("/index").headers["Location"].startswith("/login")
    after = mails(smtp_server, RESET_SUBJECT, "nina@example.org")
    assert len(after) == resets_before + 1
    assert outsider.post(undo).status_code == 410  # works once


def test_a_second_request_replaces_the_first_and_cancel_kills_it(
    smtp_app, smtp_server, nina
):
    AuthActions(nina).login("nina")
    request_change(nina, "b@example.org")
    request_change(nina, "c@example.org")
    first = link_in(mails(smtp_server, CHANGE_SUBJECT, "b@example.org")[0], "/change_")
    second = link_in(mails(smtp_server, CHANGE_SUBJECT, "c@example.org")[0], "/change_")
    assert nina.post(first).status_code == 410
    assert account(smtp_app)["pending"] == "c@example.org"

    response = nina.post("/change_email/cancel")
    assert response.headers["Location"] == "/settings"
    assert account(smtp_app)["pending"] is None
    assert nina.post(second).status_code == 410
    assert account(smtp_app)["email"] == "nina@example.org"


def test_same_address_asked_again_still_kills_the_first_link(
    smtp_app, smtp_server, nina
):
    AuthActions(nina).login("nina")
    request_change(nina, "b@example.org")
    request_change(nina, "b@example.org")
    first, second = mails(smtp_server, CHANGE_SUBJECT, "b@example.org")
    assert nina.post(link_in(first, "/change_")).status_code == 410
    assert nina.post(link_in(second, "/change_")).status_code == 302


def test_links_to_the_old_address_die_after_a_change(smtp_app, smtp_server, nina):
    confirm = link_in(mails(smtp_server, CONFIRM_SUBJECT)[0], "/confirm_email/")
    nina.post("/reset_password_request", data={"email": "nina@example.org"})
    reset = link_in(mails(smtp_server, RESET_SUBJECT)[0], "/reset_password/")
    AuthActions(nina).login("nina")
    request_change(nina, "new@example.org")
    nina.post(link_in(mails(smtp_server, CHANGE_SUBJECT)[0], "/change_"))
    nina.post("/logout")

    assert nina.post(confirm).status_code == 410
    response = nina.get(reset)
    assert response.headers["Location"] == "/reset_password_request"  # refused


def test_an_address_another_account_holds_never_becomes_this_ones(
    smtp_app, smtp_server, make_user, nina
):
    make_user("susan", email="susan@example.org")
    AuthActions(nina).login("nina")
    taken = request_change(nina, "SUSAN@example.org")
    free = request_change(nina, "free@example.org")
    assert taken.status_code == free.status_code == 302
    assert taken.headers["Location"] == free.headers["Location"]

    (told,) = mails(smtp_server, CHANGE_TAKEN_SUBJECT)
    assert mails(smtp_server, to="susan@example.org") == [told]
    assert "Dear susan," in text_of(told)
    assert LINK.findall(text_of(told)) == [
        "https://app.example.com/reset_password_request"
    ]
    assert mails(smtp_server, CHANGE_SUBJECT, "SUSAN@example.org") == []
    assert account(smtp_app)["email"] == "nina@example.org"


def test_an_address_taken_after_the_request_is_refused_when_followed(
    smtp_app, smtp_server, nina
):
    AuthActions(nina).login("nina")
    request_change(nina, "contested@example.org")
    link = link_in(mails(smtp_server, CHANGE_SUBJECT)[0], "/change_")
    sign_up(smtp_app.test_client(), "zed", "Contested@example.org")  # meanwhile
    assert nina.post(link).status_code == 410
    assert account(smtp_app)["email"] == "nina@example.org"
    assert account(smtp_app, "zed")["email"] == "Contested@example.org"


def test_settings_are_one_click_from_every_signed_in_page(smtp_app, nina):
    AuthActions(nina).login("nina")
    for path in ("/index", "/user/nina"):
        assert 'href="/settings"' in nina.get(path).get_data(as_text=True)
    page = page_text(nina.get("/settings"))
    for target in ("/change_email", "/change_password", "/edit_profile"):
        assert f'href="{target}"' in page
    assert "nina@example.org" in page and "not confirmed yet" in page


def test_account_pages_are_private(smtp_app, smtp_server, nina):
    AuthActions(nina).login("nina")
    link = link_in(mails(smtp_server, CONFIRM_SUBJECT)[0], "/confirm_email/")
    for path in ("/settings", "/change_email", link):
        response = nina.get(path)
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response.headers["Cache-Control"]


# --- /dev/mail ------------------------------------------------------------------------


def test_dev_mailbox_shows_sent_mail_in_debug_without_a_server(make_app):
    app = make_app(DEBUG=True, MAIL_SERVER=None)
    client = app.test_client()
    sign_up(client)
    listing = page_text(client.get("/dev/mail"))
    assert str(CONFIRM_SUBJECT) in listing and "nina@example.org" in listing
    message = page_text(client.get("/dev/mail/0"))
    assert "Dear nina," in message
    assert re.search(r'href="https://app\.example\.com/confirm_email/[^"]+"', message)
    framed = client.get("/dev/mail/0/html")
    assert framed.status_code == 200
    assert '<base target="_top">' in framed.get_data(as_text=True)
    assert client.get("/dev/mail/1").status_code == 404


@pytest.mark.parametrize(
    "settings", [{}, {"DEBUG": True, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9}]
)
def test_dev_mailbox_exists_only_in_debug_without_a_server(make_app, settings):
    client = make_app(**settings).test_client()
    assert client.get("/dev/mail").status_code == 404


# --- What a hijacker can't do (review findings) ------------------------------------


def apply_change(client, inbox, email):
    """Ask for email as the new address and follow its link at once."""
    request_change(client, email)
    link = link_in(mails(inbox, CHANGE_SUBJECT, email)[-1], "/change_email/")
    assert client.post(link).status_code == 302


def test_a_second_change_keeps_the_owners_way_back(smtp_app, smtp_server, nina):
    AuthActions(nina).login("nina")
    apply_change(nina, smtp_server, "b@example.org")
    (first_notice,) = mails(smtp_server, EMAIL_CHANGED_SUBJECT, "nina@example.org")
    undo = link_in(first_notice, "/revert_email/")
    apply_change(nina, smtp_server, "c@example.org")

    # Both the replaced address and the one an undo restores hear of it.
    told = [rcpt for rcpt, m in smtp_server.messages if m in mails(
        smtp_server, EMAIL_CHANGED_SUBJECT)]  # fmt: skip
    assert told == [["nina@example.org"], ["b@example.org"], ["nina@example.org"]]
    assert "from b@example.org to c@example.org" in text_of(
        mails(smtp_server, EMAIL_CHANGED_SUBJECT, "b@example.org")[0]
    )
    assert press(smtp_app.test_client(), undo).headers["Location"] == "/login"
    assert account(smtp_app)["email"] == "nina@example.org"


def test_the_old_address_stays_reserved_while_the_undo_lives(
    smtp_app, smtp_server, make_user, nina
):
    AuthActions(nina).login("nina")
    apply_change(nina, smtp_server, "b@example.org")
    before = len(smtp_server.messages)
    squatter = sign_up(smtp_app.test_client(), "zed", "NINA@example.org")
    assert squatter.headers["Location"] == "/login"  # the usual answer
    assert account(smtp_app, "zed") is None
    assert len(smtp_server.messages) == before

    make_user("ann", email="ann@example.org")
    other = smtp_app.test_client()
    AuthActions(other).login("ann")
    assert request_change(other, "nina@example.org").status_code == 302
    assert mails(smtp_server, CHANGE_SUBJECT, "nina@example.org") == []


def test_the_undo_voids_the_password_and_mails_a_reset_link(
    smtp_app, smtp_server, nina
):
    AuthActions(nina).login("nina")
    apply_change(nina, smtp_server, "b@example.org")
    undo = link_in(mails(smtp_server, EMAIL_CHANGED_SUBJECT)[0], "/revert_email/")
    press(smtp_app.test_client(), undo)
    hijacker = AuthActions(smtp_app.test_client())
    assert hijacker.login("nina", PASSWORD).status_code == 200  # refused

    reset = link_in(mails(smtp_server, RESET_SUBJECT, "nina@example.org")[-1], "/reset")
    owner = smtp_app.test_client()
    owner.get(reset)
    new = "a brand new password for nina"
    data = {"password": new, "password2": new}
    assert owner.post("/reset_password/set-password", data=data).status_code == 302
    assert AuthActions(owner).login("nina", new).headers["Location"] == "/index"


def test_a_password_change_cancels_a_pending_address_change(
    smtp_app, smtp_server, nina
):
    AuthActions(nina).login("nina")
    request_change(nina, "b@example.org")
    link = link_in(mails(smtp_server, CHANGE_SUBJECT)[0], "/change_email/")
    new = "a brand new password for nina"
    data = {"current_password": PASSWORD, "password": new, "password2": new}
    assert nina.post("/change_password", data=data).status_code == 302
    assert account(smtp_app)["pending"] is None
    assert smtp_app.test_client().post(link).status_code == 410


GROWS = "\ufdfa" * 14 + "@example.org"  # 26 characters typed, 264 once normalised


def test_an_address_that_grows_when_normalised_is_refused(client, auth, make_user):
    response = sign_up(client, "nina", GROWS)
    assert response.status_code == 200
    assert field_error(response, "email") == "This address is too long."
    make_user("ann")
    auth.login("ann")
    response = request_change(client, GROWS)
    assert field_error(response, "email") == "This address is too long."


@pytest.mark.parametrize(
    ("path", "data", "field", "signed_in"),
    [
        ("/login", {"username": "nina\x00", "password": PASSWORD}, "username", False),
        ("/reset_password_request", {"email": "a\x00@example.org"}, "email", False),
        ("/index", {"post": "hello\x00world"}, "post", True),
        ("/edit_profile", {"username": "ann", "about_me": "x\x00"}, "about_me", True),
    ],
)
def test_control_characters_get_a_form_error_not_a_500(
    client, auth, make_user, path, data, field, signed_in
):
    make_user("ann")
    if signed_in:
        auth.login("ann")
    response = client.post(path, data=data)
    assert response.status_code == 200
    assert field_error(response, field) == "Remove the invisible control characters."


def test_the_browser_in_the_notice_is_plain_words(smtp_app, smtp_server, nina):
    AuthActions(nina).login("nina")
    request_change(nina, "b@example.org")
    link = link_in(mails(smtp_server, CHANGE_SUBJECT)[0], "/change_email/")
    agent = "Mozilla/5.0 Click https://evil.example/restore or www.evil.example \x07"
    nina.post(link, headers={"User-Agent": agent})
    body = text_of(mails(smtp_server, EMAIL_CHANGED_SUBJECT)[0])
    assert "Mozilla/5.0 Click or" in body
    assert "evil.example" not in body


def test_unasked_notices_to_one_address_are_limited(make_app, smtp_server, make_user):
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        RATELIMIT_ENABLED=True,
        RESET_REQUESTS_PER_ADDRESS="2/hour",
    )
    make_user("susan", email="susan@example.org")
    answers = {
        sign_up(app.test_client(), f"try{n}", "susan@example.org").headers["Location"]
        for n in range(4)
    }
    assert answers == {"/login"}
    assert len(mails(smtp_server, REGISTRATION_ATTEMPT_SUBJECT)) == 2


def test_dev_mailbox_answers_only_this_machine(make_app):
    client = make_app(DEBUG=True, MAIL_SERVER=None).test_client()
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/dev/mail", environ_base=remote).status_code == 404
    assert client.get("/dev/mail").status_code == 200
