"""The microblog application factory and its extensions."""

import os

from flask import Flask, request
from flask_babel import lazy_gettext
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, basedir

db = SQLAlchemy()
migrate = Migrate()
login = LoginManager()
login.login_view = "auth.login"
login.login_message = lazy_gettext("Please sign in to see this page.")
# The message is flashed: store it translated, not as a lazy string.
login.localize_callback = str
# Named apart from the app.mail package, which would shadow it.
flask_mail = Mail()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
limiter = Limiter(get_remote_address)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https://www.gravatar.com; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(config_class: type = Config) -> Flask:
    """Build a configured app: extensions, views, CLI, logging, mail delivery."""
    from app.logs import Microblog, configure_logging
    from app.settings import check_settings

    app = Microblog(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    os.makedirs(app.instance_path, exist_ok=True)
    check_settings(app)
    if any(app.config[f"PROXY_FIX_X_{part}"] for part in ("FOR", "PROTO", "HOST")):
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
            x_host=app.config["PROXY_FIX_X_HOST"],
        )

    db.init_app(app)
    # Not relative to the working directory: /healthz reads the head from here.
    migrations = os.path.join(basedir, "migrations")
    migrate.init_app(app, db, directory=migrations, render_as_batch=True)
    login.init_app(app)
    flask_mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)

    from app import (
        account,
        auth,
        cli,
        errors,
        forms,
        fragments,
        health,
        i18n,
        main,
        redact,
    )
    from app.mail import devmail, outbox

    i18n.init_app(app)
    fragments.init_app(app)
    app.add_template_global(forms.csrf_input)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(errors.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(cli.bp)
    if app.debug and not app.config["MAIL_SERVER"]:
        devmail.init_app(app)
    app.after_request(set_security_headers)
    outbox.init_app(app)
    redact.init_app(app)
    configure_logging(app)
    health.init_app(app)  # may log, so after the log file is set up
    return app


def set_security_headers(response):
    """Headers every page gets; reset pages add no-referrer and no-store."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers["Referrer-Policy"] = "same-origin"
    if request.blueprint in ("auth", "account"):
        # Keeps reset tokens out of caches and out of Referer headers.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
