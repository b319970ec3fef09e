"""Language negotiation and date labels of the share page."""

from __future__ import annotations

from datetime import date

import pytest

from app.web.i18n import day_label, negotiate


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        (None, None, "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "en-GB,en;q=0.9,zh-CN;q=0.8", "en"),
        (None, "fr-FR, zh-TW;q=0.7, en;q=0.5", "zh"),
        (None, "en;q=0.2, zh;q=0.9", "zh"),
        (None, "zh;q=0, en;q=0.1", "en"),
        (None, "de-DE", "en"),
        ("zh", "en", "zh"),
        ("en", "zh-CN", "en"),
        ("xx", "zh-CN", "zh"),
    ],
)
def test_negotiate(query: str | None, header: str | None, expected: str) -> None:
    """?lang= wins; else the highest-quality language we speak; else English."""
    assert negotiate(query, header) == expected


def test_day_labels() -> None:
    """Tabs read 'Mon 7 Dec' in English and '12月7日 周一' in Chinese."""
    assert day_label(date(2026, 12, 7), "en") == "Mon 7 Dec"
    assert day_label(date(2026, 12, 7), "zh") == "12月7日 周一"
