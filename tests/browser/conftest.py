"""Browser tests: Playwright drives Debian's Chromium against a live server with the demo lab.

The server runs in a thread on its own SQLite database (committed data, unlike the rolled-back
unit tests), loaded with the full demo lab. ``playwright install`` cannot download browsers here,
so the system Chromium is used (``VELFERDSLAB_CHROMIUM`` overrides its path).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import build_app, migrate_to_head

CHROMIUM = os.environ.get("VELFERDSLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("VELFERDSLAB_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def live_app(tmp_root):
    """The app behind ``live_server`` (for a test that changes its data or settings mid-test)."""
    from velferdslab import demo
    from velferdslab.extensions import db

    app = build_app(f"sqlite:///{tmp_root / 'browser.sqlite3'}", SERVER_NAME=None)
    migrate_to_head(app)
    with app.app_context():
        demo.load(seed=2026, size=1)
        db.session.commit()
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    """Base URL of a running app with the demo lab loaded."""
    from velferdslab.extensions import db

    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="nb-NO")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


DEMO_PASSWORD = "velferdslab-demo"
DEMO_LOGINS = {
    "caseworker": "teammedlem@asker.demo.velferdslab.no",
    "team_lead": "investeringsleder@asker.demo.velferdslab.no",
    "manager": "leder@asker.demo.velferdslab.no",
    "admin": "admin@asker.demo.velferdslab.no",
}


def sign_in(page, role_or_email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real login page, as a demo role or an e-mail address."""
    email = DEMO_LOGINS.get(role_or_email, role_or_email)
    page.goto("/logg-inn")
    page.get_by_label("E-post").fill(email)
    page.get_by_label("Passord").fill(password)
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(lambda url: "/logg-inn" not in url)


def axe_serious(page) -> list[str]:
    """Serious or critical axe-core violations on the current page, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    problems = []
    for violation in results.response.get("violations", []):
        if violation.get("impact") in ("serious", "critical"):
            targets = [", ".join(node.get("target", [])) for node in violation.get("nodes", [])][:3]
            problems.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return problems


def screenshot(page, name: str) -> None:
    """With ``VELFERDSLAB_SCREENSHOTS=DIR`` set, save the page as DIR/NAME.png (docs/img/ holds the
    ones docs/cases.md shows: ``VELFERDSLAB_SCREENSHOTS=docs/img``)."""
    folder = os.environ.get("VELFERDSLAB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))
