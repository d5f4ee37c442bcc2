"""The password rules (NIST SP 800-63B-4), shared by every password form."""

import hashlib
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import db
from app.models import User
from app.passwords import common_passwords, password_problem, personal_words
from tests.conftest import PASSWORD, AuthActions, field_error

SIXTY_FOUR = "correct horse battery staple is a fine passphrase for a long time"

# Phrases people really type, with the account they belong to: every one is fine.
ACCEPTED = [
    ("atomic bombs are scary things", "tom", "tom@example.org"),
    ("nina original pass 1", "nina", "nina@example.org"),
    ("a quiet bench in the park 1", "benchuser", "bench@example.com"),
    ("a brand new password for mei", "mei", "mei@example.org"),
    ("my grandmother planted tomatoes", "ann", "ann@example.org"),
    ("correct horse battery staple", "newbie", "newbie@example.org"),
    ("susan lamp orbit 42 forever", "susan", "susan@example.org"),
    ("我的貓咪每天早上六點都會叫我起床", "mei", "mei@example.org"),
    ("Crème brûlée at the café, 1999", "zoe", "zoe@example.org"),
]
# Guessable ones, each with (part of) the reason the person is shown.
REFUSED = [
    ("nina2024!nina2024!", "nina", "nina@example.org", "one short piece repeated"),
    ("ninanina12345678", "nina", "nina@example.org", "too common"),
    ("ninanina-2023-x!", "nina", "nina@example.org", "your username or email"),
    ("microblog-password", "tom", "tom@example.org", "the site's name and words"),
    ("nina@example.org", "nina", "nina@example.org", "your username or email"),
    ("NINA@EXAMPLE.ORG 2024", "nina", "nina@example.org", "your username or email"),
    ("ｎｉｎａ@example.org!!", "nina", "nina@example.org", "your username or email"),
    ("password1234567", "tom", "tom@example.org", "too common"),
    ("P@ssw0rd-1984-!!", "tom", "tom@example.org", "too common"),
    ("aaaaaaaaaaaaaaaa", "tom", "tom@example.org", "one short piece repeated"),
    ("letmeinletmeinletmein", "tom", "tom@example.org", "one short piece repeated"),
    ("iloveyouiloveyou", "tom", "tom@example.org", "one short piece repeated"),
    ("qwertyuiopasdfgh", "tom", "tom@example.org", "keyboard and alphabet runs"),
    ("abcdefghijklmnop", "tom", "tom@example.org", "keyboard and alphabet runs"),
    ("1234567890123456", "tom", "tom@example.org", "keyboard and alphabet runs"),
    ("dragon dragon dragon", "tom", "tom@example.org", "repeats"),
    ("fourteen chars", "tom", "tom@example.org", "at least 15 characters"),
    ("x" * 129, "tom", "tom@example.org", "at most 128 characters"),
]


def register(client, password, username="newbie", email=None):
    """POST the registration form with password twice."""
    data = {
        "username": username,
        "email": email or f"{username}@example.org",
        "password": password,
        "password2": password,
    }
    return client.post("/register", data=data)


def reset(client, app, make_user, password, username, email):
    """Follow a reset link for a new account, then choose password."""
    user_id = make_user(username, email=email)
    with app.app_context():
        token = db.session.get(User, user_id).get_reset_password_token()
    client.get(f"/reset_password/{token}")
    data = {"password": password, "password2": password}
    return client.post("/reset_password/set-password", data=data)


def change(client, app, make_user, password, username, email):
    """Sign a new account in, then change its password to password."""
    make_user(username, email=email)
    AuthActions(client).login(username)
    data = {"current_password": PASSWORD, "password": password, "password2": password}
    return client.post("/change_password", data=data)


FORMS = {
    "register": lambda client, app, make_user, *args: register(client, *args),
    "reset": reset,
    "change": change,
}


@pytest.mark.parametrize(("password", "username", "email"), ACCEPTED)
def test_passphrases_are_accepted(app, password, username, email):
    with app.app_context():
        assert password_problem(password, personal_words(username, email)) is None


@pytest.mark.parametrize(("password", "username", "email", "reason"), REFUSED)
def test_guessable_passwords_are_refused_with_a_reason(
    app, password, username, email, reason
):
    with app.app_context():
        problem = password_problem(password, personal_words(username, email))
    assert problem is not None and reason in problem


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("password", "username", "email"), ACCEPTED)
def test_every_form_accepts_passphrases(
    app, client, make_user, form, password, username, email
):
    response = FORMS[form](client, app, make_user, password, username, email)
    assert response.status_code == 302, field_error(response, "password")
    fresh = AuthActions(app.test_client())
    assert fresh.login(username, password).headers["Location"] == "/index"


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("password", "username", "email", "reason"), REFUSED[::3])
def test_every_form_refuses_with_the_reason_by_the_field(
    app, client, make_user, form, password, username, email, reason
):
    response = FORMS[form](client, app, make_user, password, username, email)
    assert response.status_code == 200
    assert reason in field_error(response, "password")
    if form != "register":
        fresh = AuthActions(app.test_client())
        assert fresh.login(username, PASSWORD).headers["Location"] == "/index"


def test_a_long_phrase_is_never_refused_for_containing_a_word(app):
    phrase = "tom said the password to microblog was qwerty in 2024 but it changed"
    with app.app_context():
        assert (
            password_problem(phrase, personal_words("tom", "tom@example.org")) is None
        )


def test_the_maximum_counts_code_points(app):
    # Decomposed accents: 128 code points, fewer characters on screen.
    phrase = (
        "Cre\u0300me bru\u0302le\u0301e at the cafe\u0301 by the harbour, while seven "
        "blue kites drift over old mills and herons wait for dusk, so quietly!!!"
    )
    assert len(phrase) == 128
    with app.app_context():
        assert password_problem(phrase) is None
        assert "at most 128" in password_problem(phrase + "!")


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
            token = db.session.get(User, make_user("mike")).get_reset_password_token()
        client.get(f"/reset_password/{token}")
    page = client.get(path).get_data(as_text=True)
    assert page.count('autocomplete="new-password"') == 2
    assert "onpaste" not in page
    assert "At least 15 characters" in page
    assert "one piece repeated" in page and "keyboard runs" in page


def test_hashes_are_argon2id_at_the_configured_cost(app, make_user):
    with app.app_context():
        user = db.session.get(User, make_user("mike"))
        assert user.password_hash.startswith("$argon2id$")
        assert "m=1024,t=1,p=1" in user.password_hash
        assert not user.password_needs_rehash()


def test_production_cost_is_owasp_minimum():
    from config import Config

    assert Config.ARGON2_MEMORY_COST >= 19 * 1024
    assert Config.ARGON2_TIME_COST >= 2


class RangeAPI(BaseHTTPRequestHandler):
    """A local stand-in for Pwned Passwords' range API: GET /range/<5 hex>."""

    breached: dict[str, int] = {}
    delay = 0.0
    requests: list[tuple[str, str | None]] = []

    def do_GET(self):
        """Answer with padded "SUFFIX:COUNT" lines for the asked prefix."""
        time.sleep(self.delay)
        prefix = self.path.rsplit("/", 1)[-1].upper()
        self.requests.append((self.path, self.headers.get("Add-Padding")))
        lines = [f"{'0' * 34}{n:01X}:0" for n in range(3)]  # padding
        lines += [
            f"{digest[5:]}:{count}"
            for digest, count in self.breached.items()
            if digest.startswith(prefix)
        ]
        body = "\r\n".join(lines).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Keep the test output quiet."""


def sha1(password: str) -> str:
    """The uppercase hex SHA-1 of password's UTF-8 bytes."""
    return hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324


@pytest.fixture
def range_api():
    """A running local range API; set .breached, .delay and read .requests."""
    handler = type("Handler", (RangeAPI,), {"breached": {}, "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_port}/range/"
    yield handler
    server.shutdown()
    server.server_close()


BREACHED_PHRASE = "correct horse battery staple"


def test_breach_check_is_off_by_default(app, range_api):
    range_api.breached = {sha1(BREACHED_PHRASE): 3}
    with app.app_context():
        assert password_problem(BREACHED_PHRASE) is None
    assert range_api.requests == []


def test_breached_password_is_refused_and_only_a_prefix_leaves(make_app, range_api):
    range_api.breached = {sha1(BREACHED_PHRASE): 3}
    app = make_app(PASSWORD_BREACH_CHECK=True, PASSWORD_BREACH_API=range_api.url)
    response = register(app.test_client(), BREACHED_PHRASE)
    assert "appeared in a data breach" in field_error(response, "password")
    assert range_api.requests == [(f"/range/{sha1(BREACHED_PHRASE)[:5]}", "true")]
    response = register(app.test_client(), "seven blue kites over harbour")
    assert response.headers["Location"] == "/login"
    assert len(range_api.requests) == 2


def test_zero_count_lines_are_padding_not_breaches(make_app, range_api):
    range_api.breached = {sha1(BREACHED_PHRASE): 0}
    app = make_app(PASSWORD_BREACH_CHECK=True, PASSWORD_BREACH_API=range_api.url)
    with app.app_context():
        assert password_problem(BREACHED_PHRASE) is None
    assert len(range_api.requests) == 1


def test_breach_check_fails_open_with_a_log_line(make_app, range_api, caplog):
    range_api.breached = {sha1(BREACHED_PHRASE): 3}
    range_api.delay = 1.0
    app = make_app(
        PASSWORD_BREACH_CHECK=True,
        PASSWORD_BREACH_API=range_api.url,
        PASSWORD_BREACH_TIMEOUT=0.2,
    )
    started = time.monotonic()
    with app.app_context(), caplog.at_level(logging.WARNING):
        assert password_problem(BREACHED_PHRASE) is None
    assert time.monotonic() - started < 0.9
    assert "password breach check unavailable" in caplog.text
    assert BREACHED_PHRASE not in caplog.text


def test_breach_check_fails_open_when_nothing_listens(make_app, caplog):
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/range/"
    app = make_app(PASSWORD_BREACH_CHECK=True, PASSWORD_BREACH_API=url)
    response = register(app.test_client(), BREACHED_PHRASE)
    assert response.status_code == 302
    assert "password breach check unavailable" in caplog.text
