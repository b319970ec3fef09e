"""Encoded polyline decoding, against Google's documented example."""

from __future__ import annotations

import pytest

from app.geo.polyline import decode


def test_decodes_the_documented_example() -> None:
    """Google's reference string decodes to its three published points."""
    points = decode("_p~iF~ps|U_ulLnnqC_mqNvxq`@")
    assert points == [(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]


def test_empty_and_truncated() -> None:
    """An empty polyline has no points; a truncated one is an error, not garbage."""
    assert decode("") == []
    with pytest.raises(ValueError, match="truncated"):
        decode("_p~iF~ps|U_ulL")
