"""Passkeys through HTTP, with a software authenticator (tests/soft_passkey.py):
adding, signing in alone or in place of a code, and the server's rules."""

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import db
from app.models import Passkey, PasskeyChallenge, User, utcnow
from tests.conftest import PASSWORD
from tests.soft_passkey import PRESENT, SoftPasskey


def sign_in(client, username="susan", password=PASSWORD, **form):
    """POST the password form."""
    return client.post(
        "/login", data={"username": username, "password": password, **form}
    )


def page_text(response) -> str:
    """The page, entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def add_passkey(client, device: SoftPasskey, name="My phone", **answer):
    """Register device for the signed-in user; the JSON answer and its status."""
    options = client.post("/passkeys/options").get_json()
    credential = device.register(options, **answer) | {"name": name}
    response = client.post("/passkeys/register", json=credential)
    return response.get_json(), response.status_code


def passkey_sign_in(client, device: SoftPasskey, query="", **answer):
    """The passkey button on the sign-in page; the JSON answer and its status."""
    options = client.post("/login/passkey/options").get_json()
    response = client.post(
        f"/login/passkey{query}", json=device.sign_in(options, **answer)
    )
    return response.get_json(), response.status_code


def signed_in_as(client) -> str | None:
    """The username this browser is signed in as, or None."""
    response = client.get("/settings")
    if response.status_code != 200:
        return None
    return "susan" if 'href="/user/susan"' in response.get_data(as_text=True) else "?"


@pytest.fixture
def device():
    """A fresh software passkey for app.example.com."""
    return SoftPasskey()


@pytest.fixture
def with_passkey(app, client, make_user, device):
    """susan with one passkey, signed out."""
    make_user("susan")
    sign_in(client)
    answer, status = add_passkey(client, device)
    assert status == 200, answer
    client.post("/logout")
    return device


def test_adding_one_needs_a_recent_sign_in(app, client, make_user):
    """The page sends an old sign-in to /reauthenticate; the API says so in words."""
    make_user("susan")
    sign_in(client)
    with client.session_transaction() as session:
        session["_signed_in_at"] -= app.config["REAUTHENTICATE_AFTER"] + 1
    assert client.get("/passkeys/add").location.startswith("/reauthenticate")
    refused = client.post("/passkeys/options")
    assert (
        refused.status_code == 403 and "confirm it's you" in refused.get_json()["error"]
    )


def test_options_ask_for_a_discoverable_verified_passkey(app, client, make_user):
    """Resident key and user verification required; RP ID from SERVER_NAME."""
    app.config["SERVER_NAME"] = "app.example.com:8443"  # the port is not in the RP ID
    make_user("susan")
    sign_in(client)
    options = client.post("/passkeys/options").get_json()
    assert options["rp"] == {"id": "app.example.com", "name": "Microblog"}
    selection = options["authenticatorSelection"]
    assert selection["residentKey"] == "required"
    assert selection["userVerification"] == "required"
    assert options["user"]["name"] == "susan" and options["user"]["id"] != "1"
    assert options["timeout"] == 300_000


def test_a_passkey_is_added_listed_and_announced(app, client, make_user, outbox):
    """It shows with its name; the owner gets a notice."""
    make_user("susan")
    sign_in(client)
    device = SoftPasskey()
    answer, status = add_passkey(client, device, name="  Work laptop ")
    assert status == 200 and answer["redirect"] == "/passkeys"
    page = page_text(client.get("/passkeys"))
    assert 'value="Work laptop"' in page and "never used yet" in page
    assert outbox[-1].subject == "[Microblog] A passkey was added"
    assert "Work laptop" in outbox[-1].body


def test_a_passkey_signs_in_alone_even_with_a_second_factor(
    app, client, with_passkey, outbox
):
    """Two factors in one: no password, no code."""
    with app.app_context():
        user = User.by_username("susan")
        user.enable_two_factor("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0)
        db.session.commit()
    answer, status = passkey_sign_in(client, with_passkey, query="?next=/explore")
    assert status == 200 and answer["redirect"] == "/explore"
    assert signed_in_as(client) == "susan"
    with app.app_context():
        stored = db.session.scalar(sa.select(Passkey))
        assert stored.sign_count == 1 and stored.last_used_at is not None


def test_a_passkey_takes_the_place_of_a_code(app, client, with_passkey):
    """At /login/two_factor; remember me and next from the password step hold."""
    with app.app_context():
        User.by_username("susan").enable_two_factor(
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0
        )
        db.session.commit()
    first = client.post(
        "/login",
        data={"username": "susan", "password": PASSWORD, "remember_me": "y"},
        query_string={"next": "/explore"},
    )
    assert first.location == "/login/two_factor"
    page = page_text(client.get("/login/two_factor"))
    assert "Use a passkey instead" in page and "data-passkey-sign-in hidden" in page
    answer, status = passkey_sign_in(client, with_passkey)
    assert status == 200 and answer["redirect"] == "/explore"
    assert client.get_cookie("remember_token", domain="app.example.com") is not None


def test_each_challenge_works_once_and_for_five_minutes(app, client, with_passkey):
    """The same answer twice, or an answer after five minutes, is refused."""
    options = client.post("/login/passkey/options").get_json()
    credential = with_passkey.sign_in(options)
    assert client.post("/login/passkey", json=credential).status_code == 200
    client.post("/logout")
    with client.session_transaction() as session:
        session["_passkey_challenge"] = options["challenge"]  # an old cookie again
    replay = client.post("/login/passkey", json=credential)
    assert replay.status_code == 400 and "already used" in replay.get_json()["error"]
    options = client.post("/login/passkey/options").get_json()
    with app.app_context():
        db.session.execute(
            sa.update(PasskeyChallenge).values(
                created_at=utcnow() - timedelta(seconds=301)
            )
        )
        db.session.commit()
    late = client.post("/login/passkey", json=with_passkey.sign_in(options))
    assert late.status_code == 400 and "took too long" in late.get_json()["error"]


def test_a_challenge_belongs_to_the_browser_it_was_given_to(app, client, with_passkey):
    """Another browser cannot answer it."""
    options = client.post("/login/passkey/options").get_json()
    other = app.test_client()
    stolen = other.post("/login/passkey", json=with_passkey.sign_in(options))
    assert stolen.status_code == 400 and signed_in_as(other) is None


@pytest.mark.parametrize(
    "answer",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://app.example.com"},
        {"rp_id": "evil.example"},
        {"flags": PRESENT},  # no user verification
    ],
)
def test_answers_for_another_origin_or_unverified_are_refused(
    client, with_passkey, answer
):
    """Origin and RP ID come from configuration; user verification is required."""
    reply, status = passkey_sign_in(client, with_passkey, **answer)
    assert status == 400 and "could not be verified" in reply["error"]
    assert signed_in_as(client) is None


def test_registration_without_user_verification_is_refused(app, client, make_user):
    """A passkey that did not verify its user is not kept."""
    make_user("susan")
    sign_in(client)
    reply, status = add_passkey(client, SoftPasskey(), flags=PRESENT | 0x40)
    assert status == 400 and "could not be verified" in reply["error"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Passkey.id))) == 0


def test_a_counter_going_backwards_is_refused_and_logged(
    app, client, with_passkey, caplog
):
    """The sign of a copied authenticator."""
    with app.app_context():
        db.session.execute(sa.update(Passkey).values(sign_count=50))
        db.session.commit()
    with caplog.at_level("WARNING", logger="app.audit"):
        reply, status = passkey_sign_in(client, with_passkey)
    assert status == 400 and "counter went backwards" in reply["error"]
    assert "passkey_counter_went_backwards" in caplog.text
    assert signed_in_as(client) is None


def test_a_credential_belongs_to_one_account(app, client, with_passkey, make_user):
    """The same credential id cannot be added to a second account."""
    make_user("john")
    sign_in(client, "john")
    reply, status = add_passkey(client, with_passkey)
    assert status == 400 and "registered already" in reply["error"]


def test_an_unknown_passkey_gets_words_not_a_500(client, make_user):
    """A passkey nobody registered here (removed, or another site's)."""
    make_user("susan")
    reply, status = passkey_sign_in(client, SoftPasskey())
    assert status == 400 and "not registered here" in reply["error"]


@pytest.mark.parametrize("body", [None, "not json", {"id": 5}, {"no": "id"}])
def test_malformed_answers_get_a_clear_message(client, make_user, body):
    """Nothing, text, or JSON without a credential: 400 with words."""
    client.post("/login/passkey/options")
    if isinstance(body, str):
        response = client.post("/login/passkey", data=body)
    else:
        response = client.post("/login/passkey", json=body)
    assert response.status_code == 400 and response.get_json()["error"]


def test_others_passkeys_are_out_of_reach(app, client, with_passkey, make_user):
    """Renaming or removing another account's passkey is a 404."""
    make_user("john")
    sign_in(client, "john")
    with app.app_context():
        passkey_id = db.session.scalar(sa.select(Passkey.id))
    assert client.post(f"/passkeys/{passkey_id}/remove").status_code == 404
    rename = client.post(f"/passkeys/{passkey_id}/rename", data={"p1-name": "mine"})
    assert rename.status_code == 404
    assert client.post("/passkeys/abc/remove").status_code == 404


def test_renaming_and_removing_ones_own(app, client, with_passkey, outbox):
    """A new name, a too-long one refused; removal needs a recent sign-in."""
    passkey_sign_in(client, with_passkey)
    with app.app_context():
        passkey_id = db.session.scalar(sa.select(Passkey.id))
    field = f"p{passkey_id}-name"
    client.post(f"/passkeys/{passkey_id}/rename", data={field: "Old phone"})
    assert 'value="Old phone"' in page_text(client.get("/passkeys"))
    too_long = client.post(
        f"/passkeys/{passkey_id}/rename",
        data={field: "x" * 10_000},
        follow_redirects=True,
    )
    assert "Field cannot be longer than 64 characters" in page_text(too_long)
    with client.session_transaction() as session:
        session["_signed_in_at"] -= app.config["REAUTHENTICATE_AFTER"] + 1
    stale = client.post(f"/passkeys/{passkey_id}/remove")
    assert stale.location.startswith("/reauthenticate")
    client.post(stale.location, data={"password": PASSWORD})
    client.post(f"/passkeys/{passkey_id}/remove")
    assert "You have no passkeys yet." in page_text(client.get("/passkeys"))
    assert outbox[-1].subject == "[Microblog] A passkey was removed"


def test_a_password_reset_leaves_passkeys_in_place(app, client, with_passkey, outbox):
    """A reset changes the password; the passkey still signs in."""
    client.post("/reset_password_request", data={"email": "susan@example.org"})
    link = next(
        word for word in outbox[-1].body.split() if "/reset_password/" in word
    ).replace("https://app.example.com", "")
    client.get(link)
    new = "a brand new passphrase 2026"
    client.post(
        "/reset_password/set-password", data={"password": new, "password2": new}
    )
    reply, status = passkey_sign_in(client, with_passkey)
    assert status == 200


def test_operators_list_and_remove_passkeys(app, with_passkey, outbox):
    """`flask user passkeys USERNAME [--remove ID]`."""
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["user", "passkeys", "susan"])
    assert listed.exit_code == 0 and "My phone" in listed.output
    with app.app_context():
        passkey_id = db.session.scalar(sa.select(Passkey.id))
    wrong = runner.invoke(args=["user", "passkeys", "susan", "--remove", "999"])
    assert wrong.exit_code == 1
    done = runner.invoke(
        args=["user", "passkeys", "susan", "--remove", str(passkey_id)]
    )
    assert done.exit_code == 0 and "Removed" in done.output
    assert "has no passkeys" in runner.invoke(args=["user", "passkeys", "susan"]).output
    assert outbox[-1].subject == "[Microblog] A passkey was removed"


def test_without_javascript_the_buttons_stay_hidden(client, make_user):
    """The sign-in page works as before; the passkey button waits for the script."""
    page = page_text(client.get("/login"))
    assert "data-passkey-sign-in hidden" in page
    assert '<script src="/static/passkeys.js" defer></script>' in page
    assert "<script>" not in page  # nothing inline: the CSP allows none


def test_the_passkeys_page_in_traditional_chinese(client, with_passkey):
    """Both languages."""
    passkey_sign_in(client, with_passkey)
    page = page_text(client.get("/passkeys", headers={"Accept-Language": "zh-TW"}))
    assert 'lang="zh-Hant-TW"' in page or 'lang="zh-TW"' in page
    assert "通行金鑰" in page or "密鑰" in page


def test_no_passkey_button_on_a_site_served_at_an_ip_address(make_app, make_user):
    """Browsers refuse an IP address as RP ID: the pages say so instead."""
    app = make_app(SERVER_NAME="127.0.0.1:5000")
    make_user("susan")
    client = app.test_client()
    assert "Sign in with a passkey" not in page_text(client.get("/login"))
    sign_in(client)
    page = page_text(client.get("/passkeys/add"))
    assert "served at an IP address" in page and "data-passkey-register" not in page
