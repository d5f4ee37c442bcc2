"""Site-wide protections and the settings production depends on."""

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app
from config import Config
from tests.conftest import PASSWORD, TestConfig


def production(**settings):
    """A production-like config class (no debug, no testing) with overrides."""
    base = {
        "SECRET_KEY": "a-production-secret-key-of-enough-length-42",
        "SERVER_NAME": "app.example.com",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "TESTING": False,
        "DEBUG": False,
        "MAIL_DELIVERY": "worker",
    }
    return type("Production", (Config,), {**base, **settings})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "you-will-never-guess"}, "at least 32 bytes"),
        ({"SERVER_NAME": None}, "SERVER_NAME must be set"),
    ],
)
def test_production_refuses_unsafe_settings(settings, message):
    with pytest.raises(RuntimeError, match=message):
        create_app(production(**settings))


def test_production_defaults_are_strict():
    app = create_app(production(LOG_DIR="/tmp/microblog-test-logs"))
    config = app.config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["PREFERRED_URL_SCHEME"] == "https"
    assert config["WTF_CSRF_ENABLED"] is not False
    assert config["RATELIMIT_ENABLED"] is True
    assert config["MAX_CONTENT_LENGTH"] == 64 * 1024
    assert not isinstance(app.wsgi_app, ProxyFix)


def test_development_keeps_a_generated_key_across_restarts():
    """Debug mode without SECRET_KEY: a random key saved in the instance folder."""
    development = production(SECRET_KEY=None, SERVER_NAME=None, DEBUG=True)
    first, second = create_app(development), create_app(development)
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["SERVER_NAME"] == "127.0.0.1:5000"
    assert first.config["SESSION_COOKIE_SECURE"] is False


def test_cookies_are_secure_httponly_and_lax(make_app, make_user):
    """Row 31: the login response's Set-Cookie flags."""
    app = make_app(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    make_user("susan")
    client = app.test_client()
    data = {"username": "susan", "password": PASSWORD, "remember_me": "y"}
    response = client.post("/login", data=data, base_url="https://app.example.com")
    cookies = response.headers.getlist("Set-Cookie")
    assert {cookie.split("=")[0] for cookie in cookies} == {"session", "remember_token"}
    for cookie in cookies:
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_every_page_gets_the_security_headers(client):
    response = client.get("/login")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src" not in policy or "unsafe-inline" not in policy
    assert client.get("/nowhere").headers["X-Frame-Options"] == "DENY"


def test_pages_load_nothing_from_other_origins(client, auth, make_user):
    """The auth pages use the app's own copy of Bootstrap."""
    for path in ("/login", "/register", "/reset_password_request"):
        page = client.get(path).get_data(as_text=True)
        assert "bootstrap" in page
        assert "cdn" not in page
        assert "http://" not in page and "https://" not in page
    asset = client.get("/bootstrap/static/css/bootstrap.min.css")
    assert asset.status_code == 200


def test_proxy_fix_only_when_configured(make_app, caplog):
    """X-Forwarded-For is believed only with PROXY_FIX_X_FOR set."""
    caplog.set_level("INFO", logger="app.audit")
    headers = {"X-Forwarded-For": "203.0.113.9"}
    direct = make_app()
    direct.test_client().post(
        "/reset_password_request", data={"email": "a@b.c"}, headers=headers
    )
    assert "ip=127.0.0.1" in caplog.text
    caplog.clear()
    proxied = make_app(PROXY_FIX_X_FOR=1)
    assert isinstance(proxied.wsgi_app, ProxyFix)
    proxied.test_client().post(
        "/reset_password_request", data={"email": "a@b.c"}, headers=headers
    )
    assert "ip=203.0.113.9" in caplog.text


def test_logging_to_file_outside_debug(tmp_path):
    """Production logs to a rotating file, including the audit trail."""
    app = create_app(production(LOG_DIR=str(tmp_path)))
    app.logger.info("hello from the test")
    for handler in app.logger.handlers:
        handler.flush()
    assert "hello from the test" in (tmp_path / "microblog.log").read_text()


def test_error_mail_handler_only_with_a_mail_server(tmp_path):
    """Errors are mailed to ADMINS only when a mail server is configured."""
    from app.mail.outbox import ErrorMailHandler

    def has_mail_handler(app):
        return any(isinstance(h, ErrorMailHandler) for h in app.logger.handlers)

    base = {"LOG_DIR": str(tmp_path), "ADMINS": ["ops@example.org"]}
    assert not has_mail_handler(create_app(production(**base)))
    with_server = create_app(production(MAIL_SERVER="127.0.0.1", **base))
    assert has_mail_handler(with_server)


def test_test_config_is_isolated():
    """Tests never touch a real database or a real mail server by accident."""
    assert TestConfig.SQLALCHEMY_DATABASE_URI.startswith(("sqlite://", "postgresql"))
    assert TestConfig.MAIL_SERVER is None
