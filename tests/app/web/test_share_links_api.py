"""POST /plans/{id}/share and DELETE /shares/{token}: several links per plan, revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.app.factories import plan_body
from tests.app.web.shared import token_of


def _plan_id(client: TestClient) -> tuple[str, str]:
    body = client.post("/plan", json=plan_body()).json()
    return body["plan_id"], body["share_url"]


def test_plan_response_and_get_show_the_same_working_link(client: TestClient) -> None:
    """POST /plan's share_url opens the page, and GET /plans/{id} re-derives the same URL."""
    plan_id, url = _plan_id(client)
    assert client.get(f"/plans/{plan_id}").json()["share_url"] == url
    assert client.get(f"/s/{token_of(url)}").status_code == 200


def test_several_links_per_plan_with_expiry(client: TestClient) -> None:
    """Each POST makes a new working link; the plan's share_url becomes the newest one."""
    plan_id, first = _plan_id(client)
    response = client.post(f"/plans/{plan_id}/share", json={"expires_in_days": 2})
    assert response.status_code == 201, response.text
    second = response.json()
    assert second["share_url"] != first
    expires = datetime.fromisoformat(second["expires_at"])
    assert (
        timedelta(days=2) - timedelta(minutes=1) < expires - datetime.now(UTC) <= timedelta(days=2)
    )
    at = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    third = client.post(f"/plans/{plan_id}/share", json={"expires_at": at.isoformat()}).json()
    assert datetime.fromisoformat(third["expires_at"]) == at
    for url in (first, second["share_url"], third["share_url"]):
        assert client.get(f"/s/{token_of(url)}").status_code == 200
    assert client.get(f"/plans/{plan_id}").json()["share_url"] == third["share_url"]


def test_share_requests_are_validated(client: TestClient) -> None:
    """Both expiries, a past expiry or a bad type are 422 with a path; unknown plans 404."""
    plan_id, _ = _plan_id(client)
    both = client.post(
        f"/plans/{plan_id}/share",
        json={"expires_in_days": 1, "expires_at": "2030-01-01T00:00:00Z"},
    )
    assert both.status_code == 422
    past = client.post(f"/plans/{plan_id}/share", json={"expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422
    assert past.json()["error"]["details"][0]["path"] == "body.expires_at"
    bad = client.post(f"/plans/{plan_id}/share", json={"expires_in_days": 0})
    assert bad.status_code == 422
    assert "expires_in_days" in bad.json()["error"]["details"][0]["path"]
    assert client.post("/plans/nope/share").status_code == 404


def test_link_management_needs_an_api_key(client: TestClient) -> None:
    """Creating and revoking links need the API key; the page itself does not."""
    plan_id, url = _plan_id(client)
    anonymous = {"Authorization": ""}
    assert client.post(f"/plans/{plan_id}/share", headers=anonymous).status_code == 401
    assert client.delete(f"/shares/{token_of(url)}", headers=anonymous).status_code == 401
    assert client.get(f"/s/{token_of(url)}", headers=anonymous).status_code == 200


def test_revoked_link_answers_410_and_others_keep_working(client: TestClient) -> None:
    """DELETE revokes one link (idempotently): its page, even cached, is 410; others live."""
    plan_id, first = _plan_id(client)
    second = client.post(f"/plans/{plan_id}/share").json()["share_url"]
    assert client.get(f"/s/{token_of(second)}").status_code == 200  # now a cached page
    assert client.delete(f"/shares/{token_of(second)}").status_code == 204
    assert client.delete(f"/shares/{token_of(second)}").status_code == 204
    gone = client.get(f"/s/{token_of(second)}", headers={"Accept": "text/html"})
    assert gone.status_code == 410
    assert "This link no longer works" in gone.text
    assert client.get(f"/s/{token_of(first)}").status_code == 200
    assert client.get(f"/plans/{plan_id}").json()["share_url"] == first
    assert client.delete("/shares/unknown").status_code == 404
