"""gunicorn settings; gunicorn reads this file from the folder it is started in."""

import os

# One worker per core this process may use (a container's cpuset, say): a request
# here is CPU work (templates, password hashes, a local database), and more workers
# than cores measured slower (README "Deploy"). Raise WEB_CONCURRENCY when requests
# wait on a database on another machine.
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
