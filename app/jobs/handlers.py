"""Job kinds and their handlers, as ``"module:function"`` imported on first use.

Lazy so that ``app.jobs`` does not import the territory package (and it not us) at import
time; a handler is ``(ctx: JobContext, job_id: str) -> JobDone | None``.
"""

from __future__ import annotations

import importlib
from typing import cast

from app.jobs.context import JobHandler

HANDLERS: dict[str, str] = {
    "plan": "app.jobs.service:run_plan_job",
    # -- further job kinds --
    "territory_run": "app.territories.runs:run_territory",
    "rep_plan": "app.territories.runs:plan_rep",
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
