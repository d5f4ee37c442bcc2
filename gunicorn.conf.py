"""gunicorn settings; gunicorn reads this file from the folder it is started in."""

import os

# One worker per core: a request here is CPU work (templates, password hashes, a
# local database), and more workers than cores measured slower (docs/benchmarks.md).
# Raise WEB_CONCURRENCY when requests wait on a database on another machine.
# The cores this process may use (a container's cpuset, say), not the machine's.
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
