"""The transportation problem: cheapest within capacity, never shipping where not allowed."""

from __future__ import annotations

import numpy as np

from solver.transport import transport


def test_cheapest_within_capacity() -> None:
    """Both sources prefer sink 0, which holds one: the one that loses more by moving stays."""
    cost = np.asarray([[1, 10], [1, 3]], dtype=np.int64)
    ones = np.ones(2, dtype=np.int64)
    carried = transport(cost, ones, ones, np.ones((2, 2), dtype=bool))
    assert carried.tolist() == [[1, 0], [0, 1]]


def test_split_supply_and_forbidden_arcs() -> None:
    """Supply splits when a sink fills up; a forbidden arc carries nothing even if cheapest."""
    cost = np.asarray([[1, 5], [0, 9]], dtype=np.int64)
    allowed = np.asarray([[True, True], [False, True]])
    carried = transport(cost, np.asarray([4, 2]), np.asarray([3, 10]), allowed)
    assert carried.tolist() == [[3, 1], [0, 2]]


def test_what_cannot_ship_is_left_unshipped_not_failed() -> None:
    """A source allowed only into a full sink keeps its supply; the rest is still optimal."""
    cost = np.asarray([[1, 2], [1, 2]], dtype=np.int64)
    allowed = np.asarray([[True, False], [True, True]])
    carried = transport(cost, np.asarray([2, 1]), np.asarray([1, 5]), allowed)
    assert carried[0].sum() == 1  # one of its two units fits
    assert carried[1].tolist() == [0, 1]
    none = transport(cost, np.asarray([1, 1]), np.asarray([1, 1]), np.zeros((2, 2), dtype=bool))
    assert not none.any()
