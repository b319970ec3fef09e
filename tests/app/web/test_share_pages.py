"""GET /s/{token} (HTML) and /s/{token}.ics through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.plans.share_tokens import hash_token
from models import ShareLink
from tests.app.web.shared import (
    CHINESE_ADDRESS,
    CHINESE_NAME,
    IMG_XSS,
    SCRIPT_XSS,
    hostile_body,
    token_of,
)

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _plan(client: TestClient) -> tuple[dict[str, Any], str]:
    response = client.post("/plan", json=hostile_body())
    assert response.status_code == 201, response.text
    body = response.json()
    return body, token_of(body["share_url"])


def _hhmm(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%H:%M")


def _links(settings: Settings) -> list[ShareLink]:
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(ShareLink)))
    engine.dispose()
    return rows


def _expire_all(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        session.execute(update(ShareLink).values(expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
        session.commit()
    engine.dispose()


def test_page_lists_every_stop_with_its_times(client: TestClient) -> None:
    """The page shows each stored stop's name, arrival and visit times, in order, per day."""
    body, token = _plan(client)
    page = client.get(f"/s/{token}", headers={"Authorization": ""})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for day in body["days"]:
        section = html.split(f'id="day-{day["date"]}-', 1)[1].split("</section>", 1)[0]
        names = re.findall(r'<h3 class="name">(.*?)</h3>', section)
        assert len(names) == len(day["stops"])
        starts = re.findall(r'<time class="start">(\d\d:\d\d)</time>', section)
        ends = re.findall(r'<time class="end">(\d\d:\d\d)</time>', section)
        assert starts == [_hhmm(s["start"]) for s in day["stops"]]
        assert ends == [_hhmm(s["end"]) for s in day["stops"]]
        assert f'<span class="area">{day["area"]}</span>' in section
    assert CHINESE_NAME in html
    assert CHINESE_ADDRESS in html
    assert f'<td id="summary-visits">{body["summary"]["visits"]}</td>' in html


def test_hostile_names_are_escaped_in_html_and_json(client: TestClient) -> None:
    """Markup in customer names reaches the page only as text, in the list and the map data."""
    _, token = _plan(client)
    html = client.get(f"/s/{token}").text
    assert IMG_XSS not in html
    assert SCRIPT_XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # Exactly one </script> per script element: the JSON block cannot be closed from inside.
    assert html.count("</script>") == html.count("<script")
    data = html.split('<script type="application/json" id="plan-data">', 1)[1]
    config = json.loads(data.split("</script>", 1)[0])
    names = {stop[3] for day in config["days"].values() for stop in day["stops"]}
    assert {IMG_XSS, SCRIPT_XSS} <= names


def test_page_headers_forbid_indexing_referrers_and_inline_script(client: TestClient) -> None:
    """Share pages send noindex, no-referrer and a CSP allowing only same-origin scripts."""
    _, token = _plan(client)
    page = client.get(f"/s/{token}")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    assert "https://tile.openstreetmap.org" in csp
    assert page.headers["x-robots-tag"].startswith("noindex")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # every script is external or JSON data


def test_tokens_are_stored_only_hashed(client: TestClient, app_settings: Settings) -> None:
    """The database holds sha256(token), never the token; the page finds the link by hash."""
    _, token = _plan(client)
    links = _links(app_settings)
    assert len(links) == 1
    assert links[0].token_hash == hash_token(token)
    assert token not in {links[0].token_hash, links[0].nonce}
    assert len(token) >= 43  # 256-bit HMAC output, from a 128-bit random nonce


def test_language_from_query_then_accept_language(client: TestClient) -> None:
    """?lang= wins over Accept-Language; zh-CN gets Chinese, anything else English."""
    _, token = _plan(client)
    zh = client.get(f"/s/{token}", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "拜访行程" in zh.text
    assert '<html lang="zh-CN">' in zh.text
    en = client.get(f"/s/{token}?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Visit itinerary" in en.text
    assert "拜访行程" not in en.text
    assert "Visit itinerary" in client.get(f"/s/{token}").text


def test_unknown_token_is_a_404_page_for_browsers_and_json_for_others(
    client: TestClient,
) -> None:
    """An unknown token: 404 with the friendly page for a browser, the JSON error otherwise."""
    page = client.get("/s/not-a-token", headers=BROWSER)
    assert page.status_code == 404
    assert "Itinerary not found" in page.text
    assert page.headers["x-robots-tag"].startswith("noindex")
    api = client.get("/s/not-a-token.ics")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_expired_link_is_a_410_page(client: TestClient, app_settings: Settings) -> None:
    """A link past its expiry answers 410 with a friendly page, the calendar too."""
    _, token = _plan(client)
    _expire_all(app_settings)
    page = client.get(f"/s/{token}?lang=zh", headers=BROWSER)
    assert page.status_code == 410
    assert "此链接已失效" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get(f"/s/{token}.ics").json()["error"]["code"] == "gone"


def test_calendar_round_trips_visit_times(client: TestClient) -> None:
    """The .ics parses with icalendar: one event per visit, same start/end instants, location."""
    body, token = _plan(client)
    response = client.get(f"/s/{token}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    stops = [s for d in body["days"] for s in d["stops"]]
    assert len(events) == len(stops)
    by_start = {e.decoded("dtstart"): e for e in events}
    for stop in stops:
        event = by_start[datetime.fromisoformat(stop["start"])]
        assert event.decoded("dtend") == datetime.fromisoformat(stop["end"])
        assert stop["name"] in str(event["summary"])
        assert stop["purpose"] in str(event["description"])
        travel = event["x-apple-travel-duration"]
        assert isinstance(travel, icalendar.vDDDTypes)
        assert travel.dt == timedelta(minutes=round(stop["travel_minutes"]))
    located = [e for e in events if CHINESE_NAME in str(e["summary"])]
    assert located
    assert CHINESE_ADDRESS in str(located[0]["location"])


def test_calendar_for_one_day(client: TestClient) -> None:
    """?date= keeps that day's visits only; a date outside the plan or malformed is a 422."""
    body, token = _plan(client)
    day = body["days"][0]
    same_date = sum(len(d["stops"]) for d in body["days"] if d["date"] == day["date"])
    response = client.get(f"/s/{token}.ics", params={"date": day["date"]})
    events = list(icalendar.Calendar.from_ical(response.content).walk("VEVENT"))
    assert len(events) == same_date
    outside = client.get(f"/s/{token}.ics", params={"date": "2030-01-01"})
    assert outside.status_code == 422
    assert outside.json()["error"]["details"][0]["path"] == "date"
    malformed = client.get(f"/s/{token}.ics", params={"date": "7 Dec"})
    assert malformed.status_code == 422


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("share.js", 200),
        ("leaflet/leaflet.js", 200),
        ("leaflet/images/layers.png", 200),
        ("../templates/share.html", 404),
        ("leaflet/LICENSE", 404),
    ],
)
def test_static_assets_are_served_from_the_package_only(
    client: TestClient, path: str, status: int
) -> None:
    """Vendored assets are served (no CDN); nothing outside static/ or of another type is."""
    assert client.get(f"/static/share/{path}").status_code == status
