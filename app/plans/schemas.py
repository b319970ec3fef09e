"""Wire shapes of ``POST /plan``: the request it accepts and the plan it answers with.

Request models ignore unknown fields (integrators forward whole CRM records) but are strict
where a silent coercion would plan the wrong thing: coordinates must be JSON numbers, times
``HH:MM``, absolute times ISO-8601 with an offset. Cross-field problems are collected and
raised together, each at its own path, so one 422 lists everything that is wrong.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NoReturn, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.config import Segment, SegmentDefaults
from app.geo.geocoding import Precision

WeekdayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[WeekdayName, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Need = Literal["explicit", "latent", "none"]
Travel = Literal["straight_line", "osrm"]
UnassignedCode = Literal[
    "not_precise",
    "geocode_failed",
    "outside_horizon",
    "no_time_window_fits",
    "too_far",
    "over_capacity",
]

Loc = tuple[int | str, ...]
_HHMM = re.compile(r"([01]?\d|2[0-3]):[0-5]\d|24:00")


def _problem(loc: Loc, kind: str, message: str, value: Any) -> InitErrorDetails:
    """One located error; a message without ``{}`` context is used verbatim."""
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


def _raise_all(title: str, problems: Sequence[InitErrorDetails]) -> None:
    """Raise every problem at once; pydantic prefixes each ``loc`` with the caller's path."""
    if problems:
        raise ValidationError.from_exception_data(title, list(problems))


def _fail(loc: Loc, kind: str, message: str, value: Any) -> NoReturn:
    """Raise one error at ``loc`` below the model being validated."""
    raise ValidationError.from_exception_data(kind, [_problem(loc, kind, message, value)])


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _parse_hhmm(value: object) -> str:
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, str) and _HHMM.fullmatch(value):
        return value.zfill(5)  # "9:30" -> "09:30", so that text order is time order
    raise PydanticCustomError(
        "time_hhmm", "Time should be HH:MM on a 24-hour clock (00:00 to 24:00), e.g. 09:30"
    )


def minute_of_day(value: str) -> int:
    """``"09:30"`` -> 570; ``"24:00"`` (the end of the day) -> 1440."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _text_datetime_only(value: object) -> object:
    # Lax datetime parsing would take a bare number as a Unix timestamp: never what a CRM meant.
    if isinstance(value, str | dt.datetime):
        return value
    raise PydanticCustomError(
        "datetime_type",
        "Input should be an ISO-8601 date-time with an offset, e.g. 2026-12-08T10:00:00+08:00",
    )


# Moments a plan can be about. Outside it zoneinfo falls back to local mean time, whose offsets
# have seconds (Shanghai +08:05:43 before 1901) that ISO-8601 output cannot carry: the fuzzer
# found a replan `at` in year 4 answering 500 when its diff was written back.
_FIRST_YEAR, _LAST_YEAR = 1970, 2199


def _check_era(value: dt.datetime) -> dt.datetime:
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise PydanticCustomError(
            "datetime_out_of_range",
            f"Input should be a date-time between the years {_FIRST_YEAR} and {_LAST_YEAR}",
        )
    return value


def _check_interval(value: tuple[str, str]) -> tuple[str, str]:
    start, end = value
    if end <= start:
        raise PydanticCustomError(
            "interval_order",
            "Interval end {end} must be after its start {start}",
            {"start": start, "end": end},
        )
    return value


def _check_no_overlap(value: list[tuple[str, str]]) -> list[tuple[str, str]]:
    order = sorted(range(len(value)), key=lambda i: value[i])
    problems = [
        _problem(
            (later,),
            "interval_overlap",
            f"Interval overlaps the interval at index {earlier}",
            list(value[later]),
        )
        for earlier, later in itertools.pairwise(order)
        if value[later][0] < value[earlier][1]
    ]
    _raise_all("opening_hours", problems)
    return [value[i] for i in order]


def _check_currency(value: str) -> str:
    if len(value) == 3 and value.isascii() and value.isalpha() and value.isupper():
        return value
    raise PydanticCustomError(
        "currency_code", "Currency should be an ISO 4217 code of 3 capital letters, e.g. CNY"
    )


def _check_weekday(value: str) -> str:
    if value in WEEKDAYS:
        return value
    raise PydanticCustomError(
        "weekday", "Weekday should be one of mon, tue, wed, thu, fri, sat, sun"
    )


def _pair_problems(lat: float | None, lon: float | None) -> list[InitErrorDetails]:
    if (lat is None) == (lon is None):
        return []
    missing, given = ("lon", "lat") if lon is None else ("lat", "lon")
    return [_problem((missing,), "coordinates_pair", f"{missing} is required with {given}", None)]


Weekday = Annotated[WeekdayName, BeforeValidator(_lower)]
# Plain ``str`` keys (checked against WEEKDAYS) so that callers can look days up by any str.
WeekdayKey = Annotated[
    str,
    BeforeValidator(_lower),
    AfterValidator(_check_weekday),
    WithJsonSchema({"type": "string", "enum": list(WEEKDAYS)}),
]
# Local wall-clock time as zero-padded "HH:MM" text: "24:00" (closing at midnight) has no
# datetime.time, and padded text sorts like the times it names.
LocalTime = Annotated[
    str,
    BeforeValidator(_parse_hhmm),
    WithJsonSchema({"type": "string", "pattern": f"^({_HHMM.pattern})$", "examples": ["09:00"]}),
]
Instant = Annotated[AwareDatetime, BeforeValidator(_text_datetime_only), AfterValidator(_check_era)]
OpeningInterval = Annotated[tuple[LocalTime, LocalTime], AfterValidator(_check_interval)]
DayIntervals = Annotated[list[OpeningInterval], AfterValidator(_check_no_overlap)]
Latitude = Annotated[float, Field(strict=True, ge=-90, le=90)]
Longitude = Annotated[float, Field(strict=True, ge=-180, le=180)]
Currency = Annotated[
    str,
    AfterValidator(_check_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["CNY"]}),
]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Minutes = Annotated[float, Field(gt=0, le=600)]
Priority = Annotated[int, Field(ge=0, le=100)]


class RequestModel(BaseModel):
    """Base of request shapes: unknown fields ignored, no NaN or infinity anywhere."""

    model_config = ConfigDict(
        extra="ignore",
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class Location(RequestModel):
    """A place: ``lat`` and ``lon`` together, or an ``address`` to geocode, or both."""

    lat: Latitude | None = None
    lon: Longitude | None = None
    address: str | None = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.lat is None and self.lon is None and self.address is None:
            raise PydanticCustomError("location_empty", "A location needs lat and lon, or address")
        _raise_all("Location", _pair_problems(self.lat, self.lon))
        return self

    @property
    def has_coordinates(self) -> bool:
        """Whether geocoding can be skipped."""
        return self.lat is not None and self.lon is not None


class Lunch(RequestModel):
    """A lunch break of ``minutes`` taken somewhere between ``earliest`` and ``latest``."""

    earliest: LocalTime
    latest: LocalTime
    minutes: float = Field(ge=1, le=180)

    @model_validator(mode="after")
    def _fits(self) -> Self:
        room = minute_of_day(self.latest) - minute_of_day(self.earliest)
        if room <= 0:
            _fail(("latest",), "lunch_order", "latest must be after earliest", self.latest)
        if self.minutes > room:
            message = f"Lunch does not fit between earliest and latest ({room} minutes apart)"
            _fail(("minutes",), "lunch_too_long", message, self.minutes)
        return self


class Rep(RequestModel):
    """A sales rep: where the day starts and ends, working hours and what an hour is worth."""

    id: Identifier
    name: str | None = Field(default=None, max_length=200)
    start: Location
    end: Location | None = None
    work_start: LocalTime = "09:00"
    work_end: LocalTime = "18:00"
    lunch: Lunch | None = None
    max_visits_per_day: int | None = Field(default=None, ge=1, le=50)
    hourly_value: float = Field(default=0, ge=0)
    currency: Currency = "CNY"

    @model_validator(mode="after")
    def _hours(self) -> Self:
        if self.work_end <= self.work_start:
            message = "work_end must be after work_start"
            _fail(("work_end",), "work_hours_order", message, self.work_end)
        if self.end is None:
            self.end = self.start
        return self

    @property
    def end_location(self) -> Location:
        """Where the day ends: ``end`` if given, else back at ``start``."""
        return self.end if self.end is not None else self.start


class TimeWindow(RequestModel):
    """An absolute interval in which a visit must start and end."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.end <= self.start:
            _fail(("end",), "window_order", "end must be after start", self.end.isoformat())
        return self


class CustomerFields(RequestModel):
    """What describes a customer, whether in one request or in a territory's pool.

    One definition, so a pool record and a ``POST /plan`` customer validate alike and a run
    can hand the one to the other.
    """

    id: Identifier
    name: str = Field(default="", max_length=200)
    address: str | None = Field(default=None, max_length=500)
    lat: Latitude | None = None
    lon: Longitude | None = None
    segment: Segment = "prospect"
    need: Need | None = None
    can_pay: bool | None = None
    decision_maker: bool | None = None
    visit_minutes: Minutes | None = None
    priority: Priority | None = None
    must_visit: bool = False
    area: str | None = Field(default=None, max_length=200)
    opening_hours: dict[WeekdayKey, DayIntervals] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        _raise_all(type(self).__name__, _pair_problems(self.lat, self.lon))
        if not self.name:
            self.name = self.id
        return self


class Customer(CustomerFields):
    """A customer to visit, with its qualification, constraints and optional pins."""

    date: dt.date | None = None
    rep_id: str | None = None
    time_windows: list[TimeWindow] | None = None

    @property
    def precise(self) -> bool:
        """A precise customer: a need, the means to pay and a decision maker, all known."""
        return self.need in ("explicit", "latent") and bool(self.can_pay and self.decision_maker)


class Horizon(RequestModel):
    """Working days: ``start_date`` + ``days`` counted over ``weekdays``, or explicit ``dates``."""

    start_date: dt.date | None = None
    days: int | None = Field(default=None, ge=1, le=366)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    explicit_dates: list[dt.date] | None = Field(default=None, alias="dates", max_length=366)

    @field_validator("weekdays")
    @classmethod
    def _week_order(cls, value: list[WeekdayName]) -> list[WeekdayName]:
        return [day for day in WEEKDAYS if day in value]

    @field_validator("explicit_dates")
    @classmethod
    def _unique_sorted(cls, value: list[dt.date] | None) -> list[dt.date] | None:
        return None if value is None else sorted(set(value))

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        counted = self.start_date is not None or self.days is not None
        if self.explicit_dates is not None and counted:
            raise PydanticCustomError(
                "horizon_form", "Give either start_date and days, or dates, not both"
            )
        if self.explicit_dates is None:
            _raise_all(
                "Horizon",
                [
                    _problem((name,), "missing", f"{name} is required unless dates is given", None)
                    for name in ("start_date", "days")
                    if getattr(self, name) is None
                ],
            )
        return self

    def dates(self) -> list[dt.date]:
        """The working dates in order; empty only for an explicit empty ``dates`` list."""
        if self.explicit_dates is not None:
            return list(self.explicit_dates)
        if self.start_date is None or self.days is None:
            return []
        wanted = {WEEKDAYS.index(name) for name in self.weekdays}
        found: list[dt.date] = []
        day = self.start_date
        while len(found) < self.days:
            if day.weekday() in wanted:
                found.append(day)
            if day == dt.date.max:
                break
            day += dt.timedelta(days=1)
        return found


class SegmentOverride(RequestModel):
    """Per-request changes to one row of the segment defaults table."""

    visit_minutes: Minutes | None = None
    priority: Priority | None = None
    purpose: str | None = Field(default=None, min_length=1, max_length=500)


class Options(RequestModel):
    """How to solve: time budget, travel model, seed and whether to answer asynchronously."""

    time_limit_seconds: float | None = Field(default=None, gt=0, le=3600)
    precise_only: bool = False
    travel: Travel = "straight_line"
    speed_kmh: float | None = Field(default=None, gt=0, le=200)
    detour_factor: float | None = Field(default=None, ge=1, le=5)
    seed: int = Field(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="Kept with the request; OR-Tools' routing search takes no seed, so it does "
        "not change the plan today.",
    )
    async_: bool = Field(default=False, alias="async")
    solution_limit: int | None = Field(default=None, ge=1)
    # Customers geocoded coarser than this become geocode_failed (None: accept any precision).
    min_precision: Precision | None = None
    segments: dict[Segment, SegmentOverride] | None = None

    def segment_table(self, defaults: dict[str, SegmentDefaults]) -> dict[str, SegmentDefaults]:
        """``defaults`` with this request's ``segments`` overrides applied (a new dict)."""
        table = dict(defaults)
        for name, override in (self.segments or {}).items():
            changes = override.model_dump(exclude_none=True)
            table[name] = table[name].model_copy(update=changes)
        return table


class PlanRequest(RequestModel):
    """The body of ``POST /plan``."""

    timezone: str = Field(min_length=1, max_length=64)
    horizon: Horizon
    reps: list[Rep]
    customers: list[Customer]
    options: Options = Field(default_factory=Options)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise PydanticCustomError(
                "unknown_timezone",
                "Unknown time zone; use an IANA name such as Asia/Shanghai",
            ) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[InitErrorDetails] = []
        if not self.reps:
            problems.append(_problem(("reps",), "no_reps", "At least one rep is needed", []))
        if not self.horizon.dates():
            problems.append(
                _problem(("horizon",), "empty_horizon", "The horizon has no working date", None)
            )
        problems += _duplicates("reps", "rep", [rep.id for rep in self.reps])
        problems += _duplicates("customers", "customer", [c.id for c in self.customers])
        known = {rep.id for rep in self.reps}
        hint = ", ".join(sorted(known)[:5]) + (", ..." if len(known) > 5 else "")
        problems += [
            _problem(
                ("customers", i, "rep_id"),
                "unknown_rep",
                f"Unknown rep id {c.rep_id!r}; known: {hint or 'none'}",
                c.rep_id,
            )
            for i, c in enumerate(self.customers)
            if c.rep_id is not None and c.rep_id not in known
        ]
        _raise_all("PlanRequest", problems)
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The plan's time zone; local ``HH:MM`` times are read in it."""
        return ZoneInfo(self.timezone)


def _duplicates(field: str, noun: str, ids: list[str]) -> list[InitErrorDetails]:
    first: dict[str, int] = {}
    problems: list[InitErrorDetails] = []
    for index, value in enumerate(ids):
        if value in first:
            message = f"Duplicate {noun} id {value!r}, first at {field}[{first[value]}]"
            problems.append(_problem((field, index, "id"), f"duplicate_{noun}_id", message, value))
        else:
            first[value] = index
    return problems
