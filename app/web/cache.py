"""A small in-process cache of rendered share pages.

Stored plans never change after they are written, so a page depends only on the plan, the
language, the token (its calendar links) and the plan-local date (which day opens first).
The link itself is still checked on every request, so a revoked or expired link answers 410
at once; only the rendering is reused. Bounded, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

PageKey = tuple[str, str, str]  # (plan_id, lang, token hash)


@dataclass(frozen=True)
class CachedPage:
    """Rendered HTML and the plan-local day it was rendered for (it decides the open tab)."""

    timezone: str
    local_date: str
    html: str

    def fresh(self, now: datetime) -> bool:
        """Whether it is still the same day in the plan's time zone."""
        return now.astimezone(ZoneInfo(self.timezone)).date().isoformat() == self.local_date


class PageCache:
    """Thread-safe LRU of rendered HTML; handlers run in a thread pool."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._pages: OrderedDict[PageKey, CachedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: PageKey, now: datetime) -> str | None:
        """The page for ``key`` if rendered on the plan's current day (marked recently used)."""
        with self._lock:
            page = self._pages.get(key)
            if page is None or not page.fresh(now):
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

    def __len__(self) -> int:
        return len(self._pages)
