"""Territory schedules: when a cron fire happens, which week it plans, and the tick enqueueing runs.

A schedule is a 5-field cron expression read in its own IANA time zone. A fire plans the week
that starts on the first Monday strictly after the fire's local date: Sunday 20:00 plans the
next day's week, and so does a fire on Monday morning of the week before (a fire never plans
the week it falls in, which would already have begun).

Exactly once rests on the database, never on a flag in memory: a scheduled run's
``schedule_key`` ("<territory>:<week_start>") is UNIQUE, so a second scheduler, or a restarted
one, that inserts the same week fails on the constraint and skips it. The schedule row is
locked while its cursor (``last_fire_at``) advances, so two schedulers on PostgreSQL split the
schedules between them (``SKIP LOCKED``) instead of racing for each; on SQLite a write takes
the database lock first, which serialises them.

Wall-clock arithmetic follows cron on DST days: a fire time that does not exist (spring
forward, 02:30 in Europe/Berlin) fires at the same distance after the jump (03:30 local); one
that exists twice (fall back) fires once, at its first occurrence.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter  # type: ignore[import-untyped]
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.territories import runs, webhooks
from models import Job, Schedule, TerritoryRun, utcnow

log = logging.getLogger("visit_planner.scheduler")

WEEK = timedelta(days=7)
# Longer than any DST jump: wall times near a jump are out of order once read as instants, so
# candidates are generated this far beyond each bound and filtered on the instant.
_SLACK = timedelta(hours=3)
# A fire more than two weeks before today plans a week that has ended (see ``catch_up_floor``).
_CATCH_UP_DAYS = 14
CRON_FIELDS = 5

# ``app.territories.runs.create_run``: flushes a run and its job; tests may pass their own.
CreateRun = Callable[..., TerritoryRun]
Submit = Callable[[str], None]


class InvalidCron(ValueError):
    """A cron expression the scheduler cannot use; the message says why, for a 422."""


def check_cron(expression: str) -> str:
    """``expression`` with single spaces if it is a 5-field cron line that ever fires."""
    fields = expression.split()
    if len(fields) != CRON_FIELDS:
        raise InvalidCron(
            "Expected 5 fields (minute hour day-of-month month day-of-week), "
            f"e.g. '0 20 * * sun'; got {len(fields)}"
        )
    normalised = " ".join(fields)
    try:
        valid = croniter.is_valid(normalised)
    except (CroniterError, ValueError):
        valid = False
    if not valid:
        raise InvalidCron("Not a valid cron expression")
    try:
        croniter(normalised, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterError, ValueError):
        # No year field: what fires once after 2000 fires every year from then on.
        raise InvalidCron("This cron expression never fires") from None
    return normalised


def _wall_times(expression: str, start: datetime) -> Iterator[datetime]:
    """Naive local wall times after naive ``start`` matching ``expression``, ascending."""
    iterator = croniter(expression, start)
    while True:
        yield cast(datetime, iterator.get_next(datetime))


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: a skipped time takes the offset before the jump (02:30 -> 03:30 after it), a
    # repeated one its first occurrence.
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def fire_times(expression: str, timezone: str, after: datetime, until: datetime) -> list[datetime]:
    """The fire instants (UTC) in ``(after, until]``, ascending and without repeats."""
    zone = ZoneInfo(timezone)
    last_wall = _wall(until, zone) + _SLACK
    found: set[datetime] = set()
    for wall in _wall_times(expression, _wall(after, zone) - _SLACK):
        if wall > last_wall:
            break
        instant = _instant(wall, zone)
        if after < instant <= until:
            found.add(instant)
    return sorted(found)


def next_fire_times(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fires after ``after``, in the schedule's zone (for people to read)."""
    zone = ZoneInfo(timezone)
    found: set[datetime] = set()
    stop_wall: datetime | None = None
    for wall in _wall_times(expression, _wall(after, zone) - _SLACK):
        if stop_wall is not None and wall > stop_wall:
            break
        instant = _instant(wall, zone)
        if instant > after:
            found.add(instant)
            if len(found) >= count and stop_wall is None:
                stop_wall = wall + _SLACK
    return [t.astimezone(zone) for t in sorted(found)[:count]]


def planned_week(fire_at: datetime, timezone: str) -> date:
    """The Monday starting the week a fire plans: the first Monday strictly after its local date."""
    local_date = fire_at.astimezone(ZoneInfo(timezone)).date()
    return local_date + timedelta(days=7 - local_date.weekday())


def week_ended(week_start: date, timezone: str, now: datetime) -> bool:
    """Whether the week (Monday to Sunday, local) is over at ``now``: too late to plan."""
    return now.astimezone(ZoneInfo(timezone)).date() >= week_start + WEEK


def catch_up_floor(timezone: str, now: datetime) -> datetime:
    """Local midnight two weeks before today: every earlier fire plans a week that has ended.

    A fire on local date d plans a week starting by d + 7, which is over by d + 14.
    """
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date() - timedelta(days=_CATCH_UP_DAYS)
    return _instant(datetime(day.year, day.month, day.day), zone)


def schedule_key(territory_id: str, week_start: date) -> str:
    """The UNIQUE key of a scheduled run: one per territory and week, whoever inserts it."""
    return f"{territory_id}:{week_start.isoformat()}"


def _lock_schedule(session: Session, schedule_id: int) -> Schedule | None:
    """The enabled schedule, locked until commit; None if gone, disabled or held elsewhere."""
    query = select(Schedule).where(Schedule.id == schedule_id, Schedule.enabled.is_(True))
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a write takes the database lock, so a second scheduler
        # waits here and then reads the cursor this one advanced.
        session.execute(
            update(Schedule).where(Schedule.id == schedule_id).values(enabled=Schedule.enabled)
        )
        return session.scalars(query.execution_options(populate_existing=True)).first()
    return session.scalars(query.with_for_update(skip_locked=True)).first()


def _insert_run(
    session: Session, create_run: CreateRun, schedule: Schedule, week: date, fire: datetime
) -> TerritoryRun | None:
    """The new run, or None when the week's run exists already (another scheduler won)."""
    key = schedule_key(schedule.territory_id, week)
    try:
        with session.begin_nested():
            return create_run(
                session,
                schedule.territory_id,
                week,
                "schedule",
                schedule_id=schedule.id,
                schedule_key=key,
                fire_at=fire,
            )
    except IntegrityError:
        if session.scalar(select(TerritoryRun.id).where(TerritoryRun.schedule_key == key)) is None:
            raise
        log.info("run %s exists already; fire at %s skipped", key, fire.isoformat())
        return None


def fire_schedule(
    session: Session, create_run: CreateRun, schedule_id: int, now: datetime
) -> list[TerritoryRun]:
    """Insert the runs of one schedule's fires in ``(cursor, now]`` and advance its cursor.

    Flushes; the caller commits (which releases the lock) and then submits the jobs.
    """
    schedule = _lock_schedule(session, schedule_id)
    if schedule is None:
        return []
    timezone = schedule.timezone
    cursor = schedule.last_fire_at or schedule.created_at
    floor = catch_up_floor(timezone, now)
    if cursor < floor:
        # Long downtime: the fires before the floor are skipped in one go, not enumerated.
        [first] = next_fire_times(schedule.cron, timezone, cursor, 1)
        if first <= floor:
            log.warning(
                "schedule %d: fires from %s to %s skipped: the weeks they plan have ended",
                schedule.id,
                first.astimezone(UTC).isoformat(),
                floor.astimezone(UTC).isoformat(),
            )
        cursor = schedule.last_fire_at = floor
    fires = fire_times(schedule.cron, timezone, cursor, now)
    inserted: list[TerritoryRun] = []
    weeks: set[date] = set()
    late: list[datetime] = []
    for fire in fires:
        week = planned_week(fire, timezone)
        if week_ended(week, timezone, now):
            late.append(fire)
            continue
        if week in weeks:  # several fires plan one week: the first one does
            continue
        weeks.add(week)
        run = _insert_run(session, create_run, schedule, week, fire)
        if run is not None:
            inserted.append(run)
    if late:
        log.warning(
            "schedule %d: %d fires from %s to %s skipped: the weeks they plan have ended",
            schedule.id,
            len(late),
            late[0].isoformat(),
            late[-1].isoformat(),
        )
    if fires:
        schedule.last_fire_at = fires[-1]
    session.flush()
    return inserted


def _submit_all(submit: Submit, job_ids: list[str]) -> None:
    for job_id in job_ids:
        try:
            submit(job_id)
        except Exception:
            # The job stays queued in the database; the next scheduler start submits it again.
            log.exception("could not submit job %s; it stays queued", job_id)


def _deliver_webhooks(
    session_factory: sessionmaker[Session], settings: Settings, now: datetime
) -> None:
    try:
        webhooks.deliver_due_webhooks(session_factory, settings, now)
    except Exception:
        # A webhook outage must not stop runs being scheduled; deliveries retry next tick.
        log.exception("webhook delivery failed")


def tick(
    session_factory: sessionmaker[Session],
    settings: Settings,
    submit: Submit,
    now: datetime | None = None,
    *,
    create_run: CreateRun | None = None,
) -> list[str]:
    """Enqueue every due scheduled run once; the ids of the runs this call created.

    Each schedule is its own transaction: its lock is held only while its runs are inserted,
    and one broken schedule does not hold up the others. Jobs are submitted after the commit,
    so an executor never sees a job it cannot read yet.
    """
    now = now or utcnow()
    create = create_run or runs.create_run
    with session_factory() as session:
        schedule_ids = list(
            session.scalars(
                select(Schedule.id).where(Schedule.enabled.is_(True)).order_by(Schedule.id)
            )
        )
    created: list[str] = []
    for schedule_id in schedule_ids:
        try:
            with session_factory() as session:
                made = [
                    (run.id, run.job_id) for run in fire_schedule(session, create, schedule_id, now)
                ]
                session.commit()
        except Exception:
            # Logged and retried next tick (its cursor did not move); the others go on.
            log.exception("schedule %d could not be fired", schedule_id)
            continue
        for run_id, _ in made:
            log.info("schedule %d: run %s queued", schedule_id, run_id)
        created.extend(run_id for run_id, _ in made)
        _submit_all(submit, [job_id for _, job_id in made if job_id is not None])
    _deliver_webhooks(session_factory, settings, now)
    return created


def queued_run_jobs(session_factory: sessionmaker[Session]) -> list[str]:
    """Queued jobs of scheduled runs and their per-rep sub-jobs, oldest first.

    What a scheduler left when it stopped between commit and submit, or (in-process) with
    jobs not yet started; a start-up submits them again. Claims are fenced, so a job
    submitted twice still runs once.
    """
    scheduled = select(TerritoryRun.job_id).where(
        TerritoryRun.trigger == "schedule", TerritoryRun.job_id.is_not(None)
    )
    with session_factory() as session:
        return list(
            session.scalars(
                select(Job.id)
                .where(
                    Job.status == "queued",
                    or_(Job.id.in_(scheduled), Job.parent_id.in_(scheduled)),
                )
                .order_by(Job.created_at, Job.id)
            )
        )


def run_job_ids(session_factory: sessionmaker[Session], run_ids: list[str]) -> list[str]:
    """The jobs of these runs."""
    with session_factory() as session:
        return [
            job_id
            for job_id in session.scalars(
                select(TerritoryRun.job_id).where(TerritoryRun.id.in_(run_ids))
            )
            if job_id is not None
        ]


def run_loop(
    session_factory: sessionmaker[Session],
    settings: Settings,
    submit: Submit,
    *,
    interval: float,
    stop: threading.Event,
    once: bool = False,
) -> list[str]:
    """Tick every ``interval`` seconds until ``stop`` is set (or once); the run ids created."""
    created: list[str] = []
    while not stop.is_set():
        started = time.monotonic()
        try:
            created.extend(tick(session_factory, settings, submit))
        except SQLAlchemyError:
            # The database is away (restart, failover): keep the process, try next tick.
            log.exception("scheduler tick failed; retrying in %.0f s", interval)
        if once:
            break
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
    return created


def wait_for_jobs(
    session_factory: sessionmaker[Session], job_ids: list[str], stop: threading.Event
) -> None:
    """Block until every job has finished or ``stop`` is set (``--once`` running jobs here)."""
    pending = set(job_ids)
    while pending and not stop.is_set():
        with session_factory() as session:
            finished = session.scalars(
                select(Job.id).where(Job.id.in_(pending), Job.status.in_(("succeeded", "failed")))
            )
            pending -= set(finished)
        if pending:
            stop.wait(1.0)
