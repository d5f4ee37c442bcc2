"""Settings checked at start-up: the app refuses to run unsafely configured."""

import os
import secrets

from flask import Flask

from app.database import engine_options

MIN_SECRET_KEY_BYTES = 32


def check_settings(app: Flask) -> None:
    """Refuse to start with settings that would make the app unsafe."""
    config = app.config
    relaxed = app.debug or app.testing
    if not config.get("SECRET_KEY"):
        if not relaxed:
            raise RuntimeError("SECRET_KEY must be set (see README, Configure).")
        config["SECRET_KEY"] = development_secret_key(app)
    if len(config["SECRET_KEY"].encode()) < MIN_SECRET_KEY_BYTES and not app.testing:
        raise RuntimeError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes.")
    if not config.get("SERVER_NAME"):
        if not relaxed:
            raise RuntimeError("SERVER_NAME must be set: emailed links use it.")
        config["SERVER_NAME"] = "127.0.0.1:5000"
        config["PREFERRED_URL_SCHEME"] = "http"
    if app.debug and not app.testing:
        # The development server speaks plain HTTP on loopback.
        config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = False
    if config["SESSION_COOKIE_SECURE"] is None:
        # Secure cookies over plain HTTP never come back: every form would fail.
        secure = config["PREFERRED_URL_SCHEME"] == "https"
        config["SESSION_COOKIE_SECURE"] = secure
    if config["REMEMBER_COOKIE_SECURE"] is None:
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config)


def development_secret_key(app: Flask) -> str:
    """A random key kept in the instance folder, so restarts keep sessions."""
    path = os.path.join(app.instance_path, "dev-secret-key")
    if not os.path.exists(path):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as file:
            file.write(secrets.token_hex(32))
    with open(path) as file:
        return file.read().strip()
