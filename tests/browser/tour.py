"""Helpers for the browser tests: the served app, and a checked walk through it."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import (
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Response,
    Route,
)

from app import db
from app.models import Post, User, utcnow

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = ("serious", "critical")
# Stand-in for Gravatar (the only third-party origin the CSP allows), so the
# tests need no network and pages with avatars still show one.
AVATAR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8">'
    '<rect width="8" height="8" fill="#e9ecef"/>'
    '<path d="M2 2h4v4H2z" fill="#6c757d"/></svg>'
)
# axe-core as bundled by axe-playwright-python; injected once per page, then run
# at each width (Axe().run would inject the 500 kB script before every run).
AXE_SOURCE = Axe().axe_script
AXE_RUN = "axe.run(document, {resultTypes: ['violations']})"


@dataclass
class LiveServer:
    """The app on a loopback port, and the SMTP server it sends through."""

    app: Flask
    origin: str
    inbox: object  # tests.conftest.Inbox: .messages, .port

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server."""
        return self.origin + path


def add_user(server: LiveServer, username: str, password: str, **fields) -> None:
    """Create an account directly in the served app's database."""
    with server.app.app_context():
        fields.setdefault("email_confirmed_at", utcnow())
        user = User(username=username, email=f"{username}@example.org", **fields)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()


def add_posts(server: LiveServer, username: str, bodies: list[str]) -> None:
    """Publish bodies for username, oldest first (the last is the newest)."""
    with server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        for body in bodies:
            db.session.add(Post(body=body, author=user))
            db.session.commit()


@dataclass
class Tour:
    """One test's walk through the site; every page it reaches is checked."""

    page: Page
    server: LiveServer
    name: str
    step: int = 0
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def __post_init__(self):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{self.name}-[0-9][0-9]-*.png"):
            old.unlink()
        self.page.on("request", self._record_request)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._record_console)
        self.page.on("requestfailed", self._record_failure)
        self.page.on("response", self._record_response)
        origin = re.escape(self.server.origin)
        self.page.context.route(re.compile(rf"^(?!{origin}/)https?://"), self._foreign)

    def _record_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _record_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _record_failure(self, request: Request) -> None:
        if request.url not in self.blocked:
            self.errors.append(f"request failed: {request.url} {request.failure}")

    def _record_response(self, response: Response) -> None:
        if response.status >= 400:
            self.errors.append(f"{response.status} for {response.url}")

    def _foreign(self, route: Route) -> None:
        """No network in tests: stub Gravatar, refuse (and remember) the rest."""
        url = route.request.url
        if url.startswith("https://www.gravatar.com/avatar/"):
            route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
        else:
            self.blocked.append(url)
            route.abort()

    def goto(self, path: str, label: str) -> None:
        """Open a path on the app and check the page."""
        self.page.goto(self.server.url(path))
        self.check(label)

    def click(self, locator: Locator, label: str) -> None:
        """Click something that loads a new page, then check that page."""
        with self.page.expect_navigation():
            locator.click()
        self.check(label)

    def check(self, label: str, status: int | None = None) -> None:
        """Axe, errors and screenshots for the page now shown, at both widths.

        status: the error status this page is meant to answer with (a used link).
        """
        page = self.page
        page.wait_for_load_state("load")
        if status is not None:
            answered = f"{status} for {page.url}"
            console = f"the server responded with a status of {status}"
            assert answered in self.errors, self.errors
            self.errors = [
                error
                for error in self.errors
                if error != answered and console not in error
            ]
        self.step += 1
        problems = []
        page.evaluate(AXE_SOURCE)
        for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            problems += [
                describe_violation(violation, width)
                for violation in page.evaluate(AXE_RUN)["violations"]
                if violation["impact"] in BLOCKING_IMPACTS
            ]
            shot = SCREENSHOTS / f"{self.name}-{self.step:02d}-{label}-{width}.png"
            page.screenshot(path=shot, full_page=True)
        page.set_viewport_size(DESKTOP)
        assert not problems, (
            f"axe found serious/critical violations on {page.url} ({label}):\n"
            + "\n".join(problems)
        )
        assert not self.errors, f"errors on {page.url} ({label}): {self.errors}"
        assert not self.blocked, f"{page.url} ({label}) reached for {self.blocked}"


def describe_violation(violation: dict, width: str) -> str:
    """One readable paragraph per violation: rule, impact, every offending node."""
    lines = [
        f"- [{width}] {violation['id']} ({violation['impact']}): {violation['help']}"
        f" <{violation['helpUrl']}>"
    ]
    for node in violation["nodes"]:
        summary = " ".join(node.get("failureSummary", "").split())
        lines.append(f"    {' '.join(map(str, node['target']))}: {node['html']}")
        lines.append(f"      {summary}")
    return "\n".join(lines)


def sign_in(tour: Tour, username: str, password: str, label: str = "signed-in"):
    """Fill and submit the sign-in form on the current page."""
    page = tour.page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    tour.click(page.get_by_role("button", name="Sign in", exact=True), label)


def flash_texts(page: Page) -> list[str]:
    """The flashed messages shown on the page."""
    flashes = page.locator(".alert-dismissible")
    return [text.strip() for text in flashes.all_inner_texts()]
