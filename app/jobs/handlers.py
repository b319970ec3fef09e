"""Job kinds and their handlers, as ``"module:function"`` imported on first use.

Lazy so that ``app.jobs`` does not import the territory package (and it not us) at import
time; a handler is ``(ctx: JobContext, job_id: str) -> JobDone | None``.

A kind may also name a *lost hook* (``LOST_HOOKS``): the job system fails a job whose worker
died ``job_max_attempts`` times without ever running its handler again, so a handler cannot
report that ending itself; the hook is how its kind hears of it (see ``LostHook``).
"""

from __future__ import annotations

import importlib
from typing import cast

from app.jobs.context import JobHandler, LostHook

HANDLERS: dict[str, str] = {
    "plan": "app.jobs.service:run_plan_job",
    # -- further job kinds --
    "territory_run": "app.territories.runs:run_territory",
    "rep_plan": "app.territories.runs:plan_rep",
}


# Kinds whose jobs others wait on: a territory run's integrators wait on it, and the run on
# each of its reps' plans.
LOST_HOOKS: dict[str, str] = {
    "territory_run": "app.territories.runs:territory_run_lost",
    "rep_plan": "app.territories.runs:rep_plan_lost",
}


class UnknownJobKind(Exception):
    """A job row whose kind no handler serves (written by a newer release, or a typo)."""


def resolve(kind: str) -> JobHandler:
    """The handler for ``kind``."""
    try:
        module_name, _, attr = HANDLERS[kind].partition(":")
    except KeyError:
        raise UnknownJobKind(f"no handler for job kind {kind!r}") from None
    return cast(JobHandler, getattr(importlib.import_module(module_name), attr))


def resolve_lost(kind: str) -> LostHook | None:
    """The lost hook of ``kind``, or None when its kind needs none (or is unknown)."""
    target = LOST_HOOKS.get(kind)
    if target is None:
        return None
    module_name, _, attr = target.partition(":")
    return cast(LostHook, getattr(importlib.import_module(module_name), attr))
