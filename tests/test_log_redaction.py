"""Secrets stay out of logs: every logged path shows emailed links redacted."""

import logging
import re
import runpy
import threading

import pytest
from flask import request, url_for
from gunicorn.config import Config as GunicornConfig
from werkzeug.serving import make_server

from app import create_app, db
from app.mail.outbox import deliver_due
from app.models import User
from app.redact import REDACTED, redact
from tests.conftest import TestConfig, wait_for
from tests.deployment import (
    RESET_SUBJECT,
    ROOT,
    Browser,
    Mailbox,
    register_and_request_reset,
    reset_mails,
    tail,
)

# Every link route the app has: a new one is tested here without a word changed.
LINK_ENDPOINTS = sorted(
    rule.endpoint
    for rule in create_app(TestConfig).url_map.iter_rules()
    if "token" in rule.arguments
)


def real_token(app, user_id) -> str:
    """A real, current link token (a JWT) for the user."""
    with app.app_context():
        return db.session.get(User, user_id).get_reset_password_token()


def link_path(app, endpoint, token) -> str:
    """The path of endpoint's link carrying token."""
    with app.test_request_context():
        return url_for(endpoint, token=token)


@pytest.fixture
def failing_links(monkeypatch):
    """Every link view fails while reading its token, naming the path it failed on."""

    def fail(purpose, token):
        raise LookupError(f"no account for {request.path}")

    monkeypatch.setattr(User, "from_token", staticmethod(fail))


@pytest.fixture
def app_logger():
    """The app's logger as it was: production logging adds handlers to it."""
    logger = logging.getLogger("app")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    for handler in set(logger.handlers) - set(handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)


def test_every_link_route_is_redacted_and_its_static_siblings_are_not(app):
    assert {
        "auth.reset_password",
        "account.confirm_email",
        "account.apply_email_change",
        "account.revert_email",
    } <= set(LINK_ENDPOINTS)
    token = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"
    for endpoint in LINK_ENDPOINTS:
        path = link_path(app, endpoint, token)
        assert redact(f"GET {path}?next=%2F HTTP/1.1") == (
            f"GET {path.replace(token, REDACTED)}?next=%2F HTTP/1.1"
        )
    for path in [
        "/reset_password/set-password",
        "/confirm_email/resend",
        "/change_email/cancel",
    ]:
        assert redact(path) == path


@pytest.mark.parametrize("endpoint", LINK_ENDPOINTS)
def test_failing_link_page_logs_no_token(
    make_app, make_user, failing_links, caplog, endpoint
):
    """Flask's "Exception on PATH" line and the traceback show [redacted]."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    token = real_token(app, make_user())
    path = link_path(app, endpoint, token)
    response = app.test_client().get(path)
    assert response.status_code == 500, "the view never read its token"
    redacted = path.replace(token, REDACTED)
    assert f"Exception on {redacted} [GET]" in caplog.text
    assert f"LookupError: no account for {redacted}" in caplog.text
    assert token not in caplog.text


@pytest.mark.parametrize("endpoint", LINK_ENDPOINTS)
def test_error_mail_and_log_file_carry_no_token(
    make_app, make_user, failing_links, smtp_server, tmp_path, app_logger, endpoint
):
    """As deployed: the report mailed to ADMINS and microblog.log are redacted."""
    app = make_app(
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        ADMINS=["admin@example.org"],
        LOG_DIR=str(tmp_path),
    )
    token = real_token(app, make_user())
    path = link_path(app, endpoint, token)
    assert app.test_client().get(path).status_code == 500
    # A child logger reaches the handlers without passing the app logger's filter.
    logging.getLogger("app.audit").warning("link_followed path=%s", path)
    with app.app_context():
        assert deliver_due() == 1

    redacted = path.replace(token, REDACTED)
    [(recipients, report)] = smtp_server.messages
    assert recipients == ["admin@example.org"]
    body = report.get_body(("plain",)).get_content()
    assert f"Exception on {redacted} [GET]" in body
    assert f"no account for {redacted}" in body
    assert token not in body
    log = (tmp_path / "microblog.log").read_text()
    assert f"Exception on {redacted} [GET]" in log
    assert f"link_followed path={redacted}" in log
    assert token not in log


def test_csrf_warning_on_a_link_shows_no_token(make_app, make_user, caplog):
    """app/errors.py's own line ("CSRF failed on POST PATH") is redacted."""
    app = make_app(WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=True)
    token = real_token(app, make_user())
    path = link_path(app, "account.confirm_email", token)
    client = app.test_client()
    response = client.post(path, base_url="http://app.example.com")
    assert response.status_code == 400
    assert f"CSRF failed on POST {path.replace(token, REDACTED)}" in caplog.text
    assert token not in caplog.text


def test_dev_server_request_lines_show_no_token(make_app, make_user, caplog):
    """werkzeug's "GET PATH HTTP/1.1" lines: the link redacted, its sibling not."""
    app = make_app()
    token = real_token(app, make_user())
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO, logger="werkzeug")
    try:
        browser = Browser(f"http://127.0.0.1:{server.port}")
        assert browser.get(f"/reset_password/{token}")[0] == 302
        assert browser.get("/reset_password/set-password")[0] == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert f'"GET /reset_password/{REDACTED} HTTP/1.1" 302' in caplog.text
    assert '"GET /reset_password/set-password HTTP/1.1" 200' in caplog.text
    assert token not in caplog.text


def test_gunicorn_access_log_shows_no_token(app_database, deploy, start_smtp, tmp_path):
    """Real gunicorn with an access log: the emailed reset link, redacted."""
    mailbox = start_smtp(Mailbox(only=RESET_SUBJECT))
    access_log = tmp_path / "access.log"
    app = deploy(
        app_database,
        mailbox.port,
        MAIL_DELIVERY="thread",
        GUNICORN_CMD_ARGS=f"--access-logfile {access_log}",
    )
    app.start()
    assert register_and_request_reset(app.base_url, 0) == []
    assert wait_for(lambda: reset_mails(mailbox), 30), "no reset mail"
    text = reset_mails(mailbox)[0].get_body(("plain",)).get_content()
    token = re.search(r"/reset_password/(\S+)", text).group(1)

    browser = Browser(app.base_url)
    assert browser.get(f"/reset_password/{token}")[0] == 302
    assert browser.get("/reset_password/set-password")[0] == 200
    sibling = '"GET /reset_password/set-password HTTP/1.1" 200'
    assert wait_for(lambda: sibling in access_log.read_text(), 10), tail(access_log)
    log = access_log.read_text()
    # gunicorn's own format, unchanged: host, time, "request line", status, size...
    assert re.search(
        rf'127\.0\.0\.1 - - \[.+\] "GET /reset_password/{re.escape(REDACTED)} '
        r'HTTP/1\.1" 302 \d+ "-" "Python-urllib/[\d.]+"',
        log,
    ), log
    assert token not in log
    assert token not in app.logs()


def test_gunicorn_error_log_shows_no_token(make_app, make_user, tmp_path):
    """gunicorn's "Error handling request PATH" line goes through the same filter."""
    app = make_app()  # the app is loaded in this process, as in a worker
    token = real_token(app, make_user())
    logger_class = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["logger_class"]
    config = GunicornConfig()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = logger_class(config)
    try:
        try:
            raise OSError(f"reading /confirm_email/{token} failed")
        except OSError:
            logger.exception("Error handling request %s", f"/confirm_email/{token}")
    finally:
        for handler in logger.error_log.handlers:
            handler.close()
    log = (tmp_path / "error.log").read_text()
    assert f"Error handling request /confirm_email/{REDACTED}" in log
    assert f"OSError: reading /confirm_email/{REDACTED} failed" in log
    assert token not in log


def test_the_readmes_nginx_log_redacts_every_link_route():
    """nginx's access log (README "Deploy") redacts as the app does, route by route."""
    readme = (ROOT / "README.md").read_text()
    nginx = re.search(r"```nginx\n(.*?)```", readme, re.S).group(1)
    source, replacement = re.search(r'"~(.+?)" "(.+?)";', nginx).groups()
    pattern = re.compile(source)
    app = create_app(TestConfig)
    token = "eyJhbGciOiJIUzI1NiJ9.eyJyZXNldCI6MX0.c2lnbmF0dXJl"
    with app.test_request_context():
        for endpoint in LINK_ENDPOINTS:
            for path in (url_for(endpoint, token=token), url_for(endpoint, token="x")):
                for uri in (path, f"{path}?next=%2Findex"):
                    logged = pattern.sub(replacement.replace("$", "\\"), uri)
                    assert logged == redact(uri) != uri, endpoint
    static = [r.rule for r in app.url_map.iter_rules() if not r.arguments]
    assert "/reset_password/set-password" in static
    for path in static:
        assert pattern.sub(replacement.replace("$", "\\"), path) == path == redact(path)
