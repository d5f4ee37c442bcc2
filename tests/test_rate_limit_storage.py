"""Rate limits shared by every process through Redis, and what happens without it."""

import uuid

import redis

from tests.conftest import free_port


def request_reset(app, address="mike@example.org"):
    """One reset request from a fresh client of app."""
    return app.test_client().post("/reset_password_request", data={"email": address})


def limited(make_app, storage, prefix):
    """An app (standing in for one process) with limits kept in storage."""
    return make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=storage,
        RATELIMIT_KEY_PREFIX=prefix,
        RESET_REQUESTS_PER_ADDRESS="3/hour",
    )


def test_processes_share_counts_through_redis(make_app, redis_url):
    """Two app instances count together, as gunicorn workers must."""
    prefix = f"microblog-test-{uuid.uuid4().hex}"
    try:
        first = limited(make_app, redis_url, prefix)
        codes = [request_reset(first).status_code for _ in range(2)]
        second = limited(make_app, redis_url, prefix)
        codes += [request_reset(second).status_code for _ in range(2)]
        assert codes == [302, 302, 302, 429]
        keys = redis.Redis.from_url(redis_url).keys(f"*{prefix}*")
        assert keys, "the counters live in Redis"
    finally:
        server = redis.Redis.from_url(redis_url)
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)


def test_memory_storage_counts_per_process(make_app):
    """Why production needs Redis: memory:// counters are per process."""
    first = limited(make_app, "memory://", "a")
    codes = [request_reset(first).status_code for _ in range(3)]
    second = limited(make_app, "memory://", "b")
    codes.append(request_reset(second).status_code)
    assert codes == [302, 302, 302, 302]


def test_redis_outage_falls_back_to_per_process_limits(make_app):
    """Redis down: requests still work, and limits still apply in memory."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = limited(make_app, dead, "dead")
    codes = [request_reset(app).status_code for _ in range(4)]
    assert codes == [302, 302, 302, 429]
