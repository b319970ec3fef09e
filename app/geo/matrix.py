"""Travel-matrix providers: every routing engine sits behind one ``matrix()`` call.

The embedded default is straight-line travel computed in-process by ``solver.distance``;
road-network engines (OSRM) become further adapters with the same signature, and the
planning service never knows which one it talks to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from solver.distance import straight_line_matrix
from solver.types import Point, TravelMatrix

if TYPE_CHECKING:
    from app.config import Settings


@dataclass(frozen=True)
class TravelOptions:
    """Per-request travel settings, already resolved against the service defaults."""

    speed_kmh: float
    detour_factor: float


class MatrixProvider(Protocol):
    """Durations (s) and distances (m) between all pairs of ``points``, in their order."""

    name: str

    def matrix(self, points: Sequence[Point], options: TravelOptions) -> TravelMatrix: ...


class StraightLineMatrix:
    """Great-circle distance x detour factor at a constant speed; needs nothing external."""

    name = "straight_line"

    def matrix(self, points: Sequence[Point], options: TravelOptions) -> TravelMatrix:
        return straight_line_matrix(
            points, speed_kmh=options.speed_kmh, detour_factor=options.detour_factor
        )


def make_matrix_provider(settings: Settings) -> MatrixProvider:
    """The travel-matrix provider the settings ask for; built once at start-up."""
    return StraightLineMatrix()
