"""Request validation errors become the contract's 422 JSON with readable paths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, ValidationError

from app.errors import ErrorDetail
from app.validation import error_path, install_validation_handler, validation_error_details


class Point(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Thing(BaseModel):
    name: str = Field(max_length=10)
    points: list[Point] = Field(default_factory=list)
    hours: dict[Literal["mon", "tue"], int] = Field(default_factory=dict)


NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"
TOO_LONG = "String should have at most 10 characters"


def small_app() -> FastAPI:
    """A throwaway app with one body route and one query parameter."""
    app = FastAPI()
    install_validation_handler(app)

    @app.post("/things")
    def create(thing: Thing, limit: int = 10) -> dict[str, Any]:
        return {"name": thing.name, "limit": limit}

    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(small_app()) as test_client:
        yield test_client


def errors_of(data: Any) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        Thing.model_validate(data)
    return list(caught.value.errors())


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "customers", 3, "lat"), "customers[3].lat"),
        (("query", "limit"), "limit"),
        (("path", "plan_id"), "plan_id"),
        (("customers", 0, "opening_hours", "mon", 1, 0), "customers[0].opening_hours.mon[1][0]"),
        (("customers", 2, "opening_hours", "funday", "[key]"), "customers[2].opening_hours.funday"),
        (("body",), "body"),
        ((), "body"),
        (["body", "reps", 0, "id"], "reps[0].id"),
    ],
)
def test_error_path(loc: tuple[int | str, ...], path: str) -> None:
    """Locations read like ``customers[3].lat``: no source prefix, indexes in brackets."""
    assert error_path(loc) == path


def test_details_from_pydantic_errors() -> None:
    """Pydantic errors become path + message, repeating a short bad value."""
    details = validation_error_details(
        errors_of({"name": "ok", "points": [{"lat": 1, "lon": 2}, {"lat": "north", "lon": 200}]})
    )
    assert details == [
        ErrorDetail(
            "points[1].lat",
            'Input should be a valid number, unable to parse string as a number, got "north"',
        ),
        ErrorDetail("points[1].lon", "Input should be less than or equal to 180, got 200"),
    ]


def test_long_values_and_missing_fields_are_not_repeated() -> None:
    """A long bad value is not echoed back, nor the parent object of a missing field."""
    details = validation_error_details(errors_of({"name": "n" * 500, "points": [{"lat": 1}]}))
    assert details == [
        ErrorDetail("name", "String should have at most 10 characters"),
        ErrorDetail("points[0].lon", "Field required"),
    ]


def test_dict_key_error_points_at_the_key() -> None:
    """A bad dict key is reported at ``.key``, without pydantic's ``[key]`` marker."""
    details = validation_error_details(errors_of({"name": "x", "hours": {"sun": 1}}))
    assert [d.path for d in details] == ["hours.sun"]


def test_handler_answers_422_with_every_problem(client: TestClient) -> None:
    """The handler answers 422 in the contract shape, listing body and query problems."""
    response = client.post(
        "/things?limit=many", json={"name": "x" * 11, "points": [{"lat": 91, "lon": 0}]}
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "Request validation failed: 3 problems",
            "details": [
                {"path": "limit", "message": f'{NOT_AN_INTEGER}, got "many"'},
                {"path": "name", "message": f'{TOO_LONG}, got "xxxxxxxxxxx"'},
                {
                    "path": "points[0].lat",
                    "message": "Input should be less than or equal to 90, got 91",
                },
            ],
        }
    }


def test_valid_request_passes(client: TestClient) -> None:
    """A valid request is untouched by the handler."""
    response = client.post("/things?limit=3", json={"name": "ok"})
    assert response.status_code == 200
    assert response.json() == {"name": "ok", "limit": 3}


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        ('{"name": ', "application/json", "Request body is not valid JSON: Expecting value"),
        ("name=x", "text/plain", "Request body must be JSON (Content-Type: application/json)"),
        ("", "application/json", "Request body is required"),
    ],
)
def test_unusable_body_is_422_at_body(
    client: TestClient, content: str, content_type: str, message: str
) -> None:
    """A body that is not JSON, not declared JSON, or absent answers 422 at path ``body``."""
    response = client.post("/things", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "Request validation failed: 1 problem"
    assert error["details"] == [{"path": "body", "message": message}]
