"""The second factor through HTTP: turning it on, signing in with it, and every
way around it that must stay closed (replays, guessing, resets, old cookies)."""

import html
import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app import db
from app.encryption import decrypt
from app.models import PendingSignIn, RecoveryCode, User, two_factor, utcnow
from tests.conftest import PASSWORD, field_error

# A fixed instant at the start of a 30 s step: codes are computed, never waited for.
T0 = 30 * 63_333_334
KEY_ON_PAGE = re.compile(r'id="totp-key">([^<]+)<')
CODES_ON_PAGE = re.compile(r"<li><code>([^<]+)</code></li>")


@pytest.fixture
def clock(monkeypatch):
    """The time the app checks codes against, set by the test."""

    class Clock:
        at = T0

    monkeypatch.setattr(two_factor, "now", lambda: Clock.at)
    return Clock


@pytest.fixture
def confirmed(make_user):
    """susan, whose address is proven."""
    return make_user("susan", email_confirmed_at=utcnow())


def code_at(key: str, at: float) -> str:
    """What an authenticator app with key shows at time at."""
    return pyotp.TOTP(key).at(at)


def sign_in(client, username="susan", password=PASSWORD, next_url=None, **form):
    """POST the sign-in form."""
    query = {"next": next_url} if next_url else {}
    data = {"username": username, "password": password, **form}
    return client.post("/login", data=data, query_string=query)


def page_text(response) -> str:
    """The page, with entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def setup_key(client) -> str:
    """Start setup and read the key from the page, as a person types it."""
    response = client.get("/two_factor/setup")
    assert response.status_code == 200
    return KEY_ON_PAGE.search(response.get_data(as_text=True)).group(1)


def turn_on(client, clock) -> tuple[str, list[str]]:
    """Turn the second factor on for the signed-in user; the key and the codes."""
    key = setup_key(client).replace(" ", "")
    response = client.post("/two_factor/setup", data={"code": code_at(key, clock.at)})
    assert response.location == "/two_factor/recovery_codes"
    page = client.get("/two_factor/recovery_codes").get_data(as_text=True)
    clock.at += 30  # the code typed at setup is used up
    return key, CODES_ON_PAGE.findall(page)


@pytest.fixture
def enrolled(app, client, confirmed, clock):
    """susan with the second factor on, signed out; (key, recovery codes)."""
    sign_in(client)
    key, codes = turn_on(client, clock)
    client.post("/logout")
    return key, codes


def signed_in_as(client) -> str | None:
    """The username the top bar shows for this browser, or None."""
    response = client.get("/settings")
    if response.status_code != 200:
        return None
    match = re.search(r'href="/user/([^"]+)"', response.get_data(as_text=True))
    return match.group(1) if match else None


def stored_user(app, username="susan") -> User:
    """The account as the database holds it now."""
    with app.app_context():
        user = User.by_username(username)
        db.session.expunge(user)
        return user


def outbox_subjects(outbox) -> list[str]:
    """The subjects of the mail sent so far."""
    return [message.subject for message in outbox]


# --- Turning it on -------------------------------------------------------------


def test_setup_shows_the_key_as_qr_code_text_and_link(client, confirmed, clock):
    """The page has an inline SVG, the key in fours, and the otpauth:// link."""
    sign_in(client)
    response = client.get("/two_factor/setup")
    page = page_text(response)
    grouped = KEY_ON_PAGE.search(response.get_data(as_text=True)).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", grouped)
    key = grouped.replace(" ", "")
    assert "<svg" in page and "<img" not in page.split("<main", 1)[1]
    assert f'href="otpauth://totp/Microblog:susan?secret={key}&issuer=Microblog"' in (
        page
    )
    assert setup_key(client) != grouped  # a fresh key each time setup starts


def test_a_wrong_first_code_keeps_the_key_and_says_why(app, client, confirmed, clock):
    """A wrong code is named under the field; the same key is shown again."""
    sign_in(client)
    key = setup_key(client)
    wrong = code_at(key.replace(" ", ""), clock.at + 300)
    response = client.post("/two_factor/setup", data={"code": wrong})
    assert response.status_code == 200
    assert "not right" in field_error(response, "code")
    assert KEY_ON_PAGE.search(response.get_data(as_text=True)).group(1) == key
    assert not stored_user(app).two_factor_enabled


@pytest.mark.parametrize(
    "typed", ["abcdef", "12345", "1234567", "12 34 5", "9" * 10_000, "  "]
)
def test_bad_setup_codes_leave_the_account_as_it_was(app, client, confirmed, typed):
    """Letters, too few or many digits, 10 KB: a message, no 500, nothing stored."""
    sign_in(client)
    setup_key(client)
    response = client.post("/two_factor/setup", data={"code": typed})
    assert response.status_code == 200
    assert field_error(response, "code")
    user = stored_user(app)
    assert user.totp_key is None and user.totp_last_step is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 0


def test_setup_is_refused_until_the_address_is_proven(app, client, make_user):
    """Else whoever signed up with someone's address could lock its owner out."""
    make_user("susan")
    sign_in(client)
    response = client.get("/two_factor/setup", follow_redirects=True)
    assert "Confirm your email address first" in page_text(response)
    assert 'href="/two_factor/setup"' not in page_text(client.get("/settings"))
    assert client.post("/two_factor/setup", data={"code": "123456"}).status_code == 302
    assert stored_user(app).totp_key is None


def test_turning_it_on_shows_ten_codes_once_and_tells_the_owner(
    app, client, confirmed, clock, outbox
):
    """Ten readable codes, shown once, stored only as digests; a notice mail."""
    sign_in(client)
    key, codes = turn_on(client, clock)
    assert len(set(codes)) == 10
    for code in codes:
        assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", code)
        assert not set(code) & set("0o1li")
    page = page_text(client.get("/two_factor/recovery_codes"))
    assert not CODES_ON_PAGE.search(page) and "10 recovery codes are left" in page
    user = stored_user(app)
    assert user.two_factor_enabled and key not in user.totp_key
    with app.app_context():
        assert decrypt(user.totp_key, two_factor.KEY_PURPOSE) == (key, False)
        digests = db.session.scalars(sa.select(RecoveryCode.digest)).all()
    assert len(digests) == 10 and not any(code in "".join(digests) for code in codes)
    notice = outbox[-1]
    assert notice.subject == "[Microblog] Two-factor sign-in was turned on"
    assert "127.0.0.1" in notice.body and "https://app.example.com/settings" in (
        notice.body
    )


def test_the_codes_page_offers_a_download_and_prints_plainly(client, confirmed, clock):
    """A text file with every code, and a print look without the top bar."""
    sign_in(client)
    key = setup_key(client).replace(" ", "")
    client.post("/two_factor/setup", data={"code": code_at(key, clock.at)})
    page = page_text(client.get("/two_factor/recovery_codes"))
    link = re.search(r'href="(data:text/plain[^"]+)" download="([^"]+)"', page)
    assert link.group(2).endswith(".txt")
    from urllib.parse import unquote

    text = unquote(link.group(1).split(",", 1)[1])
    assert CODES_ON_PAGE.findall(page) == text.split("\r\n")[2:12]
    assert "@media print" in client.get("/static/style.css").get_data(as_text=True)


# --- Recent sign-in -----------------------------------------------------------


def age_sign_in(client, seconds: int) -> None:
    """Make this browser's last sign-in seconds older."""
    with client.session_transaction() as session:
        session["_signed_in_at"] -= seconds


def test_setup_needs_a_recent_sign_in(app, client, confirmed, clock):
    """Past REAUTHENTICATE_AFTER: the password again, then straight back."""
    sign_in(client)
    age_sign_in(client, app.config["REAUTHENTICATE_AFTER"] + 1)
    response = client.get("/two_factor/setup")
    assert response.location == "/reauthenticate?next=/two_factor/setup"
    wrong = client.post(response.location, data={"password": "not it at all"})
    assert field_error(wrong, "password") == "That is not your password."
    back = client.post(response.location, data={"password": PASSWORD})
    assert back.location == "/two_factor/setup"
    assert client.get("/two_factor/setup").status_code == 200


def test_a_remembered_browser_has_not_signed_in_recently(app, client, confirmed):
    """Coming back through the remember-me cookie is not a fresh sign-in."""
    sign_in(client, remember_me="y")
    remembered = app.test_client()
    cookie = client.get_cookie("remember_token", domain="app.example.com")
    remembered.set_cookie("remember_token", cookie.value, domain=cookie.domain)
    assert signed_in_as(remembered) == "susan"
    response = remembered.get("/two_factor/setup")
    assert response.location.startswith("/reauthenticate")


def test_a_late_setup_post_comes_back_to_the_same_key(app, client, confirmed, clock):
    """A code posted after the window: sign in again, and the key still stands."""
    sign_in(client)
    key = setup_key(client)
    age_sign_in(client, app.config["REAUTHENTICATE_AFTER"] + 1)
    plain = key.replace(" ", "")
    late = client.post("/two_factor/setup", data={"code": code_at(plain, clock.at)})
    assert late.location == "/reauthenticate?next=/two_factor/setup"
    client.post(late.location, data={"password": PASSWORD})
    assert setup_key(client) == key
    clock.at += 30
    done = client.post("/two_factor/setup", data={"code": code_at(plain, clock.at)})
    assert done.location == "/two_factor/recovery_codes"


def test_forms_that_ask_for_the_password_count_as_a_recent_sign_in(
    app, client, confirmed
):
    """Changing the address checks the password itself: no detour."""
    sign_in(client)
    age_sign_in(client, app.config["REAUTHENTICATE_AFTER"] + 1)
    response = client.post(
        "/change_email", data={"email": "new@example.org", "password": PASSWORD}
    )
    assert response.location == "/settings"
    assert client.get("/two_factor/setup").status_code == 200


# --- Signing in ---------------------------------------------------------------


def test_a_right_password_only_starts_the_sign_in(client, enrolled, clock):
    """The code step keeps next and remember me from the password step."""
    key, _ = enrolled
    first = sign_in(client, next_url="/explore", remember_me="y")
    assert first.location == "/login/two_factor"
    assert signed_in_as(client) is None
    response = client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert response.location == "/explore"
    assert client.get_cookie("remember_token", domain="app.example.com") is not None
    assert signed_in_as(client) == "susan"


def test_unknown_names_and_wrong_passwords_look_as_before(client, enrolled, make_user):
    """The second step reveals nothing to someone without the password."""
    make_user("john")
    client.get("/login")  # shows the "signed out" message left by enrolled
    pages = set()
    for name in ("susan", "john", "nobody"):
        response = sign_in(client, name, "a wrong password here")
        assert response.status_code == 200
        assert "Invalid username or password." in page_text(response)
        page = response.get_data(as_text=True).replace(f'value="{name}"', "")
        pages.add(re.sub(r'name="csrf_token" value="[^"]*"', "", page))
    assert len(pages) == 1


def test_codes_are_accepted_once(client, enrolled, clock):
    """The same code again, even in its own 30 seconds, is refused (NIST)."""
    key, _ = enrolled
    code = code_at(key, clock.at)
    sign_in(client)
    client.post("/login/two_factor", data={"code": code})
    client.post("/logout")
    sign_in(client)
    again = client.post("/login/two_factor", data={"code": code})
    assert "used already" in field_error(again, "code")
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    ("drift", "accepted"), [(-30, True), (30, True), (-60, False), (60, False)]
)
def test_one_step_of_clock_drift_either_way(client, enrolled, clock, drift, accepted):
    """A phone a step fast or slow works; two steps off does not."""
    key, _ = enrolled
    clock.at += 120  # past the steps used at setup
    sign_in(client)
    code = code_at(key, clock.at + drift)
    response = client.post("/login/two_factor", data={"code": code})
    assert (response.status_code == 302) is accepted
    if not accepted:
        assert "UTC here" in field_error(response, "code")


def test_spaces_in_a_code_are_fine(client, enrolled, clock):
    """'123 456' is the code 123456."""
    key, _ = enrolled
    sign_in(client)
    code = code_at(key, clock.at)
    response = client.post(
        "/login/two_factor", data={"code": f" {code[:3]} {code[3:]}"}
    )
    assert response.status_code == 302


def test_five_wrong_codes_end_the_half_done_sign_in(app, client, enrolled, clock):
    """Then the password again; a right code no longer helps this one."""
    key, _ = enrolled
    sign_in(client)
    for _ in range(4):
        response = client.post("/login/two_factor", data={"code": "000000"})
        assert "not right" in field_error(response, "code")
    fifth = client.post("/login/two_factor", data={"code": "000000"})
    assert fifth.location == "/login"
    assert "Too many wrong codes" in page_text(client.get("/login"))
    late = client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert late.location == "/login" and signed_in_as(client) is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PendingSignIn.id))) == 0


def test_a_half_done_sign_in_lasts_five_minutes(app, client, enrolled, clock):
    """After TWO_FACTOR_SIGN_IN_SECONDS the password is asked again."""
    key, _ = enrolled
    sign_in(client)
    with app.app_context():
        db.session.execute(
            sa.update(PendingSignIn).values(
                started_at=utcnow() - timedelta(seconds=301)
            )
        )
        db.session.commit()
    response = client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert response.location == "/login"
    assert "took too long" in page_text(client.get("/login"))
    assert signed_in_as(client) is None


def test_half_done_sign_ins_nobody_finished_are_removed(app, client, enrolled):
    """A new one clears out the expired ones."""
    for _ in range(3):
        sign_in(app.test_client())
    with app.app_context():
        db.session.execute(
            sa.update(PendingSignIn).values(
                started_at=utcnow() - timedelta(seconds=301)
            )
        )
        db.session.commit()
    sign_in(client)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PendingSignIn.id))) == 1


def test_the_code_step_belongs_to_the_browser_that_gave_the_password(
    app, client, enrolled, clock
):
    """Another browser, or a POST with no first step, is sent to sign in."""
    key, _ = enrolled
    stranger = app.test_client()
    response = stranger.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert response.location == "/login"
    sign_in(client)
    response = stranger.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert response.location == "/login" and signed_in_as(stranger) is None
    mine = client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert mine.location == "/index"


def test_wrong_codes_are_limited_per_account_and_the_owner_is_told_once(
    app, client, enrolled, clock, outbox
):
    """Ten wrong codes an hour across every sign-in; then even a right one waits."""
    key, _ = enrolled
    wrong = 0
    while wrong < 12:
        sign_in(client)
        for _ in range(3):
            client.post("/login/two_factor", data={"code": "000000"})
            wrong += 1
    sign_in(client)
    response = client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert "Wait an hour" in field_error(response, "code")
    warnings = [
        m for m in outbox if m.subject == "[Microblog] Someone has your password"
    ]
    assert len(warnings) == 1
    assert "https://app.example.com/reset_password_request" in warnings[0].body
    with app.app_context():
        db.session.execute(
            sa.update(User).values(code_failures_since=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
    response = client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert response.location == "/index"


def test_a_recovery_code_signs_in_once_and_tells_the_owner(
    client, enrolled, clock, outbox
):
    """Typed in capitals with spaces it still works; it is gone afterwards."""
    _, codes = enrolled
    sign_in(client)
    typed = codes[0].upper().replace("-", " ")
    response = client.post("/login/two_factor", data={"code": typed})
    assert response.location == "/index"
    assert "9 recovery codes are left" in page_text(client.get("/index"))
    notice = outbox[-1]
    assert notice.subject == "[Microblog] A recovery code was used"
    assert "9 recovery codes left" in notice.body
    client.post("/logout")
    sign_in(client)
    again = client.post("/login/two_factor", data={"code": codes[0]})
    assert "not right" in field_error(again, "code")


def test_running_low_on_recovery_codes_warns(client, enrolled):
    """At three left, the sign-in and the settings say to make new ones."""
    _, codes = enrolled
    for code in codes[:7]:
        sign_in(client)
        client.post("/login/two_factor", data={"code": code})
        page = page_text(client.get("/index"))
        client.post("/logout")
    assert "3 recovery codes are left" in page and "Make new ones" in page
    sign_in(client)
    client.post("/login/two_factor", data={"code": codes[7]})
    assert "running out of recovery codes" in page_text(client.get("/settings"))


def test_new_recovery_codes_void_the_old_ones(client, enrolled, clock):
    """Making new codes (after a recent sign-in) kills every old one."""
    key, old = enrolled
    sign_in(client)
    client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert client.post("/two_factor/recovery_codes").location == (
        "/two_factor/recovery_codes"
    )
    new = CODES_ON_PAGE.findall(client.get("/two_factor/recovery_codes").get_data(True))
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/logout")
    sign_in(client)
    refused = client.post("/login/two_factor", data={"code": old[1]})
    assert field_error(refused, "code")
    assert client.post("/login/two_factor", data={"code": new[1]}).status_code == 302


def test_new_codes_after_a_while_need_a_code_again(app, client, enrolled, clock):
    """With the second factor on, /reauthenticate asks for a code."""
    key, _ = enrolled
    sign_in(client)
    client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    age_sign_in(client, app.config["REAUTHENTICATE_AFTER"] + 1)
    response = client.post("/two_factor/recovery_codes")
    assert response.location == "/reauthenticate?next=/two_factor/recovery_codes"
    page = client.get(response.location)
    assert 'name="code"' in page.get_data(as_text=True)
    clock.at += 30
    back = client.post(response.location, data={"code": code_at(key, clock.at)})
    assert back.location == "/two_factor/recovery_codes"


# --- A reset never gets around it ---------------------------------------------


def test_a_password_reset_leaves_the_second_factor_on(
    app, client, enrolled, clock, outbox
):
    """The reset changes the password; the next sign-in still asks for a code."""
    key, _ = enrolled
    before = stored_user(app).totp_key
    client.post("/reset_password_request", data={"email": "susan@example.org"})
    link = re.search(r"https://app\.example\.com(/reset_password/\S+)", outbox[-1].body)
    client.get(link.group(1))
    new_password = "a brand new passphrase 2026"
    done = client.post(
        "/reset_password/set-password",
        data={"password": new_password, "password2": new_password},
    )
    assert done.location == "/login" and signed_in_as(client) is None
    assert "Two-factor sign-in is still on" in outbox[-1].body
    assert sign_in(client, password=new_password).location == "/login/two_factor"
    assert signed_in_as(client) is None
    client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert signed_in_as(client) == "susan"
    assert stored_user(app).totp_key == before


# --- Turning it off -----------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(
    app, client, enrolled, clock, outbox
):
    """Both, now; the owner is told; then the password alone signs in."""
    key, _ = enrolled
    sign_in(client)
    client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    clock.at += 30
    right = code_at(key, clock.at)
    no_password = client.post(
        "/two_factor/disable", data={"password": "wrong wrong wrong", "code": right}
    )
    assert field_error(no_password, "password")
    no_code = client.post(
        "/two_factor/disable", data={"password": PASSWORD, "code": "000000"}
    )
    assert "not right" in field_error(no_code, "code")
    assert stored_user(app).two_factor_enabled
    done = client.post(
        "/two_factor/disable", data={"password": PASSWORD, "code": right}
    )
    assert done.location == "/settings"
    assert outbox[-1].subject == "[Microblog] Two-factor sign-in was turned off"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 0
    client.post("/logout")
    assert sign_in(client).location == "/index"


def test_an_operator_turns_it_off_after_asking(app, enrolled, outbox, caplog):
    """`flask user two-factor-off` confirms, mails the owner and logs it."""
    runner = app.test_cli_runner()
    declined = runner.invoke(args=["user", "two-factor-off", "susan"], input="n\n")
    assert declined.exit_code == 1 and stored_user(app).two_factor_enabled
    with caplog.at_level("WARNING", logger="app.audit"):
        done = runner.invoke(args=["user", "two-factor-off", "SUSAN"], input="y\n")
    assert done.exit_code == 0, done.output
    assert not stored_user(app).two_factor_enabled
    assert "administrators turned two-factor sign-in off" in outbox[-1].body
    assert "two_factor_disabled_by_operator" in caplog.text
    again = runner.invoke(args=["user", "two-factor-off", "susan", "--yes"])
    assert again.exit_code == 1 and "no second factor" in again.output
    nobody = runner.invoke(args=["user", "two-factor-off", "nobody", "--yes"])
    assert nobody.exit_code == 1 and "No account" in nobody.output


# --- The key at rest ----------------------------------------------------------


def test_a_rotated_secret_key_keeps_codes_working(app, client, enrolled, clock):
    """The old secret in SECRET_KEY_FALLBACKS opens the key; it is re-encrypted."""
    key, _ = enrolled
    old_secret = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-brand-new-secret-key-for-this-site-0987654321"
    app.config["SECRET_KEY_FALLBACKS"] = [old_secret]
    browser = app.test_client()
    sign_in(browser)
    done = browser.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert done.location == "/index"
    app.config["SECRET_KEY_FALLBACKS"] = []
    with app.app_context():
        stored = stored_user(app).totp_key
        assert decrypt(stored, two_factor.KEY_PURPOSE) == (key, False)


def test_a_secret_key_changed_without_fallbacks_is_a_clear_error(
    app, client, enrolled, clock, caplog
):
    """Codes can't be checked: a message, the operator's log line, no 500."""
    key, codes = enrolled
    app.config["SECRET_KEY"] = "a-brand-new-secret-key-for-this-site-0987654321"
    browser = app.test_client()
    sign_in(browser)
    response = browser.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert response.status_code == 200
    assert "can't be checked" in field_error(response, "code")
    assert "SECRET_KEY_FALLBACKS" in caplog.text
    rescued = browser.post("/login/two_factor", data={"code": codes[0]})
    assert rescued.location == "/index"


def test_a_code_racing_itself_is_accepted_once(app, enrolled, clock):
    """Two requests with one code: the step's conditional UPDATE lets one in."""
    key, _ = enrolled
    code = code_at(key, clock.at)
    with app.app_context():
        user = User.by_username("susan")
        seen = user.totp_last_step
        assert user.check_totp(code)  # the other request, first
        db.session.commit()
        set_committed_value(user, "totp_last_step", seen)  # this one read it before
        assert not user.check_totp(code)


@pytest.mark.parametrize(
    "typed", ["abcdef", "12345", "1234567", "12-34-56-78", "x" * 10_000, "\u0660" * 6]
)
def test_bad_codes_at_sign_in_get_a_message_not_a_500(client, enrolled, typed):
    """Letters, wrong lengths, 10 KB, Arabic-Indic digits: a message under the field."""
    sign_in(client)
    response = client.post("/login/two_factor", data={"code": typed})
    assert response.status_code == 200
    assert field_error(response, "code")
    assert signed_in_as(client) is None


def test_a_second_tab_after_the_first_finished(client, enrolled, clock):
    """The first tab signed in: the second one's code is not needed, nor used."""
    key, _ = enrolled
    sign_in(client)
    page = client.get("/login/two_factor")  # both tabs show the code step
    assert page.status_code == 200
    client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    clock.at += 30
    late = client.post("/login/two_factor", data={"code": code_at(key, clock.at)})
    assert late.location == "/index" and signed_in_as(client) == "susan"


def test_the_code_step_and_its_mail_in_traditional_chinese(app, enrolled, outbox):
    """A zh-TW browser reads the step in Chinese; the owner's notice follows."""
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-TW,zh;q=0.9"
    sign_in(browser)
    page = page_text(browser.get("/login/two_factor"))
    assert 'lang="zh-Hant-TW"' in page or 'lang="zh-TW"' in page
    assert "兩步驟驗證" in page
    for _ in range(app.config["TWO_FACTOR_FAILURES_PER_HOUR"]):
        if (
            browser.post("/login/two_factor", data={"code": "000000"}).status_code
            == 302
        ):
            sign_in(browser)
    assert "密碼" in outbox[-1].subject and "000000" not in outbox[-1].body
