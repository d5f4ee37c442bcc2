"""Browser tests: Playwright drives a real Chromium against the app on loopback.

The app is served by werkzeug from a daemon thread, with real CSRF, real rate
limits, a file database and a real SMTP server (aiosmtpd). Every page a test
visits goes through `Tour.check` (tour.py): axe-core must find no serious or
critical violation, the page must log no error, and it is photographed at
desktop and phone widths into tests/screenshots/.

These tests never skip: a browser that cannot start is an error, and any skip
inside tests/browser is turned into a failure (see pytest_runtest_makereport).
"""

import os
import threading

import pytest
from werkzeug.serving import make_server

from .tour import DESKTOP, LiveServer, Tour

SYSTEM_CHROMIUM = "/usr/bin/chromium"
# From ../shared/docs/testing-tools.md; --no-sandbox because tests run as root.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_executable() -> str | None:
    """CHROMIUM_PATH, else Debian's Chromium, else Playwright's own download."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        return configured
    if os.path.exists(SYSTEM_CHROMIUM):
        return SYSTEM_CHROMIUM
    return None  # `python -m playwright install chromium` put one in its cache


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch the configured Chromium; failing to launch fails the test."""
    args = {**browser_type_launch_args, "args": LAUNCH_ARGS}
    executable = chromium_executable()
    if executable:
        args["executable_path"] = executable
    return args


@pytest.fixture(scope="session")
def base_url():
    """Tests use absolute URLs on their own server (each test has its own port).

    Also replaces pytest-playwright's fallback fixture, an instance method that
    pytest 9 warns about (and this project turns warnings into errors).
    """
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Every page starts at desktop size, in English."""
    return {**browser_context_args, "viewport": DESKTOP, "locale": "en-GB"}


def fail_instead_of_skip(report):
    """Turn a skipped report into a failure that says why."""
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
        report.outcome = "failed"
        report.longrepr = (
            f"browser test skipped ({reason}); browser tests must run: "
            "see tests/browser/install_browser.sh"
        )
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A browser test that skips has proven nothing: report it as failed."""
    return fail_instead_of_skip((yield))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped while collecting (importorskip)."""
    return fail_instead_of_skip((yield))


@pytest.fixture
def serve(make_app, smtp_server, database_url, tmp_path):
    """Start the app with extra settings on a free port; stopped after the test."""
    running = []

    def start(**settings) -> LiveServer:
        # Bind first, so the port is known before the app (SERVER_NAME) is built.
        server = make_server("127.0.0.1", 0, None, threaded=True)
        port = server.server_port
        url = database_url
        if url.startswith("sqlite"):
            # The server answers from several threads at once. In-memory SQLite
            # shares one connection between them (StaticPool): concurrent
            # requests then mix transactions and can crash. A file does not.
            url = f"sqlite:///{tmp_path / 'browser.db'}"
        config = {
            "SQLALCHEMY_DATABASE_URI": url,
            "SERVER_NAME": f"127.0.0.1:{port}",
            "PREFERRED_URL_SCHEME": "http",
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": True,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "MAIL_TIMEOUT": 5,
            "MAIL_DELIVERY": "inline",
        }
        app = make_app(**{**config, **settings})
        server.app = app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return LiveServer(app=app, origin=f"http://127.0.0.1:{port}", inbox=smtp_server)

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def live_server(serve) -> LiveServer:
    """The app with the browser-test settings."""
    return serve()


@pytest.fixture
def make_tour(page, request):
    """Start a checked walk on a server; screenshots are named after the test."""
    name = request.node.originalname.removeprefix("test_").replace("_", "-")

    def start(server: LiveServer) -> Tour:
        return Tour(page=page, server=server, name=name)

    return start


@pytest.fixture
def tour(make_tour, live_server) -> Tour:
    """A checked walk on the app with the default browser-test settings."""
    return make_tour(live_server)
