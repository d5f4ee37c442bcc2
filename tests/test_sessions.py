"""Where you're signed in, taking your data, and leaving for good, through HTTP."""

import json
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import db
from app.models import Passkey, Post, RecoveryCode, User, UserSession, utcnow
from app.models.posts import followers
from tests.conftest import PASSWORD, field_error

FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def browser(app, agent=FIREFOX, language="en"):
    """A test client that sends a User-Agent and a language, as browsers do."""
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=agent, HTTP_ACCEPT_LANGUAGE=language)
    return client


def sign_in(client, username="susan", password=PASSWORD, **form):
    """POST the sign-in form."""
    data = {"username": username, "password": password, **form}
    return client.post("/login", data=data)


def signed_in(client) -> bool:
    """Whether this browser is signed in."""
    return client.get("/settings").status_code == 200


def records(app, username="susan") -> list[UserSession]:
    """The account's session records, oldest first."""
    with app.app_context():
        user = User.by_username(username)
        rows = db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id)
            .order_by(UserSession.id)
        ).all()
        db.session.expunge_all()
        return rows


@pytest.fixture
def susan(app, make_user):
    """susan's id; her address is proven."""
    return make_user("susan", email_confirmed_at=utcnow())


def test_every_sign_in_is_a_record_with_device_words(app, susan):
    """Browser and system from the User-Agent, the address, how it signed in."""
    client = browser(app)
    sign_in(client)
    (record,) = records(app)
    assert (record.browser, record.system, record.method) == (
        "Firefox",
        "Windows",
        "password",
    )
    assert record.ip == "127.0.0.1" and record.ended_at is None
    page = client.get("/sessions").get_data(as_text=True)
    assert "Firefox on Windows" in page and "this device" in page


def test_the_list_is_newest_first_in_the_readers_language(app, susan):
    """Two devices; the page in Traditional Chinese too."""
    sign_in(browser(app, SAFARI))
    client = browser(app, FIREFOX, "zh-TW")
    sign_in(client)
    page = client.get("/sessions").get_data(as_text=True)
    assert page.index("Firefox") < page.index("Mobile Safari")
    assert "這個裝置" in page or "此裝置" in page


def test_signing_out_another_session_is_immediate_remember_me_included(app, susan):
    """The other browser's next request is anonymous, even with its cookie."""
    phone = browser(app, SAFARI)
    sign_in(phone, remember_me="y")
    laptop = browser(app)
    sign_in(laptop)
    phone_record = records(app)[0]
    response = laptop.post(f"/sessions/{phone_record.id}/sign_out")
    assert response.location == "/sessions"
    assert not signed_in(phone)
    cookie = phone.get_cookie("remember_token", domain="app.example.com")
    revived = browser(app, SAFARI)
    revived.set_cookie("remember_token", cookie.value, domain="app.example.com")
    assert not signed_in(revived)
    assert signed_in(laptop)
    assert "signed out" in laptop.get("/sessions").get_data(as_text=True)


def test_sign_out_every_other_session(app, susan):
    """All but this browser's end."""
    others = [browser(app, SAFARI) for _ in range(3)]
    for other in others:
        sign_in(other)
    me = browser(app)
    sign_in(me)
    me.post("/sessions/sign_out_others")
    assert not any(signed_in(other) for other in others)
    assert signed_in(me)
    assert [r.ended_at is None for r in records(app)] == [False] * 3 + [True]


def test_signing_out_ends_the_record(app, susan):
    """The navbar's sign-out ends this browser's session record."""
    client = browser(app)
    sign_in(client)
    client.post("/logout")
    assert records(app)[0].ended_at is not None


def test_a_password_change_ends_the_others_and_the_list_shows_it(app, susan):
    """The changing browser gets a new session; the rest are ended."""
    phone = browser(app, SAFARI)
    sign_in(phone)
    me = browser(app)
    sign_in(me)
    new = "a brand new passphrase 2026"
    me.post(
        "/change_password",
        data={"current_password": PASSWORD, "password": new, "password2": new},
    )
    assert not signed_in(phone) and signed_in(me)
    rows = records(app)
    assert [r.ended_at is None for r in rows] == [False, False, True]


@pytest.mark.parametrize(
    "path", ["/sessions/999999/sign_out", "/sessions/abc/sign_out"]
)
def test_unknown_or_malformed_session_ids_are_a_404(app, susan, path):
    """Another account's session, a missing one or a non-number."""
    client = browser(app)
    sign_in(client)
    assert client.post(path).status_code == 404


def test_another_accounts_session_is_a_404(app, susan, make_user):
    """john cannot end susan's session."""
    make_user("john")
    sign_in(browser(app))
    john = browser(app)
    sign_in(john, "john")
    assert john.post(f"/sessions/{records(app)[0].id}/sign_out").status_code == 404
    assert records(app)[0].ended_at is None


def test_a_new_device_mails_the_owner_once(app, susan, outbox):
    """Never on the first sign-in; once per new device; not for a known one."""
    sign_in(browser(app))
    assert outbox == []
    sign_in(browser(app))  # the same device again
    assert outbox == []
    sign_in(browser(app, SAFARI))
    (notice,) = outbox
    assert notice.subject == "[Microblog] A sign-in from a new device"
    assert "Mobile Safari on iOS" in notice.body
    assert "https://app.example.com/sessions" in notice.body
    assert "https://app.example.com/reset_password_request" in notice.body
    sign_in(browser(app, SAFARI))
    assert len(outbox) == 1


def test_last_seen_moves_at_most_once_a_minute(app, susan):
    """No write per request."""
    client = browser(app)
    sign_in(client)
    first = records(app)[0].last_seen_at
    client.get("/index")
    assert records(app)[0].last_seen_at == first
    with app.app_context():
        db.session.execute(
            sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=2))
        )
        db.session.commit()
    client.get("/index")
    assert records(app)[0].last_seen_at > first


def test_idle_sessions_expire_and_old_records_are_pruned(app, susan):
    """Unseen for 30 days: signed out; ended long ago: forgotten at the next sign-in."""
    client = browser(app)
    sign_in(client)
    with app.app_context():
        db.session.execute(
            sa.update(UserSession).values(
                last_seen_at=utcnow() - timedelta(days=31),
                started_at=utcnow() - timedelta(days=90),
            )
        )
        db.session.commit()
    assert not signed_in(client)
    with app.app_context():
        db.session.execute(
            sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(days=61))
        )
        db.session.commit()
    sign_in(browser(app))
    assert len(records(app)) == 1


def test_the_sessions_page_is_one_query_however_many(app, susan):
    """50 sessions cost the page no more statements than one."""
    client = browser(app)
    sign_in(client)
    counts = []
    for extra in (0, 49):
        for _ in range(extra):
            sign_in(browser(app, SAFARI))
        statements = []

        def count(conn, cursor, statement, *args, seen=statements):
            seen.append(statement)

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                assert client.get("/sessions").status_code == 200
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert len(records(app)) == 50


def test_operators_list_sessions_and_sign_out_everywhere(app, susan):
    """`flask user sessions` and `flask user sign-out-everywhere`."""
    client = browser(app)
    sign_in(client)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["user", "sessions", "susan"])
    assert listed.exit_code == 0 and "Firefox on Windows" in listed.output
    done = runner.invoke(args=["user", "sign-out-everywhere", "susan"])
    assert done.exit_code == 0 and "1 session" in done.output
    assert not signed_in(client)


# --- Export -------------------------------------------------------------------


def test_the_export_holds_every_post_and_no_secret(app, susan, make_user):
    """Profile, posts with times, follows both ways, sessions, language, 2FA."""
    make_user("john")
    with app.app_context():
        susan_user, john = User.by_username("susan"), User.by_username("john")
        for number in range(30):
            db.session.add(Post(body=f"post {number} 你好", user_id=susan_user.id))
        susan_user.follow(john)
        john.follow(susan_user)
        db.session.commit()
        hashes = susan_user.password_hash
    client = browser(app)
    sign_in(client)
    response = client.get("/account/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert [post["body"] for post in data["posts"]] == [
        f"post {number} 你好" for number in range(30)
    ]
    assert all(post["timestamp"] for post in data["posts"])
    assert data["following"] == ["john"] and data["followers"] == ["john"]
    assert data["profile"]["username"] == "susan"
    assert data["sessions"][0]["browser"] == "Firefox"
    assert data["two_factor"] is False
    text = response.get_data(as_text=True)
    assert hashes not in text and "password_hash" not in text
    assert "totp" not in text and "digest" not in text


def test_the_export_needs_a_recent_sign_in(app, susan):
    """Behind /reauthenticate like every sensitive step."""
    client = browser(app)
    sign_in(client)
    with client.session_transaction() as session:
        session["_signed_in_at"] -= app.config["REAUTHENTICATE_AFTER"] + 1
    assert client.get("/account/export").location.startswith("/reauthenticate")


# --- Deletion -----------------------------------------------------------------


def counts(app) -> dict:
    """How many rows each table holds."""
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name != "alembic_version"
        }


def test_deleting_takes_everything_and_frees_the_name(app, susan, make_user, outbox):
    """One goodbye; old links die; the name and address sign up again at once."""
    make_user("john")
    with app.app_context():
        user, john = User.by_username("susan"), User.by_username("john")
        db.session.add(Post(body="hello", user_id=user.id))
        user.follow(john)
        john.follow(user)
        user.new_recovery_codes()
        db.session.add(
            Passkey(user_id=user.id, credential_id="x", public_key=b"k", name="k")
        )
        db.session.commit()
        reset_token = user.get_reset_password_token()
    client = browser(app)
    sign_in(client)
    page = client.get("/account/delete").get_data(as_text=True)
    assert "cannot be undone" in page
    refused = client.post("/account/delete", data={"password": "not my password"})
    assert field_error(refused, "password")
    done = client.post("/account/delete", data={"password": PASSWORD})
    assert done.location == "/login" and not signed_in(client)
    left = counts(app)
    assert left["user"] == 1 and left["post"] == 0 and left["followers"] == 0
    assert left["user_session"] == 0  # john never signed in
    assert left["recovery_code"] == left["passkey"] == 0
    assert outbox[-1].subject == "[Microblog] Your account was deleted"
    assert outbox[-1].recipients == ["susan@example.org"]
    gone = client.get(f"/reset_password/{reset_token}")
    assert gone.location == "/reset_password_request"
    again = client.post(
        "/register",
        data={
            "username": "susan",
            "email": "susan@example.org",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert again.location == "/login"
    with app.app_context():
        assert User.by_username("susan") is not None


def test_deleting_with_a_second_factor_needs_a_code(app, susan):
    """The password alone is not enough when the second factor is on."""
    import pyotp

    from app.models import two_factor

    key = two_factor.new_totp_key()
    with app.app_context():
        User.by_username("susan").enable_two_factor(key, 0)
        db.session.commit()
    client = browser(app)
    sign_in(client)
    client.post("/login/two_factor", data={"code": pyotp.TOTP(key).now()})
    response = client.post("/account/delete", data={"password": PASSWORD, "code": ""})
    assert field_error(response, "code")
    with app.app_context():
        assert User.by_username("susan") is not None
        assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 10


def test_a_failure_mid_way_deletes_nothing(app, susan, monkeypatch):
    """The goodbye cannot be queued: the transaction rolls back whole."""
    from app.account import leaving

    with app.app_context():
        db.session.add(Post(body="keep me", user_id=susan))
        db.session.commit()

    def broken(*args):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database went away"))

    monkeypatch.setattr(leaving, "send_goodbye_email", broken)
    client = browser(app)
    sign_in(client)
    response = client.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 503
    left = counts(app)
    assert left["user"] == 1 and left["post"] == 1


def test_operators_delete_after_asking(app, susan, outbox):
    """`flask user delete USERNAME` asks first."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["user", "delete", "susan"], input="n\n").exit_code == 1
    assert counts(app)["user"] == 1
    done = runner.invoke(args=["user", "delete", "susan"], input="y\n")
    assert done.exit_code == 0, done.output
    assert counts(app)["user"] == 0
    assert outbox[-1].subject == "[Microblog] Your account was deleted"


def test_a_deletion_racing_posts_and_sign_ins_leaves_no_orphans(
    make_app, make_user, database_url, tmp_path
):
    """Concurrent requests: posts, sign-ins and the deletion; no 500, no orphan."""
    if database_url.startswith("sqlite"):
        # Threads need connections of their own: a file, not shared memory.
        database_url = f"sqlite:///{tmp_path / 'race.db'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    make_user("susan")
    poster, signer, deleter = browser(app), browser(app), browser(app)
    sign_in(poster)
    sign_in(deleter)
    statuses, start = [], threading.Barrier(3)

    def post_many():
        start.wait()
        for number in range(15):
            statuses.append(
                poster.post("/index", data={"post": f"p{number}"}).status_code
            )

    def sign_in_many():
        start.wait()
        for _ in range(5):
            statuses.append(sign_in(signer).status_code)

    def delete():
        start.wait()
        statuses.append(
            deleter.post("/account/delete", data={"password": PASSWORD}).status_code
        )

    threads = [
        threading.Thread(target=job) for job in (post_many, sign_in_many, delete)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert 500 not in statuses
    with app.app_context():
        users = sa.select(User.id)
        for table, column in (
            (Post.__table__, Post.__table__.c.user_id),
            (UserSession.__table__, UserSession.__table__.c.user_id),
            (followers, followers.c.follower_id),
        ):
            orphans = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(column.not_in(users))
            )
            assert db.session.scalar(orphans) == 0
        assert User.by_username("susan") is None
