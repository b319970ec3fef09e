"""A small in-process cache of rendered share pages.

A page depends on the plan's newest version and its recorded outcomes, the language, the
token (its calendar links) and the plan-local date (which day opens first). Versions and
outcomes do change (re-plans, the rep's buttons), so each entry carries a ``stamp`` of them read
cheaply from the database on every request: a stale entry is simply not served, which also
holds when another server process recorded the change. ``invalidate_plan`` drops a plan's
entries at once in this process. The link itself is still checked on every request, so a
revoked or expired link answers 410 at once; only the rendering is reused. Bounded, least
recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

PageKey = tuple[str, str, str]  # (plan_id, lang, token hash)


@dataclass(frozen=True)
class CachedPage:
    """Rendered HTML and the plan-local day it was rendered for (it decides the open tab)."""

    timezone: str
    local_date: str
    html: str
    # What the plan looked like when rendered (newest version, outcomes); see the module doc.
    stamp: str = ""

    def fresh(self, now: datetime) -> bool:
        """Whether it is still the same day in the plan's time zone."""
        return now.astimezone(ZoneInfo(self.timezone)).date().isoformat() == self.local_date


class PageCache:
    """Thread-safe LRU of rendered HTML; handlers run in a thread pool."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._pages: OrderedDict[PageKey, CachedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: PageKey, now: datetime, stamp: str = "") -> str | None:
        """The page for ``key`` if rendered on the plan's current day from the plan state
        ``stamp`` (marked recently used)."""
        with self._lock:
            page = self._pages.get(key)
            if page is None or not page.fresh(now) or page.stamp != stamp:
                return None
            self._pages.move_to_end(key)
            return page.html

    def put(self, key: PageKey, page: CachedPage) -> None:
        """Keep ``page`` for ``key``, evicting the least recently used pages beyond the bound."""
        if self.max_entries <= 0:
            return
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)

    def invalidate_plan(self, plan_id: str) -> int:
        """Drop every rendering of ``plan_id`` (all languages and links); returns how many."""
        with self._lock:
            stale = [key for key in self._pages if key[0] == plan_id]
            for key in stale:
                del self._pages[key]
            return len(stale)

    def __len__(self) -> int:
        return len(self._pages)


def app_page_cache(state: Any) -> PageCache:
    """The page cache of one app (``app.state``), made on first use; apps never share one."""
    cache: PageCache | None = getattr(state, "share_page_cache", None)
    if cache is None:
        cache = state.share_page_cache = PageCache()
    return cache
