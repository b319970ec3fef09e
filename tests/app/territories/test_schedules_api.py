"""/territories/{id}/schedules over HTTP, on both database backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.app.territories.conftest import KeyMaker, territory_body


def paths(response: Any) -> list[str]:
    return [d["path"] for d in response.json()["error"]["details"]]


def test_create_shows_the_next_three_fires_and_their_weeks(
    admin: TestClient, territory_id: str
) -> None:
    """Sunday 20:00 in the territory's zone: three coming Sundays, each planning the next day."""
    created = admin.post(f"/territories/{territory_id}/schedules", json={"cron": "0  20 * * sun"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["cron"], body["timezone"], body["enabled"]) == (
        "0 20 * * sun",
        "Asia/Shanghai",
        True,
    )
    assert body["territory_id"] == territory_id
    assert body["last_fire_at"] is None
    fires = body["next_fires"]
    assert len(fires) == 3
    times = [datetime.fromisoformat(f["fire_at"]) for f in fires]
    assert times == sorted(times)
    assert times[0] > datetime.fromisoformat(body["created_at"])
    for fire, at in zip(fires, times, strict=True):
        assert fire["fire_at"].endswith("+08:00")
        assert (at.weekday(), at.hour, at.minute) == (6, 20, 0)
        assert date.fromisoformat(fire["week_start"]) == at.date() + timedelta(days=1)
    assert times[1] - times[0] == timedelta(days=7)


def test_explicit_time_zone_is_kept(admin: TestClient, territory_id: str) -> None:
    """A schedule may use another zone than its territory (Berlin, with its own offset)."""
    body = {"cron": "30 18 * * fri", "timezone": "Europe/Berlin", "enabled": False}
    created = admin.post(f"/territories/{territory_id}/schedules", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["timezone"] == "Europe/Berlin"
    assert created.json()["next_fires"] == []  # disabled: nothing is coming


def test_bad_cron_and_time_zone_are_422_at_their_paths(
    admin: TestClient, territory_id: str
) -> None:
    """Every problem at once: ``cron`` and ``timezone`` each with a readable reason."""
    url = f"/territories/{territory_id}/schedules"
    both = admin.post(url, json={"cron": "0 20 * *", "timezone": "Mars/Olympus"})
    assert both.status_code == 422
    assert sorted(paths(both)) == ["cron", "timezone"]
    assert "5 fields" in both.text
    never = admin.post(url, json={"cron": "0 0 30 2 *"})
    assert (never.status_code, paths(never)) == (422, ["cron"])
    assert "never fires" in never.text
    assert paths(admin.post(url, json={"cron": "0 25 * * *"})) == ["cron"]
    assert paths(admin.post(url, json={})) == ["cron"]
    assert admin.get(url).json()["items"] == []  # nothing half-stored


def test_list_patch_and_delete(admin: TestClient, territory_id: str) -> None:
    """PATCH changes the rule and restarts the cursor, disables; DELETE removes it (404 after)."""
    url = f"/territories/{territory_id}/schedules"
    sid = admin.post(url, json={"cron": "0 20 * * sun"}).json()["id"]
    admin.post(url, json={"cron": "0 7 * * mon"})
    listed = admin.get(url).json()["items"]
    assert [s["cron"] for s in listed] == ["0 20 * * sun", "0 7 * * mon"]
    assert admin.get(f"{url}/{sid}").json()["id"] == sid

    patched = admin.patch(f"{url}/{sid}", json={"cron": "0 21 * * sat", "timezone": "UTC"})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["cron"], body["timezone"]) == ("0 21 * * sat", "UTC")
    assert body["last_fire_at"] is not None  # the new rule fires from now on only
    fires = [datetime.fromisoformat(f["fire_at"]) for f in body["next_fires"]]
    assert [(f.utcoffset(), f.weekday(), f.hour) for f in fires] == [(timedelta(0), 5, 21)] * 3

    off = admin.patch(f"{url}/{sid}", json={"enabled": False})
    assert (off.json()["enabled"], off.json()["next_fires"]) == (False, [])
    null = admin.patch(f"{url}/{sid}", json={"cron": None, "enabled": None})
    assert (null.status_code, sorted(paths(null))) == (422, ["cron", "enabled"])
    bad = admin.patch(f"{url}/{sid}", json={"timezone": "Nowhere/Else"})
    assert (bad.status_code, paths(bad)) == (422, ["timezone"])
    assert admin.get(f"{url}/{sid}").json()["timezone"] == "UTC"  # refused patch changed nothing

    assert admin.delete(f"{url}/{sid}").status_code == 204
    assert admin.get(f"{url}/{sid}").status_code == 404
    assert admin.delete(f"{url}/{sid}").status_code == 404
    assert len(admin.get(url).json()["items"]) == 1


def test_unknown_territory_or_foreign_schedule_is_404(admin: TestClient, territory_id: str) -> None:
    """Unknown territory for every verb; another territory's schedule is not found here."""
    for method in ("get", "post"):
        response = admin.request(
            method, "/territories/nope/schedules", json={"cron": "0 20 * * sun"}
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    sid = admin.post(
        f"/territories/{territory_id}/schedules", json={"cron": "0 20 * * sun"}
    ).json()["id"]
    other = admin.post("/territories", json=territory_body(name="Other")).json()["id"]
    assert admin.get(f"/territories/{other}/schedules/{sid}").status_code == 404
    assert (
        admin.patch(f"/territories/{other}/schedules/{sid}", json={"enabled": False}).status_code
        == 404
    )
    assert admin.delete(f"/territories/{other}/schedules/{sid}").status_code == 404
    huge = admin.get(f"/territories/{territory_id}/schedules/{2**63}")
    assert (huge.status_code, paths(huge)) == (422, ["schedule_id"])


def test_reads_need_a_key_and_writes_the_territory_scope(
    territory_settings: Settings, make_key: KeyMaker, admin: TestClient, territory_id: str
) -> None:
    """A read key lists schedules but cannot add one (403); no key at all is 401."""
    url = f"/territories/{territory_id}/schedules"
    with TestClient(create_app(territory_settings)) as client:
        assert client.get(url).status_code == 401
        client.headers["Authorization"] = f"Bearer {make_key('read')}"
        assert client.get(url).status_code == 200
        assert client.post(url, json={"cron": "0 20 * * sun"}).status_code == 403
