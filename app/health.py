"""`GET /healthz`: whether this process can serve, for load balancers and systemd."""

import sqlalchemy as sa
from flask import Blueprint, current_app

from app import db, limiter
from app.database import RETRY_AFTER_SECONDS, UNAVAILABLE, reason

bp = Blueprint("health", __name__)

# A health check that hangs is worse than one that fails: cap the query.
STATEMENT_TIMEOUT_MS = 2000


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 when the database answers a trivial query quickly, 503 otherwise."""
    headers = {"Cache-Control": "no-store", "Content-Type": "text/plain"}
    try:
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                )
            connection.execute(sa.text("SELECT 1"))
    except UNAVAILABLE as error:
        current_app.logger.warning("healthz: database unavailable: %s", reason(error))
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return "database unavailable\n", 503, headers
    return "ok\n", 200, headers
