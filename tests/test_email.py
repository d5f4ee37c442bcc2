"""The password reset story, end to end through a real SMTP server."""

import html
import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from markupsafe import escape

from app import db
from app.auth.email import CHANGED_SUBJECT, CONFIRM_SUBJECT, RESET_SUBJECT
from app.auth.routes import RESET_REQUESTED
from app.mail.models import OutboxMessage
from app.models import User

USERNAME = "wanda"
STORED_EMAIL = "Wanda.Smith@Example.org"
TYPED_EMAIL = "wanda.smith@EXAMPLE.ORG"
OLD_PASSWORD = "tangerine lamp orbit 42"
NEW_PASSWORD = "copper kettle river 97"
RESET_LINK = re.compile(r"https://app\.example\.com/reset_password/([A-Za-z0-9_.\-]+)")


def text_parts(message) -> dict[str, str]:
    """The text/plain and text/html bodies, found by walking the MIME tree."""
    parts = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        if content_type in ("text/plain", "text/html"):
            assert content_type not in parts, f"two {content_type} parts"
            parts[content_type] = part.get_content()
    assert set(parts) == {"text/plain", "text/html"}, message.as_string()
    return parts


def reset_links(text: str) -> set[str]:
    """Every reset link in text (HTML entities decoded)."""
    return {match.group(0) for match in RESET_LINK.finditer(html.unescape(text))}


def register(
    client, inbox, username=USERNAME, email=STORED_EMAIL, password=OLD_PASSWORD
):
    """Create an account through the real form; its confirmation mail is set aside."""
    response = client.post(
        "/register",
        data={
            "username": username,
            "email": email,
            "password": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.location).path == "/login"
    assert [message["Subject"] for _, message in inbox.messages] == [CONFIRM_SUBJECT]
    inbox.messages.clear()


def login(client, password, username=USERNAME):
    """POST the login form."""
    return client.post("/login", data={"username": username, "password": password})


def test_password_reset_story_through_real_smtp(smtp_app, smtp_server):
    client = smtp_app.test_client()
    register(client, smtp_server)

    response = client.post("/reset_password_request", data={"email": TYPED_EMAIL})
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"

    # Exactly one message, addressed to the address as stored, not as typed.
    assert len(smtp_server.messages) == 1
    envelope_to, message = smtp_server.messages[0]
    assert envelope_to == [STORED_EMAIL]
    assert message["To"] == STORED_EMAIL
    assert message["Subject"] == RESET_SUBJECT

    parts = text_parts(message)
    text, body_html = parts["text/plain"], parts["text/html"]
    assert f"Dear {USERNAME}," in text
    assert f"Dear {USERNAME}," in body_html
    links = reset_links(text)
    assert len(links) == 1
    assert reset_links(body_html) == links
    link = links.pop()
    token = RESET_LINK.fullmatch(link).group(1)

    # The link lands on a token-free URL, which shows the form.
    response = client.get(link)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/reset_password/set-password"
    response = client.get("/reset_password/set-password")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Choose a new password" in page
    assert USERNAME in page
    assert token not in page

    response = client.post(
        "/reset_password/set-password",
        data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"

    # The old password no longer works; the new one does.
    response = login(client, OLD_PASSWORD)
    assert response.status_code == 200
    assert "Invalid username or password." in response.get_data(as_text=True)
    response = login(client, NEW_PASSWORD)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/index"
    client.post("/logout")

    # The link was good for one reset only.
    response = client.get(link)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/reset_password_request"

    # A notice went to the stored address, carrying no secret.
    assert len(smtp_server.messages) == 2
    envelope_to, notice = smtp_server.messages[1]
    assert envelope_to == [STORED_EMAIL]
    assert notice["Subject"] == CHANGED_SUBJECT
    for body in text_parts(notice).values():
        assert f"Dear {USERNAME}," in body
        assert "changed" in body
        assert token not in body
        assert reset_links(body) == set()
        assert NEW_PASSWORD not in body
        assert OLD_PASSWORD not in body
    raw = notice.as_string()
    assert token not in raw
    assert NEW_PASSWORD not in raw

    with smtp_app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage)).all()
        # The confirmation, the reset link and the notice.
        assert [row.status for row in rows] == ["sent", "sent", "sent"]
        assert all(row.text_body is None and row.html_body is None for row in rows)


def test_reset_mail_states_when_the_link_expires(smtp_app, smtp_server):
    client = smtp_app.test_client()
    register(client, smtp_server)
    client.post("/reset_password_request", data={"email": STORED_EMAIL})

    assert len(smtp_server.messages) == 1
    minutes = smtp_app.config["RESET_TOKEN_EXPIRES"] // 60
    for body in text_parts(smtp_server.messages[0][1]).values():
        assert "expire" in body
        assert f"expires in {minutes} minutes" in " ".join(body.split())


def test_unknown_address_gets_the_same_answer_and_no_mail(smtp_app, smtp_server):
    client = smtp_app.test_client()
    register(client, smtp_server)

    known = client.post("/reset_password_request", data={"email": STORED_EMAIL})
    known_page = client.get(known.location).get_data(as_text=True)
    assert len(smtp_server.messages) == 1

    unknown = client.post(
        "/reset_password_request", data={"email": "nobody@example.net"}
    )
    assert unknown.status_code == known.status_code == 302
    assert unknown.location == known.location
    unknown_page = client.get(unknown.location).get_data(as_text=True)
    assert str(escape(str(RESET_REQUESTED))) in known_page
    assert str(escape(str(RESET_REQUESTED))) in unknown_page

    assert len(smtp_server.messages) == 1
    with smtp_app.app_context():
        row = db.session.scalar(
            sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
        )
        assert row.status == "dropped"
        # An address nobody registered is not kept.
        assert row.recipients is None
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
