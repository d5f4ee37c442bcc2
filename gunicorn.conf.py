"""gunicorn settings; gunicorn reads this file from the folder it is started in."""

import os

# One worker per core this process may use (a container's cpuset, say): a request
# here is CPU work (templates, password hashes, a local database), and more workers
# than cores measured slower (README "Deploy"). Raise WEB_CONCURRENCY when requests
# wait on a database on another machine.
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))


def worker_exit(server, worker):
    """On a graceful stop, let the mail thread finish (and record) what it sends."""
    from app.outbox import stop_thread

    # Inside the graceful timeout, after which the arbiter kills the worker; a
    # message still unfinished then is sent again after its lease (README "Deploy").
    if not stop_thread(timeout=max(1.0, server.cfg.graceful_timeout - 2)):
        server.log.warning("Mail thread still sending at exit; its lease will retry")
