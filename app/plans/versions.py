"""What changed between two versions of a plan, for the ``diff`` of a re-plan.

A visit is *moved* when its rep or date changed, or when it left the longest run of visits
that kept their relative order on its day (so one visit moved to the front marks one visit,
not every one after it). Positions are 0-based indices into the day's stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models import Plan


@dataclass(frozen=True)
class Slot:
    """Where a visit is in one version: its rep, date and place in that day."""

    rep_id: str
    date: str
    position: int

    def to_json(self) -> dict[str, Any]:
        return {"rep_id": self.rep_id, "date": self.date, "position": self.position}


def slots(plan: Plan) -> dict[str, Slot]:
    """Customer id -> slot for every planned visit of ``plan``."""
    return {
        s.customer_id: Slot(d.rep_id, d.date.isoformat(), k)
        for d in plan.days
        for k, s in enumerate(d.stops)
    }


def stable_order(old: list[str], new: list[str]) -> set[str]:
    """The longest common subsequence of two visit orders: the visits that kept their order."""
    n, m = len(old), len(new)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1
                if old[i] == new[j]
                else max(table[i + 1][j], table[i][j + 1])
            )
    out: set[str] = set()
    i = j = 0
    while i < n and j < m:
        if old[i] == new[j]:
            out.add(old[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _sequences(s: Mapping[str, Slot]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for cid, slot in sorted(s.items(), key=lambda item: item[1].position):
        out.setdefault((slot.rep_id, slot.date), []).append(cid)
    return out


def diff(
    old: Plan,
    new: Plan,
    *,
    added_ids: set[str],
    removed_reasons: Mapping[str, str],
    replaced: Mapping[str, str],
) -> dict[str, Any]:
    """``{base_version, added, removed, moved, unchanged}`` from ``old`` to ``new``.

    ``removed_reasons`` names why a visit left on purpose (cancelled, removed by request);
    other removals take the new plan's unassigned reason. ``replaced`` maps visits that had
    to be placed again (no-show, rescheduled) to their outcome.
    """
    before, after = slots(old), slots(new)
    unplaced = {u.customer_id: u.reason for u in new.unassigned}
    kept_order: set[str] = set()
    new_seq = _sequences(after)
    for key, seq in _sequences(before).items():
        stayed = [c for c in seq if c in after and (after[c].rep_id, after[c].date) == key]
        kept_order |= stable_order(stayed, new_seq.get(key, []))
    added = [
        {
            "customer_id": cid,
            "to": slot.to_json(),
            "reason": "new customer" if cid in added_ids else "placed now (was unassigned)",
        }
        for cid, slot in after.items()
        if cid not in before
    ]
    removed = [
        {
            "customer_id": cid,
            "from": slot.to_json(),
            "reason": removed_reasons.get(cid)
            or f"no longer fits: {unplaced.get(cid, 'left out by the re-plan')}",
        }
        for cid, slot in before.items()
        if cid not in after
    ]
    moved = []
    unchanged = 0
    for cid, was in before.items():
        now = after.get(cid)
        if now is None:
            continue
        same_day = (was.rep_id, was.date) == (now.rep_id, now.date)
        if same_day and cid in kept_order:
            unchanged += 1
            continue
        if cid in replaced:
            reason = f"{replaced[cid]}: placed again"
        elif same_day:
            reason = "order changed on the same day"
        elif was.date != now.date:
            reason = "moved to another day by the re-plan"
        else:
            reason = "moved to another rep by the re-plan"
        moved.append(
            {"customer_id": cid, "from": was.to_json(), "to": now.to_json(), "reason": reason}
        )
    return {
        "base_version": old.version,
        "added": added,
        "removed": removed,
        "moved": moved,
        "unchanged": unchanged,
    }
