"""Logging: a log file and errors mailed to ADMINS, with emailed links redacted."""

import logging
import os
from logging.handlers import RotatingFileHandler

from flask import Flask, request

from app import redact


class Microblog(Flask):
    """Flask, with its "Exception on PATH" line showing no emailed link's token."""

    def log_exception(self, exc_info) -> None:
        """Log an unhandled exception (and mail it to ADMINS), the path redacted."""
        self.logger.error(
            "Exception on %s [%s]",
            redact.redact(request.path),
            request.method,
            exc_info=exc_info,
        )


def configure_logging(app: Flask) -> None:
    """Outside debug and tests: a rotating log file and errors mailed to ADMINS."""
    if app.debug or app.testing:
        return
    from app.mail.outbox import ErrorMailHandler

    if app.config["MAIL_SERVER"] and app.config["ADMINS"]:
        mail_handler = ErrorMailHandler(app)
        mail_handler.setLevel(logging.ERROR)
        # The handlers filter too: app.* loggers' records skip the app logger's filter.
        mail_handler.addFilter(redact.LOG_FILTER)
        app.logger.addHandler(mail_handler)
    os.makedirs(app.config["LOG_DIR"], exist_ok=True)
    file_handler = RotatingFileHandler(
        os.path.join(app.config["LOG_DIR"], "microblog.log"),
        maxBytes=1024 * 1024,
        backupCount=10,
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    file_handler.setLevel(logging.INFO)
    file_handler.addFilter(redact.LOG_FILTER)
    app.logger.addHandler(file_handler)
    app.logger.setLevel(logging.INFO)
