"""Which (rep, day) routes can take each customer at all, and why not when none can.

Checking each customer alone against each route before the search does two jobs: the
search gets a smaller model (``allowed_vehicles``), and a customer that can never fit gets
a precise reason ("window never meets working hours", "too far for a day") instead of the
vague "dropped" the solver would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from solver.domain import Code, CustomerInput, PlanningInput, RepInput
from solver.types import DAY, TravelMatrix, Window


@dataclass(frozen=True, slots=True)
class Route:
    """A candidate route: rep ``rep`` on working day ``day``, with its shift on the axis."""

    rep: int
    day: int
    shift: Window


def routes(inp: PlanningInput) -> list[Route]:
    """One route per rep per working day, ordered by day then rep (the vehicle order)."""
    out = []
    for d in range(len(inp.days)):
        offset = inp.day_offset(d)
        for r, rep in enumerate(inp.reps):
            out.append(Route(r, d, Window(offset + rep.work_start, offset + rep.work_end)))
    return out


def hhmm(seconds: int) -> str:
    """Time of day for reasons meant for people."""
    seconds %= DAY
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def duration_text(seconds: int) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def day_text(inp: PlanningInput, t: int) -> str:
    day = inp.epoch + timedelta(days=t // DAY)
    return f"{day:%a %Y-%m-%d}"


def fitting_windows(customer: CustomerInput, shift: Window) -> list[Window]:
    """Parts of the customer's windows inside the shift that can hold the whole visit."""
    windows = customer.windows if customer.windows is not None else (shift,)
    fits = []
    for w in windows:
        part = w.intersect(shift)
        if part is not None and part.length >= customer.duration:
            fits.append(part)
    return fits


def _reachable(
    customer: CustomerInput, fits: list[Window], shift: Window, out_s: int, back_s: int
) -> bool:
    """True when the rep can leave at shift start, visit, and be back by shift end."""
    earliest = shift.start + out_s
    for w in fits:
        start = max(w.start, earliest)
        end = start + customer.duration
        if end <= w.end and end + back_s <= shift.end:
            return True
    return False


@dataclass(frozen=True)
class Precheck:
    """Allowed routes (indices into ``routes(inp)``) per customer, or why there are none."""

    allowed: dict[int, frozenset[int]]
    rejected: dict[int, tuple[Code, str]]


def precheck(inp: PlanningInput, matrix: TravelMatrix, candidates: list[Route]) -> Precheck:
    """Test every customer alone against every route it is pinned to or could take."""
    allowed: dict[int, frozenset[int]] = {}
    rejected: dict[int, tuple[Code, str]] = {}
    horizon = Window(inp.day_offset(0), inp.day_offset(len(inp.days) - 1) + DAY)
    for i, c in enumerate(inp.customers):
        ok: set[int] = set()
        windowed: list[tuple[int, Route]] = []  # (excess seconds, route) for the reason
        loc = inp.customer_loc(i)
        for k, route in enumerate(candidates):
            if (c.day is not None and route.day != c.day) or (
                c.rep is not None and route.rep != c.rep
            ):
                continue
            fits = fitting_windows(c, route.shift)
            if not fits:
                continue
            out_s = int(matrix.durations[inp.start_loc(route.rep), loc])
            back_s = int(matrix.durations[loc, inp.end_loc(route.rep)])
            if _reachable(c, fits, route.shift, out_s, back_s):
                ok.add(k)
            else:
                excess = out_s + c.duration + back_s - route.shift.length
                windowed.append((excess, route))
        if ok:
            allowed[i] = frozenset(ok)
        else:
            rejected[i] = _reason(inp, c, horizon, windowed, matrix, i)
    return Precheck(allowed, rejected)


def _pin_text(inp: PlanningInput, c: CustomerInput) -> str:
    pins = []
    if c.day is not None:
        pins.append(f"pinned to {inp.days[c.day]:%a %Y-%m-%d}")
    if c.rep is not None:
        pins.append(f"pinned to rep {inp.reps[c.rep].id}")
    return f" ({', '.join(pins)})" if pins else ""


def _reason(
    inp: PlanningInput,
    c: CustomerInput,
    horizon: Window,
    windowed: list[tuple[int, Route]],
    matrix: TravelMatrix,
    i: int,
) -> tuple[Code, str]:
    visit = duration_text(c.duration)
    if c.windows is not None and not any(w.intersect(horizon) for w in c.windows):
        first, last = inp.days[0], inp.days[-1]
        return Code.OUTSIDE_HORIZON, (
            f"its time windows all lie outside the planning horizon {first} to {last}"
        )
    if not windowed:
        hours = _hours_text(inp.reps)
        what = "opening hours and time windows" if c.windows is not None else "working hours"
        return Code.NO_TIME_WINDOW_FITS, (
            f"its {what} never leave {visit} for the visit inside working hours ({hours})"
            f" on a working day of the horizon{_pin_text(inp, c)}"
        )
    excess, route = min(windowed, key=lambda item: item[0])
    rep = inp.reps[route.rep]
    loc = inp.customer_loc(i)
    out_s = int(matrix.durations[inp.start_loc(route.rep), loc])
    back_s = int(matrix.durations[loc, inp.end_loc(route.rep)])
    if excess > 0:
        return Code.TOO_FAR, (
            f"the drive from rep {rep.id}'s start ({duration_text(out_s)}) and back"
            f" ({duration_text(back_s)}) plus the {visit} visit exceeds the"
            f" {duration_text(route.shift.length)} working day{_pin_text(inp, c)}"
        )
    return Code.NO_TIME_WINDOW_FITS, (
        f"after the {duration_text(out_s)} drive from rep {rep.id}'s start, none of its"
        f" windows leaves {visit} for the visit and the drive back before"
        f" {hhmm(route.shift.end)}{_pin_text(inp, c)}"
    )


def _hours_text(reps: tuple[RepInput, ...]) -> str:
    spans = sorted({(r.work_start, r.work_end) for r in reps})
    return ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in spans)
