"""The rendered-page cache: bounded, and never serving yesterday's opening tab."""

from __future__ import annotations

from datetime import UTC, datetime

from app.web.cache import CachedPage, PageCache


def test_entries_expire_when_the_plan_local_day_changes() -> None:
    """A page rendered on 7 Dec in Shanghai is reused that day only (16:00 UTC is the 8th)."""
    cache = PageCache()
    cache.put(("p", "en", "h"), CachedPage("Asia/Shanghai", "2026-12-07", "<html>"))
    assert cache.get(("p", "en", "h"), datetime(2026, 12, 7, 15, 59, tzinfo=UTC)) == "<html>"
    assert cache.get(("p", "en", "h"), datetime(2026, 12, 7, 16, 0, tzinfo=UTC)) is None
    assert cache.get(("p", "zh", "h"), datetime(2026, 12, 7, 1, 0, tzinfo=UTC)) is None


def test_least_recently_used_pages_are_evicted_first() -> None:
    """Beyond max_entries the page used longest ago goes; a read counts as a use."""
    cache = PageCache(max_entries=2)
    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    for name in ("a", "b"):
        cache.put((name, "en", "h"), CachedPage("UTC", "2026-12-07", name))
    assert cache.get(("a", "en", "h"), now) == "a"
    cache.put(("c", "en", "h"), CachedPage("UTC", "2026-12-07", "c"))
    assert len(cache) == 2
    assert cache.get(("b", "en", "h"), now) is None
    assert cache.get(("a", "en", "h"), now) == "a"


def test_a_changed_stamp_or_an_invalidation_misses() -> None:
    """A page rendered before a re-plan or an outcome (another stamp) is not served, and
    invalidate_plan drops every rendering of that plan only."""
    cache = PageCache()
    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    for key in (("p", "en", "h1"), ("p", "zh", "h2"), ("q", "en", "h3")):
        cache.put(key, CachedPage("UTC", "2026-12-07", "html", "v1:o0"))
    assert cache.get(("p", "en", "h1"), now, "v1:o0") == "html"
    assert cache.get(("p", "en", "h1"), now, "v1:o1") is None
    assert cache.invalidate_plan("p") == 2
    assert cache.get(("p", "zh", "h2"), now, "v1:o0") is None
    assert cache.get(("q", "en", "h3"), now, "v1:o0") == "html"
