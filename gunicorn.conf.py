"""gunicorn settings; gunicorn reads this file from the folder it is started in."""

import logging
import os
import sys

from gunicorn import glogging

# One worker per core this process may use (a container's cpuset, say): a request
# here is CPU work (templates, password hashes, a local database), and more workers
# than cores measured slower (README "Deploy"). Raise WEB_CONCURRENCY when requests
# wait on a database on another machine.
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))


def worker_exit(server, worker):
    """On a graceful stop: the mail thread finishes what it sends; store counters."""
    from app.mail.outbox import stop_thread

    # Inside the graceful timeout, after which the arbiter kills the worker; a
    # message still unfinished then is sent again after its lease (README "Deploy").
    if not stop_thread(timeout=max(1.0, server.cfg.graceful_timeout - 2)):
        server.log.warning("Mail thread still sending at exit; its lease will retry")
    # The arbiter calls this too, for a worker already gone: only the worker's own app.
    if getattr(worker, "wsgi", None) is not None and worker.pid == os.getpid():
        from app.fragments import write_stats

        write_stats(worker.wsgi)  # PAGE_STORE_STATS_DIR, when the bench sets it


def loaded_redact():
    """app.redact if this process has loaded the app (a worker), else None."""
    # Looked up, never imported: the arbiter must not hold app code across a
    # reload (HUP), and the workers, which serve the links, have loaded it.
    return sys.modules.get("app.redact")


class RedactFilter(logging.Filter):
    """gunicorn's error log ("Error handling request PATH"), tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """The app's own filter, once this process has loaded the app."""
        module = loaded_redact()
        return module.LOG_FILTER.filter(record) if module else True


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with link tokens redacted; the access format is unchanged."""

    def setup(self, cfg) -> None:
        """gunicorn's handlers, and the error log's filter."""
        super().setup(cfg)
        self.error_log.addFilter(REDACT_FILTER)

    def atoms(self, resp, req, environ, request_time) -> dict:
        """Every value an access line can show (%(r)s, %(U)s, {raw_uri}e...)."""
        atoms = super().atoms(resp, req, environ, request_time)
        module = loaded_redact()
        if module is None:
            return atoms
        return {
            key: module.redact(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


REDACT_FILTER = RedactFilter()
logger_class = RedactingLogger
