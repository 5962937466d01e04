"""The admin console in a real browser: Chromium (the Debian package, never a downloaded
one) driven by Playwright's sync API against a real `email-security serve` process.

One server per test session and xdist worker, one browser per test module (see `browser`),
a new browser context and a new account per test. Every test is watched by `console`: a
request to another origin, an error in the page's console, an uncaught exception, a
JavaScript alert or an HTTP error the test did not declare fails it at teardown.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from email_security.console.manifest import console_manifest
from email_security.kit.db import Database
from email_security.resources import RESOURCES
from tests.npm import npm_ci
from tests.resources.cases import CASES
from tests.server_process import ServerProcess
from tests.support import Account, new_account

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the `browser` fixture skips, saying so
    sync_playwright = None
    expect = None
    PlaywrightError = Exception

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(__file__).resolve().parent  # package.json: axe-core, pinned
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE_RESULTS = ROOT / "var" / "axe-results.json"
VIEWPORT = {"width": 1280, "height": 800}
# Actions and assertions wait this long (ms) at most: a missing control fails fast.
TIMEOUT = 8_000

GROUPS = {group["name"]: group for group in console_manifest()["groups"]}
LABELS = {resource.name: resource.label for resource in RESOURCES}
RESOURCE = {resource.name: resource for resource in RESOURCES}
CASES_BY_NAME = {case.name: case for case in CASES}
# The pages beside the groups, and their navigation labels (the contract).
PAGES = {"audit_log": "Audit log", "tester": "Message tester"}
SETTINGS = "/client/v4/accounts/{account}/email-security"
FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


# --- the server ---------------------------------------------------------------------------


@dataclass
class ConsoleServer:
    base_url: str
    database: Database


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """`email-security serve` on a new SQLite file (serve migrates it). Hits are written
    every second, so that an evaluation's hits show in the console's table."""
    folder = tmp_path_factory.mktemp("console-server")
    url = f"sqlite:///{folder / 'email-security.db'}"
    server = ServerProcess(
        url, folder / "server.log", env={"EMAIL_SECURITY_HIT_FLUSH_SECONDS": "1"}
    )
    base_url = server.start()
    database = Database(url)
    try:
        yield ConsoleServer(base_url, database)
    finally:
        database.dispose()
        server.stop()


# --- the HTTP API, to seed entries and to check what the console stored -----------------


class Http:
    """The API as the console's account sees it, with one of its tokens."""

    def __init__(self, base_url: str, account_id: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=base_url + SETTINGS.format(account=account_id),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def close(self) -> None:
        self.client.close()

    def ok(self, response: httpx.Response) -> Any:
        assert response.is_success, f"{response.request.method} {response.request.url}: " + (
            response.text
        )
        return response.json()["result"]

    def create(self, group: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.client.post(f"/settings/{group}", json=body))

    def create_many(self, group: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "posts" in RESOURCE[group].batch_operations:
            batch = {"deletes": [], "patches": [], "puts": [], "posts": bodies}
            return self.ok(self.client.post(f"/settings/{group}/batch", json=batch))["posts"]
        return [self.create(group, body) for body in bodies]

    def get(self, group: str, entry_id: str) -> dict[str, Any]:
        return self.ok(self.client.get(f"/settings/{group}/{entry_id}"))

    def exists(self, group: str, entry_id: str) -> bool:
        response = self.client.get(f"/settings/{group}/{entry_id}")
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200

    def patch(self, group: str, entry_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.client.patch(f"/settings/{group}/{entry_id}", json=body))

    def entries(self, group: str, **params: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ok(
            self.client.get(f"/settings/{group}", params={"per_page": 1000, **params})
        )
        return result

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ok(self.client.get("/audit_log", params=params))
        return result

    def evaluate(self, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(self.client.post("/evaluate", json=body, params=params))
        return result


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, one per test module: Playwright's sync API marks an asyncio loop as
    running in this thread for as long as it lives, which would break `asyncio.run` in the
    other tests an xdist worker runs (the async SDK's); a module's tests run in a row."""
    if sync_playwright is None:
        pytest.skip("the console tests need the playwright package (pip install -e '.[dev]')")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"the console tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Guard:
    """What a test's pages did that no test may let pass: kept, then checked at teardown."""

    origin: str
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    http_errors: list[tuple[int, str]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    # HTTP error statuses the test provokes on purpose (a refused sign-in, a bad pattern).
    allowed: set[int] = field(default_factory=set)

    def route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if origin_of(url) != self.origin:
            self.foreign.append(url)
            route.abort()
        else:
            route.continue_()

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def response(self, response: Any) -> None:
        if response.status >= 400:
            self.http_errors.append((response.status, response.url))

    def dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def problems(self) -> list[str]:
        found = [f"request to another origin: {url}" for url in self.foreign]
        for text in self.errors:
            expected = FAILED_LOAD.match(text)
            if not (expected and int(expected.group(1)) in self.allowed):
                found.append(f"console error: {text}")
        found += [
            f"unexpected HTTP {status}: {url}"
            for status, url in self.http_errors
            if status not in self.allowed
        ]
        found += [f"JavaScript dialog: {text}" for text in self.dialogs]
        return found


def origin_of(url: str) -> str:
    if url.startswith("blob:"):
        url = url.removeprefix("blob:")
    elif url.startswith(("data:", "about:")):
        return "local"  # no request leaves the page
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Console:
    """One test's browser context, signed in (or not) to a new account."""

    def __init__(self, context: BrowserContext, server: ConsoleServer, account: Account) -> None:
        self.context = context
        self.server = server
        self.base_url = server.base_url
        self.account = account
        self.guard = Guard(origin_of(server.base_url))
        self.api = Http(server.base_url, account.id, account.token)
        context.route("**/*", self.guard.route)
        self.page = self.new_page()

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self.guard.console)
        page.on("pageerror", lambda error: self.guard.errors.append(f"page error: {error}"))
        page.on("response", self.guard.response)
        page.on("dialog", self.guard.dialog)
        return page

    def url(self, route: str = "") -> str:
        return f"{self.base_url}/console/" + (f"#/{route}" if route else "")

    def open(self, route: str = "") -> Page:
        self.page.goto(self.url(route))
        return self.page

    def sign_in(self, token: str | None = None, route: str = "") -> Page:
        """Through the sign-in form, then (if given) to `#/<route>`, loaded."""
        page = self.open()
        page.get_by_label("Account ID", exact=True).fill(self.account.id)
        page.get_by_label("API token", exact=True).fill(token or self.account.token)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
        if route:
            self.go(route)
        return page

    def go(self, route: str) -> Page:
        """To `#/<route>`, waiting until the page is drawn (its heading and no Loading…)."""
        page = self.page
        page.goto(self.url(route))
        name = route.split("/")[0].split("?")[0]
        label = LABELS.get(name) or PAGES.get(name)
        if label:
            expect(page.get_by_role("heading", level=1)).to_have_text(label)
        settled(page)
        return page

    def problems(self) -> list[str]:
        return self.guard.problems()


def settled(page: Page) -> None:
    """Nothing is loading any more."""
    expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)


@pytest.fixture
def console(browser: Browser, console_server: ConsoleServer) -> Iterator[Console]:
    """A new account and a new browser context at 1280×800 (UTC, en-US), checked at the end
    for requests to other origins, console errors, page errors and undeclared HTTP errors."""
    account = new_account(console_server.database)
    context = browser.new_context(
        viewport=VIEWPORT, timezone_id="UTC", locale="en-US", accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT)
    session = Console(context, console_server, account)
    try:
        yield session
        problems = session.problems()
        assert not problems, "the console misbehaved:\n" + "\n".join(problems)
    finally:
        context.close()
        session.api.close()


@pytest.fixture(autouse=True, scope="session")
def _expect_timeout() -> None:
    if expect is not None:
        expect.set_options(timeout=TIMEOUT)


# --- what tests share -------------------------------------------------------------------


def entry_form(page: Page) -> Locator:
    """The form that edits an entry (in a dialog or a section): the one with "Save"."""
    return page.locator("form").filter(has=page.get_by_role("button", name="Save", exact=True))


def rows(page: Page) -> Locator:
    return page.locator("main table tbody tr")


def row_of(page: Page, text: str) -> Locator:
    return rows(page).filter(has_text=text)


def confirm(page: Page, button: str) -> None:
    """Answers the open confirmation `dialog` with its `button` (Delete, Revert)."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def choose(select: Locator, pattern: str) -> str:
    """Selects the first option whose text or value matches `pattern` (ignoring case)."""
    options = select.locator("option").evaluate_all(
        "options => options.map(o => [o.value, o.textContent.trim()])"
    )
    wanted = re.compile(pattern, re.IGNORECASE)
    for value, text in options:
        if wanted.search(text) or wanted.search(value):
            select.select_option(value=value)
            return str(value)
    raise AssertionError(f"no option matches {pattern!r}: {options}")


def set_field(form: Locator, field_: dict[str, Any], value: Any) -> None:
    """One field of the manifest set to `value` as a person would: its control is found by
    the field's label, its kind says how to set it."""
    label, kind = field_["label"], field_["kind"]
    if kind == "choices":
        group = form.get_by_role("group", name=label, exact=True)
        for choice in field_["choices"]:
            group.get_by_label(choice, exact=True).set_checked(choice in value)
        return
    control = form.get_by_label(label, exact=True)
    tag = control.evaluate("element => element.tagName.toLowerCase()")
    if kind == "boolean":
        if tag == "select":
            choose(control, "^yes$" if value else "^no$")
        else:
            control.set_checked(bool(value))
    elif kind == "choice":
        if tag == "select":
            choose(control, f"^{re.escape(value)}$" if value is not None else "^(none)?$")
        else:
            form.get_by_role("radio", name=value, exact=True).check()
    elif kind == "lines":
        control.fill("\n".join(value))
    elif kind == "instant":
        control.fill(value or "")
    else:
        control.fill("" if value is None else str(value))


def fill_form(form: Locator, group: str, values: dict[str, Any]) -> None:
    fields = {field_["name"]: field_ for field_ in GROUPS[group]["fields"]}
    for name, value in values.items():
        set_field(form, fields[name], value)


def eventually(check: Callable[[], Any], timeout: float = 8.0) -> Any:
    """Retries `check` (a bool or an assertion) until it holds: an API state after a save."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result is not False:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{check} never held")
        time.sleep(0.1)


def screenshot(page: Page, name: str) -> Path:
    """var/screenshots/console-<name>.png, the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- axe-core -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser build, from tests/console/node_modules (`npm ci`)."""
    npm_ci(PACKAGE, "the console's accessibility tests (axe-core)")
    return (PACKAGE / "node_modules" / "axe-core" / "axe.min.js").read_text()


SERIOUS = ("serious", "critical")


def run_axe(page: Page, source: str, name: str | None) -> list[dict[str, Any]]:
    """axe-core on the page as it is; every violation recorded in var/axe-results.json
    under `name` (unless None); answers the serious and critical ones. The source goes in
    through the devtools protocol (page.evaluate): the page's CSP refuses inline scripts."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    results = page.evaluate(
        """async () => {
            const found = await axe.run(document, { resultTypes: ["violations"] });
            return found.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")),
            }));
        }"""
    )
    if name is not None:
        record_axe(name, results)
    return [violation for violation in results if violation["impact"] in SERIOUS]


def record_axe(name: str, violations: list[dict[str, Any]]) -> None:
    AXE_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with (AXE_RESULTS.parent / ".axe-results.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            recorded = json.loads(AXE_RESULTS.read_text())
        except (OSError, ValueError):
            recorded = {}
        recorded[name] = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "violations": violations}
        AXE_RESULTS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'][:5])}" for v in violations
    )
