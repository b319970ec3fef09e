"""The embedded offline geocoder, the default: no network, no server.

It asks, finest first: the local OSM address index (``osm_index``, when its file exists:
``visit-planner geocode-index --pbf PATH`` builds it), then the Chinese district gazetteer,
then world cities. The index is loaded on first use and reloaded when its file changes, so
rebuilding it needs no restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.geo import gazetteer
from app.geo.geocoding import GeocodeResult
from app.geo.osm_index import OsmIndex

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("visit_planner.geocoding")
Lookup = Callable[[str], GeocodeResult | None]


class OfflineGeocoder:
    """OSM index, then bundled gazetteers; each step only when the one before found nothing."""

    name = "offline"

    def __init__(self, index_path: Path | None, *, gazetteers: bool = True) -> None:
        self.index_path = index_path
        self.fallbacks: list[Lookup] = (
            [gazetteer.china_district, gazetteer.world_city] if gazetteers else []
        )
        self._index: OsmIndex | None = None
        self._index_mtime: float | None = None
        self._lock = threading.Lock()

    def index(self) -> OsmIndex | None:
        """The loaded index, (re)loaded when the file appeared or changed; None without one."""
        if self.index_path is None:
            return None
        try:
            mtime = self.index_path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            if self._index is None or mtime != self._index_mtime:
                log.info("loading the geocode index %s", self.index_path)
                self._index, self._index_mtime = OsmIndex(self.index_path), mtime
            return self._index

    @property
    def cache_name(self) -> str:
        """The cache's provider key: answers change when the index is rebuilt."""
        index = self.index()
        return "offline" if index is None else f"offline:{index.stamp}"[:64]

    def geocode(self, address: str) -> GeocodeResult | None:
        """The finest answer any local source has; None when none knows the address."""
        index = self.index()
        if index is not None:
            found = index.find(address)
            if found is not None:
                return found
        for lookup in self.fallbacks:
            found = lookup(address)
            if found is not None:
                return found
        return None


def make_offline_geocoder(settings: Settings) -> OfflineGeocoder:
    """The offline geocoder on the configured index file (absent is fine: gazetteers only)."""
    return OfflineGeocoder(settings.geocode_index_path, gazetteers=settings.geocode_gazetteers)
