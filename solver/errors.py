"""Errors raised by the solver package.

Tree::

    SolverError
    ├── InvalidProblemError   a problem that violates its own invariants (a bug upstream)
    └── NoSolutionError       the search ended without any solution (should not happen:
                              every visit is optional, so an empty plan is always feasible)
"""


class SolverError(Exception):
    """Base class, so callers can catch everything the solver raises in one place."""


class InvalidProblemError(SolverError, ValueError):
    """Raised on construction when a problem's parts contradict each other."""


class NoSolutionError(SolverError):
    """Raised when OR-Tools returns no assignment at all."""
