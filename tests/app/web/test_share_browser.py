"""The share page in a real browser: Debian's Chromium at a phone viewport, via Playwright.

The app runs under uvicorn on a free loopback port; map tiles point at a closed loopback port,
so the page is checked the way a rep with no data connection for tiles would see it.
Screenshots are saved under var/screenshots/ (paths printed; run with -s to see them).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.config import Settings
from app.main import create_app
from tests.app.web.shared import CHINESE_NAME, IMG_XSS, SCRIPT_XSS, hostile_body, token_of

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason + " (run scripts/install-chromium.sh; on CI this fails)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The app under uvicorn on 127.0.0.1 with one stored plan: (base URL, plan body)."""
    db = tmp_path_factory.mktemp("browser") / "vp.db"
    shutil.copyfile(sqlite_template, db)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        public_base_url=base,
        require_api_key=False,
        solver_processes=0,
        share_tile_url=f"http://127.0.0.1:{_free_port()}/{{z}}/{{x}}/{{y}}.png",
        json_logs=False,
        log_level="WARNING",
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        response = httpx.post(f"{base}/plan", json=hostile_body(), timeout=60)
        assert response.status_code == 201, response.text
        yield base, response.json()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh page at 390x844 (an iPhone 12-14 viewport) that records dialogs and CSP errors."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.dialogs = []
    page.console_errors = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on(
        "console",
        lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    yield page
    context.close()


def _screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"screenshot: {path}")
    return path


def _hhmm(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%H:%M")


def _visible_stops(page: Any) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = page.eval_on_selector_all(
        ".day.active .stop",
        """els => els.map(e => ({
            name: e.querySelector('.name').textContent,
            start: e.querySelector('time.start').textContent,
            end: e.querySelector('time.end').textContent,
            arrival: e.querySelector('.arrival time').textContent}))""",
    )
    return rows


def test_phone_page_shows_the_first_day_as_stored(
    live_server: tuple[str, dict[str, Any]], phone: Any
) -> None:
    """At 390x844 the active day lists the stored stops with their times, markers drawn."""
    base, plan = live_server
    phone.goto(f"{base}/s/{token_of(plan['share_url'])}")
    phone.wait_for_selector(".day.active .stop-marker")
    day = plan["days"][0]
    expected = [
        {
            "name": s["name"],
            "start": _hhmm(s["start"]),
            "end": _hhmm(s["end"]),
            "arrival": _hhmm(s["arrival"]),
        }
        for s in day["stops"]
    ]
    assert _visible_stops(phone) == expected
    assert phone.locator(".day.active .stop-marker").count() == len(day["stops"])
    assert phone.locator(".day:not(.active)").first.is_hidden()
    # The page fits the phone: nothing scrolls sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not [e for e in phone.console_errors if "Content Security Policy" in e]
    _screenshot(phone, "share-phone-day1")


def test_tapping_a_tab_switches_day(live_server: tuple[str, dict[str, Any]], phone: Any) -> None:
    """Tapping another day's tab shows that day's stops and hides the first day."""
    base, plan = live_server
    phone.goto(f"{base}/s/{token_of(plan['share_url'])}")
    tabs = phone.locator(".tab")
    assert tabs.count() == len(plan["days"])
    tabs.nth(1).tap()
    second = plan["days"][1]
    assert phone.locator(".tab").nth(1).get_attribute("aria-selected") == "true"
    assert [s["name"] for s in _visible_stops(phone)] == [s["name"] for s in second["stops"]]
    assert phone.locator(".day").first.is_hidden()
    phone.wait_for_selector(".day.active .stop-marker")
    _screenshot(phone, "share-phone-day2")


def test_navigate_link_opens_directions_to_the_stop(
    live_server: tuple[str, dict[str, Any]], phone: Any
) -> None:
    """The first stop's Google Maps button opens directions to that stop's coordinates."""
    base, plan = live_server
    stop = plan["days"][0]["stops"][0]
    # No traffic leaves the machine: the maps site is answered by a stub.
    phone.context.route(
        "https://www.google.com/**", lambda route: route.fulfill(body="maps", status=200)
    )
    phone.goto(f"{base}/s/{token_of(plan['share_url'])}")
    with phone.expect_popup() as popup_info:
        phone.locator(".day.active .stop").first.locator("a.nav-google").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url.startswith("https://www.google.com/maps/dir/?api=1&destination=")
    assert f"{stop['lat']:.6f}%2C{stop['lon']:.6f}" in popup.url


def test_hostile_names_render_as_text_and_chinese_renders(
    live_server: tuple[str, dict[str, Any]], phone: Any
) -> None:
    """Markup in names shows literally, runs nothing (no dialog), and Chinese text renders."""
    base, plan = live_server
    phone.goto(f"{base}/s/{token_of(plan['share_url'])}?lang=zh")
    phone.wait_for_load_state("load")
    names = phone.eval_on_selector_all(".name", "els => els.map(e => e.textContent)")
    assert IMG_XSS in names
    assert SCRIPT_XSS in names
    assert CHINESE_NAME in names
    assert phone.locator("img[src='x']").count() == 0
    for tab in range(phone.locator(".tab").count()):
        phone.locator(".tab").nth(tab).click()
    phone.wait_for_timeout(300)
    assert phone.dialogs == []
    assert "拜访行程" in phone.title()
    day_with_chinese = next(
        i for i, d in enumerate(plan["days"]) if any(s["name"] == CHINESE_NAME for s in d["stops"])
    )
    phone.locator(".tab").nth(day_with_chinese).click()
    phone.get_by_text(CHINESE_NAME).scroll_into_view_if_needed()
    _screenshot(phone, "share-phone-zh")


def test_revoked_link_shows_the_gone_page(
    live_server: tuple[str, dict[str, Any]], phone: Any
) -> None:
    """After DELETE /shares/{token} the browser gets the friendly 410 page."""
    base, plan = live_server
    extra = httpx.post(f"{base}/plans/{plan['plan_id']}/share", timeout=10).json()["share_url"]
    assert httpx.delete(f"{base}/shares/{token_of(extra)}", timeout=10).status_code == 204
    response = phone.goto(extra)
    assert response.status == 410
    assert phone.locator("h1").text_content() == "This link no longer works"


def test_tapping_done_then_confirm_records_the_outcome(
    live_server: tuple[str, dict[str, Any]], phone: Any
) -> None:
    """Done asks for confirmation; Confirm records it (the API lists it) and the stop shows
    done at once and after a reload. Back in between records nothing."""
    base, plan = live_server
    url = f"{base}/s/{token_of(plan['share_url'])}"
    stop = plan["days"][0]["stops"][1]
    outcomes_url = f"{base}/plans/{plan['plan_id']}/outcomes"
    phone.goto(url)
    card = phone.locator(f".day.active .stop[data-customer='{stop['customer_id']}']")
    card.locator(".outcome-button-done").tap()
    assert card.locator(".confirm").is_visible()
    card.locator(".confirm-no").tap()
    assert card.locator(".outcome-button-done").is_visible()
    assert httpx.get(outcomes_url, timeout=10).json()["outcomes"] == []

    card.locator(".outcome-button-done").tap()
    assert card.locator(".confirm-label").text_content() == "Done"
    card.locator(".confirm-yes").tap()
    phone.wait_for_selector(
        f".day.active .stop.outcome-done[data-customer='{stop['customer_id']}']"
    )
    assert card.locator(".outcome-status").text_content() == "Done"
    assert card.locator(".outcome").is_visible()
    listed = httpx.get(outcomes_url, timeout=10).json()["outcomes"]
    assert [(o["customer_id"], o["status"], o["source"]) for o in listed] == [
        (stop["customer_id"], "done", "share")
    ]
    _screenshot(phone, "share-phone-outcome-done")

    phone.reload()
    reloaded = phone.locator(f".day.active .stop[data-customer='{stop['customer_id']}']")
    assert "outcome-done" in (reloaded.get_attribute("class") or "")
    assert reloaded.locator(".outcome-status").text_content() == "Done"
    assert phone.locator(".day.active .stop.outcome-done").count() == 1
    assert not [e for e in phone.console_errors if "Content Security Policy" in e]
