"""The password rules (NIST SP 800-63B-4), shared by every password form."""

import pytest

from app.passwords import common_passwords
from tests.conftest import PASSWORD

SIXTY_FOUR = "correct horse battery staple is a fine passphrase for a long time"


def register(client, password, username="newbie"):
    """POST the registration form with password twice."""
    data = {
        "username": username,
        "email": f"{username}@example.org",
        "password": password,
        "password2": password,
    }
    return client.post("/register", data=data)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("a", "at least 15 characters"),
        ("fourteen chars", "at least 15 characters"),
        ("x" * 129, "at most 128 characters"),
        ("password1234567", "too common"),
        ("!!qwertyuiop123456!!", "too common"),
        ("aaaaaaaaaaaaaaaaaaaa", "too few characters"),
        ("newbie2024!lovely-day", "username"),
        ("my site is microblog forever", "site's name"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(client, password, reason):
    response = register(client, password)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="password-error"' in page
    assert reason in page.replace("&#39;", "'")


def test_long_passphrase_is_accepted(client, auth):
    assert len(SIXTY_FOUR) >= 64
    assert register(client, SIXTY_FOUR).headers["Location"] == "/login"
    assert auth.login("newbie", SIXTY_FOUR).headers["Location"] == "/index"


def test_passwords_are_never_trimmed(client, auth):
    padded = "  spaces around my phrase  "
    assert register(client, padded).headers["Location"] == "/login"
    assert auth.login("newbie", padded.strip()).status_code == 200
    assert auth.login("newbie", padded).headers["Location"] == "/index"


def test_password_must_be_typed_twice(client):
    data = {
        "username": "newbie",
        "email": "newbie@example.org",
        "password": PASSWORD,
        "password2": PASSWORD + "x",
    }
    response = client.post("/register", data=data)
    assert 'id="password2-error"' in response.get_data(as_text=True)
    assert "don't match" in response.get_data(as_text=True).replace("&#39;", "'")


def test_blocklist_is_large_and_case_insensitive(app):
    blocklist = common_passwords()
    assert len(blocklist) >= 10_000
    assert "password" in blocklist and "qwerty" in blocklist
    assert all(entry == entry.casefold() for entry in list(blocklist)[:500])


@pytest.mark.parametrize("path", ["/register", "/reset_password/set-password"])
def test_new_password_inputs_help_password_managers(client, app, make_user, path):
    if path != "/register":
        with app.app_context():
            from app import db
            from app.models import User

            token = db.session.get(User, make_user("mike")).get_reset_password_token()
        client.get(f"/reset_password/{token}")
    page = client.get(path).get_data(as_text=True)
    assert page.count('autocomplete="new-password"') == 2
    assert "onpaste" not in page
    assert "At least 15 characters" in page


def test_hashes_are_argon2id_at_the_configured_cost(app, make_user):
    from app import db
    from app.models import User

    with app.app_context():
        user = db.session.get(User, make_user("mike"))
        assert user.password_hash.startswith("$argon2id$")
        assert "m=1024,t=1,p=1" in user.password_hash
        assert not user.password_needs_rehash()


def test_production_cost_is_owasp_minimum():
    from config import Config

    assert Config.ARGON2_MEMORY_COST >= 19 * 1024
    assert Config.ARGON2_TIME_COST >= 2
