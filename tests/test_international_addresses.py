"""Addresses beyond ASCII: SMTPUTF8 when offered, IDNA domains, the forms' check."""

import pytest
import sqlalchemy as sa

from app import db
from app.mail.models import OutboxMessage
from app.models import User
from tests.conftest import PASSWORD, AuthActions, field_error

UNDELIVERABLE = (
    "This address has letters outside English in the part before @, which our mail "
    "server can't deliver to. Please use another address."
)
UNDELIVERABLE_ZH = (
    "這個電子郵件地址 @ 前面的部分含有英文以外的字母，"
    "我們的郵件伺服器無法寄送到這裡。請改用其他電子郵件地址。"
)
ZH = {"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"}


def registration(email, username="jose"):
    """A valid registration form for email."""
    return {
        "username": username,
        "email": email,
        "password": PASSWORD,
        "password2": PASSWORD,
    }


def mail_app(make_app, server, **settings):
    """An app that sends through server (an Inbox on loopback)."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, **settings)


def stored(app, model):
    """How many rows of model the database holds."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize(
    ("typed", "envelope"),
    [
        ("josé@example.com", "josé@example.com"),
        ("josé@bücher.example", "josé@xn--bcher-kva.example"),
    ],
    ids=["local-part", "and-domain"],
)
def test_smtputf8_server_receives_a_local_part_beyond_ascii(
    make_app, start_smtp, typed, envelope
):
    """With MAIL_SMTPUTF8, such an address registers and its mail goes by SMTPUTF8."""
    server = start_smtp(enable_SMTPUTF8=True)
    app = mail_app(make_app, server, MAIL_SMTPUTF8=True)
    response = app.test_client().post("/register", data=registration(typed))
    assert response.status_code == 302
    [(recipients, message)] = server.messages
    assert recipients == [envelope]
    assert "SMTPUTF8" in server.mail_options[0]
    assert message["To"] == envelope
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.status)) == "sent"


def test_domain_beyond_ascii_goes_idna_encoded(make_app, start_smtp):
    """user@bücher.example registers; RCPT TO and To carry the xn-- domain."""
    server = start_smtp(enable_SMTPUTF8=False)
    app = mail_app(make_app, server)
    response = app.test_client().post(
        "/register", data=registration("user@bücher.example")
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User.email)) == "user@bücher.example"
    [(recipients, message)] = server.messages
    assert recipients == ["user@xn--bcher-kva.example"]
    assert message["To"] == "user@xn--bcher-kva.example"
    assert "SMTPUTF8" not in server.mail_options[0]


@pytest.mark.parametrize(
    ("headers", "error"),
    [({}, UNDELIVERABLE), (ZH, UNDELIVERABLE_ZH)],
    ids=["en", "zh-TW"],
)
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/register", registration("josé@example.com")),
        ("/reset_password_request", {"email": "josé@example.com"}),
    ],
    ids=["register", "reset-request"],
)
def test_forms_refuse_a_local_part_beyond_ascii(
    app, client, path, data, headers, error
):
    """Without MAIL_SMTPUTF8 the address is refused by the field; nothing queued."""
    response = client.post(path, data=data, headers=headers)
    assert response.status_code == 200
    assert field_error(response, "email") == error
    assert stored(app, User) == 0
    assert stored(app, OutboxMessage) == 0


def test_change_address_refuses_a_local_part_beyond_ascii(app, client, make_user):
    """The new address of an account is checked the same way."""
    make_user("susan")
    AuthActions(client).login()
    data = {"email": "josé@example.com", "password": PASSWORD}
    response = client.post("/change_email", data=data)
    assert response.status_code == 200
    assert field_error(response, "email") == UNDELIVERABLE


def test_reset_request_beyond_ascii_is_sent_with_smtputf8(
    make_app, start_smtp, make_user
):
    """With MAIL_SMTPUTF8, a reset request for josé@example.com gets its link."""
    server = start_smtp(enable_SMTPUTF8=True)
    app = mail_app(make_app, server, MAIL_SMTPUTF8=True)
    make_user("jose", email="josé@example.com")
    response = app.test_client().post(
        "/reset_password_request", data={"email": "josé@example.com"}
    )
    assert response.status_code == 302
    [(recipients, message)] = server.messages
    assert recipients == ["josé@example.com"]
    assert "SMTPUTF8" in server.mail_options[0]
    assert "/reset_password/" in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("submitted", "answer"),
    [("\u212aevin@example.org", 302), ("kevın@example.org", 200)],
    ids=["kelvin-sign", "dotless-i"],
)
def test_reset_request_checks_the_address_it_would_match(
    client, make_user, outbox, submitted, answer
):
    """A spelling that folds to an ASCII account is taken; one that can't is refused."""
    make_user("kevin", email="kevin@example.org")
    response = client.post("/reset_password_request", data={"email": submitted})
    assert response.status_code == answer
    if answer == 200:
        assert field_error(response, "email") == UNDELIVERABLE
        assert outbox == []
    else:
        assert [message.send_to for message in outbox] == [{"kevin@example.org"}]


@pytest.mark.parametrize("taken", [False, True], ids=["fresh", "taken"])
def test_registration_refuses_a_wide_spelling_whether_taken_or_not(
    app, client, make_user, outbox, taken
):
    """Fullwidth letters before the @ get the same refusal, so nothing is revealed."""
    if taken:
        make_user("susan", email="susan@example.org")
    typed = "\uff53\uff55\uff53\uff41\uff4e@example.org"
    response = client.post("/register", data=registration(typed, username="nina"))
    assert response.status_code == 200
    assert field_error(response, "email") == UNDELIVERABLE
    assert outbox == []
