"""The geocoding core: address normalisation and batch semantics."""

from __future__ import annotations

import pytest

from app.geo.geocoding import (
    GeocodeFailure,
    GeocodeResult,
    GeocoderFailed,
    address_key,
    geocode_many,
    normalise,
)

SPOT = GeocodeResult(1.0, 2.0, "street", "script")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Rue Grimaldi, 12", "rue grimaldi 12"),
        ("  AVENUE  de l'Hôpital ", "avenue de l hopital"),
        ("Uudenmaankatu 1 - 5", "uudenmaankatu 1-5"),
        ("科苑路１２７８号", "科苑路1278号"),
    ],
)
def test_normalise_folds_case_accents_width_and_punctuation(raw: str, expected: str) -> None:
    """Spelling variants share one key; number ranges stay one word."""
    assert normalise(raw) == expected
    assert address_key(raw) == address_key(expected)


class Script:
    """Answers from a list of outcomes (a result, None, or an exception to raise)."""

    name = "script"

    def __init__(self, *steps: GeocodeResult | GeocoderFailed | None) -> None:
        self.steps = list(steps)
        self.calls: list[str] = []

    def geocode(self, address: str) -> GeocodeResult | None:
        self.calls.append(address)
        step = self.steps.pop(0)
        if isinstance(step, GeocoderFailed):
            raise step
        return step


def test_batch_asks_once_per_normalised_address() -> None:
    """Spelling variants in one batch cost one call and share the answer."""
    script = Script(SPOT)
    out = geocode_many(script, ["A st 1", "a ST, 1", "A st 1"])
    assert script.calls == ["A st 1"]
    assert out == {"A st 1": SPOT, "a ST, 1": SPOT}


def test_outage_stops_the_batch_but_a_bad_query_does_not() -> None:
    """A query error fails that address only; an outage fails the rest without calls."""
    script = Script(
        GeocoderFailed("rejected the query", stop_batch=False), SPOT, GeocoderFailed("down")
    )
    out = geocode_many(script, ["a", "b", "c", "d"])
    assert out["a"] == GeocodeFailure("rejected the query", transient=True)
    assert out["b"] == SPOT
    assert out["c"] == out["d"] == GeocodeFailure("down", transient=True)
    assert script.calls == ["a", "b", "c"]


def test_not_found_is_a_cacheable_failure_naming_the_provider() -> None:
    """None from the provider is "not found by <name>", not transient."""
    out = geocode_many(Script(None), ["x"])
    assert out["x"] == GeocodeFailure("address not found by script")
