"""The password reset, row by row against ../shared/docs/reset-security.md."""

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from email import message_from_string

import jwt
import pytest
import sqlalchemy as sa

from app import db
from app.models import RESET_AUDIENCE, User
from tests.conftest import PASSWORD

NEW_PASSWORD = "seven blue kites over harbour"
LINK = re.compile(r"https://app\.example\.com/reset_password/([\w.-]+)")


def request_reset(client, email, **kwargs):
    """POST the forgot-password form."""
    return client.post("/reset_password_request", data={"email": email}, **kwargs)


def token_from(message):
    """The token in a reset mail's text part."""
    return LINK.search(message.body).group(1)


def set_password(client, token, password=NEW_PASSWORD, **extra):
    """Open the emailed link, then submit the new-password form."""
    client.get(f"/reset_password/{token}")
    data = {"password": password, "password2": password, **extra}
    return client.post("/reset_password/set-password", data=data)


def flashes(client):
    """The flashed messages waiting in client's session."""
    with client.session_transaction() as session:
        return session.get("_flashes", [])


def get_user(app, user_id):
    """Fresh state of a user from the database."""
    with app.app_context():
        return db.session.get(User, user_id)


def fresh_token(app, user_id, **kwargs):
    """A valid reset token minted directly from the model."""
    with app.app_context():
        return db.session.get(User, user_id).get_reset_password_token(**kwargs)


def reset_key(secret):
    """The reset-token key the app derives from a secret."""
    return hmac.new(secret.encode(), b"microblog.password-reset", "sha256").digest()


def claims_for(app, user_id, **changes):
    """A valid claim set for user_id, with changes applied."""
    token = fresh_token(app, user_id)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


# --- The story, through the test client ---


def test_full_reset_story(client, make_user, outbox, auth, app):
    user_id = make_user("mike", "mike@example.org")
    response = request_reset(client, "mike@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert len(outbox) == 1
    token = token_from(outbox[0])
    assert f"/reset_password/{token}" in outbox[0].html

    response = client.get(f"/reset_password/{token}")
    assert response.headers["Location"] == "/reset_password/set-password"
    page = client.get("/reset_password/set-password")
    assert b'name="password2"' in page.data
    assert token.encode() not in page.data

    response = set_password(client, token)
    assert response.headers["Location"] == "/login"
    assert auth.login("mike", PASSWORD).status_code == 200  # old password refused
    assert auth.login("mike", NEW_PASSWORD).headers["Location"] == "/index"
    assert get_user(app, user_id).check_password is not None


def test_direct_post_to_the_link_still_works(client, make_user, app, auth):
    """The tutorial's contract: POST /reset_password/<token> sets the password."""
    user_id = make_user("mike")
    token = fresh_token(app, user_id)
    data = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = client.post(f"/reset_password/{token}", data=data)
    assert response.headers["Location"] == "/login"
    assert auth.login("mike", NEW_PASSWORD).headers["Location"] == "/index"


def test_logged_in_users_are_sent_home(client, make_user, auth, app):
    user_id = make_user("mike")
    auth.login("mike")
    token = fresh_token(app, user_id)
    for path in ("/reset_password_request", f"/reset_password/{token}"):
        assert client.get(path).headers["Location"] == "/index"


# --- A. The request endpoint ---


@pytest.mark.parametrize(
    "address",
    ["unknown@example.org", "not an address", "inactive@example.org", "nopw@x.org"],
)
def test_same_answer_for_every_address(client, make_user, outbox, address):
    """Row 1: status, Location, flash and header names never reveal an account."""
    make_user("mike", "mike@example.org")
    make_user("inactive", "inactive@example.org", active=False)
    make_user("nopw", "nopw@x.org", password=None)
    known = request_reset(client, "mike@example.org")
    known_flash = flashes(client)
    client.get("/login")  # consume the flash
    other = request_reset(client, address)
    assert other.status_code == known.status_code == 302
    assert other.headers["Location"] == known.headers["Location"]
    assert sorted(other.headers.keys()) == sorted(known.headers.keys())
    assert flashes(client) == known_flash
    assert [message.recipients for message in outbox] == [["mike@example.org"]]


def test_request_does_the_same_database_work_for_known_and_unknown(make_app, make_user):
    """Row 2: no account lookup on the request path, so no timing signal."""
    app = make_app(MAIL_DELIVERY="worker")
    with app.app_context():
        db.session.add(User(username="mike", email="mike@example.org"))
        db.session.commit()
    client = app.test_client()
    recorded = []

    def record(conn, cursor, statement, parameters, context, executemany):
        recorded.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        request_reset(client, "mike@example.org")
        known, recorded[:] = list(recorded), []
        request_reset(client, "nobody@example.org")
        unknown = list(recorded)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert known == unknown
    assert not any('FROM "user"' in statement for statement in known)


def test_request_does_not_wait_for_a_dead_mail_server(make_app, make_user):
    """Rows 2-3: SMTP trouble never reaches the response."""
    from tests.conftest import free_port

    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=1)
    with app.app_context():
        db.session.add(User(username="mike", email="mike@example.org"))
        db.session.commit()
    client = app.test_client()
    known = request_reset(client, "mike@example.org")
    unknown = request_reset(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]


def test_a_request_changes_nothing_on_the_account(client, make_user, app, auth):
    """Row 7: no lockout, the old password keeps working."""
    user_id = make_user("mike")
    before = get_user(app, user_id).password_hash
    request_reset(client, "mike@example.org")
    assert get_user(app, user_id).password_hash == before
    assert auth.login("mike").headers["Location"] == "/index"


@pytest.mark.parametrize(
    ("owner", "submitted"),
    [
        ("mike@example.org", "MIKE@Example.org"),
        ("mike@example.org", "mıke@example.org"),
        ("kevin@example.org", "\u212aevin@example.org"),
        ("mike@example.org", "mike\uff20example.org"),
        ("mike@example.org", "mike@example.org,att@evil.test"),
        ("mike@example.org", "mike@example.org att@evil.test"),
        ("mike@example.org", "mike@example.org\r\ncc:att@evil.test"),
        ("mike@example.org", "  mike@example.org  "),
    ],
)
def test_addresses_match_safely_and_mail_goes_to_the_stored_one(
    make_app, make_user, outbox, owner, submitted
):
    """Rows 4, 5, 12: Unicode-safe matching; recipients only ever the owner."""
    # MAIL_SMTPUTF8: the form takes every spelling, so only the matching decides.
    client = make_app(MAIL_SMTPUTF8=True).test_client()
    make_user(owner.split("@")[0], owner)
    response = request_reset(client, submitted)
    assert response.headers["Location"] == "/login"
    for message in outbox:
        assert message.recipients == [owner]
        assert message.send_to == {owner}


def test_case_variant_reaches_the_stored_address(client, make_user, outbox):
    """Row 5: the recipient is user.email, never the submitted string."""
    make_user("mike", "mike@example.org")
    request_reset(client, "MIKE@EXAMPLE.ORG")
    assert [message.recipients for message in outbox] == [["mike@example.org"]]


def test_duplicated_email_parameter_mails_only_the_owner(client, make_user, outbox):
    """Row 4: parameter pollution sends nothing to the second address."""
    make_user("mike", "mike@example.org")
    data = {"email": ["mike@example.org", "att@evil.test"]}
    client.post("/reset_password_request", data=data)
    assert all(message.send_to == {"mike@example.org"} for message in outbox)


def test_header_injection_through_the_username_adds_no_recipient(
    client, make_user, outbox, app
):
    """Row 12: user text only reaches the body."""
    make_user("x\r\nBcc: att@evil.test", "victim@example.org")
    request_reset(client, "victim@example.org")
    assert len(outbox) == 1
    with app.app_context():
        raw = outbox[0].as_string()
    assert outbox[0].send_to == {"victim@example.org"}
    headers = message_from_string(raw)
    assert headers["Bcc"] is None and headers["Cc"] is None
    assert "att@evil.test" not in outbox[0].subject


def test_csrf_protects_both_forms(make_app, make_user):
    """Row 9: without a CSRF token, nothing is sent and nothing changes."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = User(username="mike", email="mike@example.org")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        before, token = user.password_hash, user.get_reset_password_token()
    client = app.test_client()
    assert request_reset(client, "mike@example.org").status_code == 400
    data = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(f"/reset_password/{token}", data=data).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(User.password_hash)) == before


# --- B. The link and the mail ---


def test_link_ignores_forwarded_host_and_uses_https(client, make_user, outbox):
    """Rows 10-11: host and scheme come from SERVER_NAME and PREFERRED_URL_SCHEME."""
    make_user("mike")
    headers = {"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "http"}
    request_reset(client, "mike@example.org", headers=headers, base_url="http://x")
    assert "evil.test" not in outbox[0].body + outbox[0].html
    assert LINK.search(outbox[0].body)


def test_foreign_host_is_refused_when_trusted_hosts_is_set(make_app, outbox):
    """Row 10: TRUSTED_HOSTS answers 400 to a forged Host header."""
    app = make_app(TRUSTED_HOSTS=["app.example.com"])
    with app.app_context():
        db.session.add(User(username="mike", email="mike@example.org"))
        db.session.commit()
    client = app.test_client()
    response = request_reset(client, "mike@example.org", headers={"Host": "evil.test"})
    assert response.status_code == 400
    assert outbox == []
    assert request_reset(client, "mike@example.org").status_code == 302


def test_mail_states_expiry_and_carries_no_password(client, make_user, outbox):
    """Row 13: the mail says when the link expires and holds no secret."""
    make_user("mike")
    request_reset(client, "mike@example.org")
    body = outbox[0].body
    assert "expires in 30 minutes" in body
    assert "ignore this message" in body
    assert PASSWORD not in body + outbox[0].html


def test_token_never_appears_in_responses(client, make_user, outbox):
    """Row 13: the token is not echoed in pages, headers or cookies."""
    make_user("mike")
    request_reset(client, "mike@example.org")
    token = token_from(outbox[0])
    first = client.get(f"/reset_password/{token}")
    page = client.get("/reset_password/set-password")
    for response in (first, page):
        assert token not in response.get_data(as_text=True)
        headers = "".join(v for k, v in response.headers if k != "Location")
        assert token not in headers


# --- C. The token ---


def test_token_claims_are_bounded_and_impersonal(app, make_user):
    """Rows 16, 19: sub as a string, own audience, iat/exp, nothing personal."""
    user_id = make_user("mike", "mike@example.org")
    token = fresh_token(app, user_id)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"sub", "aud", "iat", "exp", "fp"}
    assert claims["sub"] == str(user_id)
    assert claims["aud"] == RESET_AUDIENCE
    assert claims["exp"] - claims["iat"] == 30 * 60
    salt_and_hash = get_user(app, user_id).password_hash.split("$", 4)[-1]
    text = json.dumps(claims)
    assert "mike" not in text
    assert not any(
        salt_and_hash[i : i + 8] in text for i in range(len(salt_and_hash) - 8)
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"


def test_expiry_is_configurable(make_app):
    """Issue 3.1: RESET_TOKEN_EXPIRES sets the lifetime."""
    app = make_app(RESET_TOKEN_EXPIRES=15 * 60)
    with app.app_context():
        user = User(username="mike", email="mike@example.org")
        db.session.add(user)
        db.session.commit()
        claims = jwt.decode(
            user.get_reset_password_token(), options={"verify_signature": False}
        )
    assert claims["exp"] - claims["iat"] == 15 * 60


def forged_tokens(app, user_id):
    """Tokens that must all be refused, by name."""
    key = reset_key(app.config["SECRET_KEY"])
    good = fresh_token(app, user_id)
    header, payload, signature = good.split(".")
    claims = claims_for(app, user_id)
    tampered = dict(claims, sub=str(user_id + 1))
    encoded = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
    return {
        "tampered": f"{header}.{encoded.decode()}.{signature}",
        "alg none": f"{none_header.decode()}.{payload}.",
        "HS512": jwt.encode(claims, key * 2, algorithm="HS512"),
        "wrong key": jwt.encode(claims, "another-secret-key-" * 3, algorithm="HS256"),
        "raw SECRET_KEY": jwt.encode(claims, app.config["SECRET_KEY"], "HS256"),
        "expired": jwt.encode(
            claims_for(app, user_id, iat=int(time.time()) - 7200, exp=1), key
        ),
        "no exp": jwt.encode(claims_for(app, user_id, exp=None), key),
        "no iat": jwt.encode(claims_for(app, user_id, iat=None), key),
        "wrong audience": jwt.encode(claims_for(app, user_id, aud="login"), key),
        "integer sub": jwt.encode(claims_for(app, user_id, sub=user_id), key),
        "unknown user": jwt.encode(claims_for(app, user_id, sub="999"), key),
        "bad fingerprint": jwt.encode(claims_for(app, user_id, fp="x" * 22), key),
        "garbage": "not-a-token",
        "20 kB": "a" * 20_000,
    }


@pytest.mark.parametrize(
    "name",
    [
        "tampered",
        "alg none",
        "HS512",
        "wrong key",
        "raw SECRET_KEY",
        "expired",
        "no exp",
        "no iat",
        "wrong audience",
        "integer sub",
        "unknown user",
        "bad fingerprint",
        "garbage",
        "20 kB",
    ],
)
def test_bad_tokens_get_one_clear_answer(client, app, make_user, name):
    """Rows 15-16: every bad link is refused the same way, never a 500."""
    user_id = make_user("mike")
    token = forged_tokens(app, user_id)[name]
    with app.app_context():
        assert User.verify_reset_password_token(token) is None
    for method in (client.get, client.post):
        response = method(f"/reset_password/{token}")
        assert response.status_code == 302
        assert response.headers["Location"] == "/reset_password_request"
    page = client.get("/reset_password_request")
    assert b"invalid or has expired" in page.data


def test_get_never_uses_up_the_link(client, make_user, app):
    """Row 21: scanners may open the link; only a successful POST consumes it."""
    user_id = make_user("mike")
    token = fresh_token(app, user_id)
    for _ in range(3):
        response = client.get(f"/reset_password/{token}")
        assert response.headers["Location"] == "/reset_password/set-password"
    assert set_password(client, token).headers["Location"] == "/login"
    again = client.get(f"/reset_password/{token}")
    assert again.headers["Location"] == "/reset_password_request"


def test_link_dies_when_password_or_email_changes(app, make_user):
    """Rows 17-18: the fingerprint ties the token to the account's state."""
    user_id = make_user("mike")
    for change in ("password", "email", "deactivate", "delete"):
        token = fresh_token(app, user_id)
        with app.app_context():
            user = db.session.get(User, user_id)
            assert User.verify_reset_password_token(token).id == user_id
            if change == "password":
                user.set_password("something else entirely here")
            elif change == "email":
                user.email = "mike.new@example.org"
            elif change == "deactivate":
                user.active = False
            else:
                db.session.delete(user)
            db.session.commit()
            assert User.verify_reset_password_token(token) is None
            if change == "deactivate":
                user.active = True
                db.session.commit()


def test_secret_rotation_keeps_links_alive_through_fallbacks(make_app):
    """Row 32: a token from the previous key passes while it is a fallback."""
    old = make_app(SECRET_KEY="the-previous-secret-key-0123456789abcdef")
    with old.app_context():
        user = User(username="mike", email="mike@example.org")
        db.session.add(user)
        db.session.commit()
        token = user.get_reset_password_token()
    rotated = make_app(
        SECRET_KEY="the-current-secret-key-0123456789abcdefgh",
        SECRET_KEY_FALLBACKS=["the-previous-secret-key-0123456789abcdef"],
    )
    with rotated.app_context():
        db.session.add(User(username="mike", email="mike@example.org"))
        db.session.commit()
        assert User.verify_reset_password_token(token) is not None
    dropped = make_app(SECRET_KEY="the-current-secret-key-0123456789abcdefgh")
    with dropped.app_context():
        db.session.add(User(username="mike", email="mike@example.org"))
        db.session.commit()
        assert User.verify_reset_password_token(token) is None


# --- D. The landing page and the form ---


def test_post_takes_the_user_only_from_the_token(client, app, make_user, auth):
    """Row 22: extra email or user_id fields change nothing else."""
    mike = make_user("mike")
    other = make_user("olga")
    before = get_user(app, other).password_hash
    token = fresh_token(app, mike)
    set_password(client, token, email="olga@example.org", user_id=str(other))
    assert get_user(app, other).password_hash == before
    assert auth.login("mike", NEW_PASSWORD).headers["Location"] == "/index"


def test_reset_pages_are_private(client, make_user, app):
    """Rows 23-24: no-referrer, no-store, no third-party resources."""
    token = fresh_token(app, make_user("mike"))
    responses = [
        client.get("/reset_password_request"),
        client.get(f"/reset_password/{token}"),
        client.get("/reset_password/set-password"),
    ]
    for response in responses:
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response.headers["Cache-Control"]
    for response in (responses[0], responses[2]):
        sources = re.findall(r'(?:src|href)="([^"]+)"', response.get_data(as_text=True))
        assert sources
        assert all(source.startswith(("/", "#")) for source in sources), sources


def test_new_password_follows_the_policy(client, app, make_user):
    """Row 25: the same rules as registration, with the reason by the field."""
    token = fresh_token(app, make_user("mike"))
    response = set_password(client, token, password="short one")
    assert response.status_code == 200
    assert b'id="password-error"' in response.data
    assert b"at least 15 characters" in response.data
    response = set_password(client, token, password="mike@example.org-2024!")
    assert b"without your username or email address" in response.data
    response = set_password(client, token, password="a new bike for mike and me")
    assert response.headers["Location"] == "/login"


# --- E. After a successful reset ---


def test_reset_ends_every_session_and_remember_cookie(app, make_user, client):
    """Row 26: old sessions, remember-me cookies and session cookies all die."""
    user_id = make_user("mike")
    victim = app.test_client()
    victim.post(
        "/login", data={"username": "mike", "password": PASSWORD, "remember_me": "y"}
    )
    assert victim.get("/index").status_code == 200
    remember = victim.get_cookie("remember_token", domain="app.example.com").value
    session_cookie = victim.get_cookie("session", domain="app.example.com").value

    assert set_password(client, fresh_token(app, user_id)).status_code == 302

    assert victim.get("/index").headers["Location"].startswith("/login")
    only_remember = app.test_client()
    only_remember.set_cookie("remember_token", remember, domain="app.example.com")
    assert only_remember.get("/index").headers["Location"].startswith("/login")
    only_session = app.test_client()
    only_session.set_cookie("session", session_cookie, domain="app.example.com")
    assert only_session.get("/index").headers["Location"].startswith("/login")


def test_no_automatic_login_after_reset(client, app, make_user):
    """Row 27: the user signs in again themselves."""
    token = fresh_token(app, make_user("mike"))
    assert set_password(client, token).headers["Location"] == "/login"
    with client.session_transaction() as session:
        assert "_user_id" not in session
        assert "_password_reset_token" not in session
    assert client.get("/index").headers["Location"].startswith("/login")


def test_owner_is_told_the_password_changed(client, app, make_user, outbox):
    """Row 28: a notice to the stored address, no password, no token."""
    make_user("mike", "Mike@Example.org")
    request_reset(client, "mike@example.org")
    token = token_from(outbox[0])
    set_password(client, token)
    assert len(outbox) == 2
    notice = outbox[1]
    assert notice.recipients == ["Mike@Example.org"]
    assert "password" in notice.subject.lower()
    text = notice.body + notice.html
    assert NEW_PASSWORD not in text and token not in text


def test_audit_log_has_events_but_no_secrets(client, make_user, outbox, caplog):
    """Row 30: requested, completed, refused; never the token or a password."""
    caplog.set_level(logging.INFO, logger="app")
    user_id = make_user("mike")
    request_reset(client, "mike@example.org")
    token = token_from(outbox[0])
    set_password(client, token)
    client.get(f"/reset_password/{token}")
    text = caplog.text
    assert "password_reset_requested" in text
    assert f"password_reset_completed user_id={user_id}" in text
    assert "password_reset_refused" in text
    assert token not in text
    assert token.split(".")[2] not in text
    assert NEW_PASSWORD not in text and PASSWORD not in text
    assert "mike@example.org" not in text


# --- Rate limits ---


@pytest.fixture
def limited_app(make_app):
    """The app with rate limits on, as in production."""
    app = make_app(RATELIMIT_ENABLED=True, RESET_REQUESTS_PER_ADDRESS="3/hour")
    with app.app_context():
        user = User(username="mike", email="mike@example.org")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    return app


def test_per_address_limit_is_the_same_for_known_and_unknown(limited_app, outbox):
    """Row 8: the 4th request for any address gets a 429, whether it exists or not."""
    outcomes = {}
    for address in ("mike@example.org", "ghost@example.org"):
        client = limited_app.test_client()
        codes = [request_reset(client, address).status_code for _ in range(4)]
        outcomes[address] = codes
        # Case variants share the counter.
        assert request_reset(client, address.upper()).status_code == 429
    assert outcomes["mike@example.org"] == outcomes["ghost@example.org"]
    assert outcomes["mike@example.org"] == [302, 302, 302, 429]
    assert len(outbox) == 3
    page = limited_app.test_client().get("/reset_password_request")
    assert page.status_code == 200


def test_rate_limit_page_is_readable(limited_app):
    """Issue 3.6: a limit answers 429 with a page a person can read."""
    client = limited_app.test_client()
    for _ in range(3):
        request_reset(client, "mike@example.org")
    response = request_reset(client, "mike@example.org")
    assert response.status_code == 429
    assert b"Too many attempts" in response.data
    assert "Retry-After" in response.headers


def test_failed_logins_are_throttled_per_username(limited_app):
    """Issue 3.6: guessing one account's password is slowed down."""
    client = limited_app.test_client()
    data = {"username": "mike", "password": "wrong password guess"}
    codes = [client.post("/login", data=data).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429


def test_successful_logins_do_not_count_against_the_user(limited_app):
    """Only failures are deducted from the per-username budget."""
    for _ in range(12):
        client = limited_app.test_client()
        response = client.post(
            "/login", data={"username": "mike", "password": PASSWORD}
        )
        assert response.headers["Location"] == "/index"


def test_spoofed_forwarded_for_does_not_reset_the_ip_limit(make_app):
    """Row 8: with one trusted proxy, extra left-most X-Forwarded-For is ignored."""
    app = make_app(RATELIMIT_ENABLED=True, PROXY_FIX_X_FOR=1)
    client = app.test_client()
    codes = []
    for attempt in range(21):
        spoof = f"10.0.0.{attempt}, 203.0.113.7"
        response = request_reset(
            client, f"user{attempt}@example.org", headers={"X-Forwarded-For": spoof}
        )
        codes.append(response.status_code)
    assert codes[:20] == [302] * 20
    assert codes[20] == 429


def test_limits_can_be_turned_off(make_app):
    """RATELIMIT_ENABLED=false (local load tests) lifts every limit."""
    app = make_app(RATELIMIT_ENABLED=False)
    client = app.test_client()
    codes = {request_reset(client, "x@example.org").status_code for _ in range(25)}
    assert codes == {302}


def test_token_fingerprint_uses_constant_time_compare(monkeypatch, app, make_user):
    """Row 17: the fingerprint check goes through hmac.compare_digest."""
    token = fresh_token(app, make_user("mike"))
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("app.tokens.hmac.compare_digest", spy)
    with app.app_context():
        assert User.verify_reset_password_token(token) is not None
    assert calls


def test_reset_key_is_derived_not_the_raw_secret(app, make_user):
    """Row 14: a JWT signed with SECRET_KEY itself (e.g. another feature's) fails."""
    user_id = make_user("mike")
    token = fresh_token(app, user_id)
    derived = reset_key(app.config["SECRET_KEY"])
    assert jwt.decode(token, derived, algorithms=["HS256"], audience=RESET_AUDIENCE)
    assert len(derived) == 32
    assert hashlib.sha256(b"").digest_size == len(derived)
