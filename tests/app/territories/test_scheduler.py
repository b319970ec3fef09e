"""The scheduler: fire-time and week arithmetic, catch-up, restarts, and two schedulers at once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import make_engine, make_session_factory
from app.jobs.repository import add_job
from app.territories import runs, scheduler
from models import Job, Schedule, Territory, TerritoryRun

SHANGHAI = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
SUNDAY_20 = "0 20 * * sun"
# Wednesday 2026-12-16, 11:00 in Shanghai.
NOW = datetime(2026, 12, 16, 3, 0, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- pure arithmetic --


def test_sunday_evening_in_shanghai_plans_the_next_day() -> None:
    """Sunday 20:00 Asia/Shanghai (12:00 UTC) plans the week starting the next day."""
    fire = datetime(2026, 12, 6, 20, 0, tzinfo=ZoneInfo(SHANGHAI))
    assert scheduler.planned_week(fire, SHANGHAI) == date(2026, 12, 7)
    assert scheduler.planned_week(fire.astimezone(UTC), SHANGHAI) == date(2026, 12, 7)


def test_planned_week_uses_the_local_date_not_the_utc_date() -> None:
    """Monday 01:00 Shanghai is still Sunday in UTC, yet plans the Monday a week later."""
    fire = utc(2026, 12, 6, 17, 0)  # Monday 2026-12-07 01:00 in Shanghai
    assert scheduler.planned_week(fire, SHANGHAI) == date(2026, 12, 14)
    assert scheduler.planned_week(fire, "UTC") == date(2026, 12, 7)


@pytest.mark.parametrize("day", range(7, 14))
def test_every_weekday_plans_the_first_monday_strictly_after(day: int) -> None:
    """Monday 7th to Sunday 13th: Monday plans the 14th (never its own week), so do the rest."""
    fire = datetime(2026, 12, day, 12, tzinfo=ZoneInfo(SHANGHAI))
    week = scheduler.planned_week(fire, SHANGHAI)
    assert week == date(2026, 12, 14)
    assert week.weekday() == 0


def test_week_ends_at_local_midnight_after_its_sunday() -> None:
    """The week of Mon 14th is current until Sunday 20th 23:59 local, over from Monday 00:00."""
    week = date(2026, 12, 14)
    assert not scheduler.week_ended(week, SHANGHAI, utc(2026, 12, 20, 15, 59))
    assert scheduler.week_ended(week, SHANGHAI, utc(2026, 12, 20, 16, 0))


def test_weekly_fires_in_shanghai_are_at_noon_utc() -> None:
    """Three Sundays 20:00 +08:00 in a three-week window, as UTC instants, ascending."""
    fires = scheduler.fire_times(SUNDAY_20, SHANGHAI, utc(2026, 11, 30), utc(2026, 12, 21))
    assert fires == [utc(2026, 12, 6, 12), utc(2026, 12, 13, 12), utc(2026, 12, 20, 12)]


def test_window_is_open_at_the_start_and_closed_at_the_end() -> None:
    """A fire at exactly ``after`` is not repeated; one at exactly ``until`` is included."""
    fire = utc(2026, 12, 6, 12)
    assert scheduler.fire_times(SUNDAY_20, SHANGHAI, fire, fire + timedelta(days=6)) == []
    assert scheduler.fire_times(SUNDAY_20, SHANGHAI, fire - timedelta(seconds=1), fire) == [fire]


def test_weekly_fire_keeps_local_time_across_dst_in_berlin() -> None:
    """Sunday 20:00 Berlin is 19:00 UTC in winter and 18:00 UTC in summer."""
    fires = scheduler.fire_times(SUNDAY_20, BERLIN, utc(2026, 3, 20), utc(2026, 4, 6))
    assert fires == [utc(2026, 3, 22, 19), utc(2026, 3, 29, 18), utc(2026, 4, 5, 18)]


def test_a_skipped_wall_time_fires_after_the_spring_jump() -> None:
    """02:30 does not exist on 2026-03-29 in Berlin: that day it fires at 03:30 CEST, once."""
    fires = scheduler.fire_times("30 2 * * *", BERLIN, utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    assert fires == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    assert fires[1].astimezone(ZoneInfo(BERLIN)).hour == 3


def test_a_repeated_wall_time_fires_once_in_the_autumn() -> None:
    """02:30 happens twice on 2026-10-25 in Berlin: it fires once, at the first (CEST)."""
    fires = scheduler.fire_times("30 2 * * *", BERLIN, utc(2026, 10, 23, 12), utc(2026, 10, 26, 12))
    assert fires == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_fires_in_the_spring_gap_come_out_sorted_without_repeats() -> None:
    """02:00/02:30 land on 03:00/03:30 CEST, which also fire: two instants, in order."""
    fires = scheduler.fire_times(
        "0,30 2,3 * * *", BERLIN, utc(2026, 3, 28, 23), utc(2026, 3, 29, 6)
    )
    assert fires == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]


def test_next_fire_times_are_local_to_the_schedule() -> None:
    """The answer's next fires carry the schedule's offset, ascending, exactly ``count``."""
    fires = scheduler.next_fire_times(SUNDAY_20, SHANGHAI, NOW, 3)
    assert [f.isoformat() for f in fires] == [
        "2026-12-20T20:00:00+08:00",
        "2026-12-27T20:00:00+08:00",
        "2027-01-03T20:00:00+08:00",
    ]


def test_catch_up_floor_excludes_only_ended_weeks() -> None:
    """The floor's first fire still plans a live week; the minute before it, an ended one."""
    floor = scheduler.catch_up_floor(SHANGHAI, NOW)
    assert floor == datetime(2026, 12, 2, tzinfo=ZoneInfo(SHANGHAI))
    before = floor - timedelta(minutes=1)
    assert scheduler.week_ended(scheduler.planned_week(before, SHANGHAI), SHANGHAI, NOW)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 20 * * sun 5", "5 fields"),
        ("@weekly", "5 fields"),
        ("61 20 * * sun", "valid"),
        ("0 20 * * funday", "valid"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_check_cron_refuses_what_the_scheduler_cannot_use(expression: str, message: str) -> None:
    """Six fields, aliases, out-of-range values and impossible dates are refused, saying why."""
    with pytest.raises(scheduler.InvalidCron, match=message):
        scheduler.check_cron(expression)


def test_check_cron_normalises_spaces() -> None:
    """Extra spaces are dropped so the stored line is canonical."""
    assert scheduler.check_cron("  0  20 * *   sun ") == SUNDAY_20


# -- tick on a real database --


@pytest.fixture
def factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url)


def add_schedule(
    session_factory: sessionmaker[Session],
    name: str,
    *,
    cron: str = SUNDAY_20,
    timezone: str = SHANGHAI,
    last_fire_at: datetime | None = None,
    created_at: datetime = LONG_AGO,
    enabled: bool = True,
) -> int:
    """A territory with one schedule; the schedule's id."""
    with session_factory() as session:
        session.add(Territory(id=name, name=name, timezone=timezone))
        schedule = Schedule(
            territory_id=name,
            cron=cron,
            timezone=timezone,
            enabled=enabled,
            last_fire_at=last_fire_at,
            created_at=created_at,
        )
        session.add(schedule)
        session.commit()
        return schedule.id


def all_runs(session_factory: sessionmaker[Session]) -> list[TerritoryRun]:
    with session_factory() as session:
        return list(
            session.scalars(
                select(TerritoryRun).order_by(TerritoryRun.territory_id, TerritoryRun.week_start)
            )
        )


def last_fire(session_factory: sessionmaker[Session], schedule_id: int) -> datetime | None:
    with session_factory() as session:
        return session.get_one(Schedule, schedule_id).last_fire_at


def test_catch_up_after_downtime_plans_only_the_current_week(
    factory: sessionmaker[Session], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Down since two Sundays ago: the week already over is skipped (logged), this one planned."""
    sid = add_schedule(factory, "t1", last_fire_at=utc(2026, 11, 29, 12))
    submitted: list[str] = []
    with caplog.at_level(logging.WARNING, logger="visit_planner.scheduler"):
        created = scheduler.tick(factory, settings, submitted.append, NOW)
    [run] = all_runs(factory)
    assert created == [run.id]
    assert (run.week_start, run.trigger, run.schedule_id) == (date(2026, 12, 14), "schedule", sid)
    assert run.schedule_key == "t1:2026-12-14"
    assert run.fire_at == utc(2026, 12, 13, 12)
    assert submitted == [run.job_id]
    assert last_fire(factory, sid) == utc(2026, 12, 13, 12)
    assert "1 fires from 2026-12-06T12:00:00+00:00 to 2026-12-06T12:00:00+00:00 skipped" in (
        caplog.text
    )


def test_long_downtime_skips_without_enumerating_old_fires(
    factory: sessionmaker[Session], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A cursor a year old: one log line for the skipped stretch, the current week planned."""
    sid = add_schedule(factory, "t1", cron="*/5 * * * *", last_fire_at=utc(2025, 12, 1))
    with caplog.at_level(logging.WARNING, logger="visit_planner.scheduler"):
        created = scheduler.tick(factory, settings, lambda _: None, NOW)
    weeks = [r.week_start for r in all_runs(factory)]
    # Fires from Mon 14th on plan the 21st; the floor's (2nd Dec) weeks of the 7th ended.
    assert weeks == [date(2026, 12, 14), date(2026, 12, 21)]
    assert len(created) == 2
    assert "fires from 2025-12-01T00:05:00+00:00 to 2026-12-01T16:00:00+00:00" in caplog.text
    # Wed 2nd to Sun 6th, every 5 minutes, plan the ended week of the 7th: one line for all.
    assert "1439 fires from 2026-12-01T16:05:00+00:00 to 2026-12-06T15:55:00+00:00" in caplog.text
    assert len(caplog.records) == 2
    assert last_fire(factory, sid) == utc(2026, 12, 16, 3, 0)


def test_restart_at_the_same_instant_plans_nothing_twice(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """A second tick (a restarted scheduler) at the same now, or later that week, adds nothing."""
    add_schedule(factory, "t1", last_fire_at=utc(2026, 12, 6, 12))
    submitted: list[str] = []
    assert len(scheduler.tick(factory, settings, submitted.append, NOW)) == 1
    assert scheduler.tick(factory, settings, submitted.append, NOW) == []
    later = NOW + timedelta(days=2)
    assert scheduler.tick(factory, settings, submitted.append, later) == []
    assert len(all_runs(factory)) == 1
    assert len(submitted) == 1


def test_a_stale_cursor_hits_the_unique_key_and_is_skipped(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """Another scheduler planned the week but our cursor is old: the insert fails, we skip it."""
    sid = add_schedule(factory, "t1", last_fire_at=utc(2026, 12, 6, 12))
    first: list[str] = []
    scheduler.tick(factory, settings, first.append, NOW)
    with factory() as session:
        session.get_one(Schedule, sid).last_fire_at = utc(2026, 12, 6, 12)
        session.commit()
    second: list[str] = []
    assert scheduler.tick(factory, settings, second.append, NOW) == []
    assert second == []
    assert len(all_runs(factory)) == 1
    assert last_fire(factory, sid) == utc(2026, 12, 13, 12)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_quiet_stretch_before_the_floor_is_not_reported_as_skipped(
    factory: sessionmaker[Session], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A yearly schedule idle for months logs nothing and keeps its cursor at the floor."""
    sid = add_schedule(factory, "t1", cron="0 9 1 7 *", last_fire_at=utc(2026, 7, 1, 1))
    with caplog.at_level(logging.WARNING, logger="visit_planner.scheduler"):
        assert scheduler.tick(factory, settings, lambda _: None, NOW) == []
    assert "skipped" not in caplog.text
    assert last_fire(factory, sid) == scheduler.catch_up_floor(SHANGHAI, NOW)


def test_disabled_schedules_and_new_ones_do_not_fire_the_past(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """A disabled schedule never fires; a new one starts after its creation, not before."""
    add_schedule(factory, "off", last_fire_at=utc(2026, 12, 6, 12), enabled=False)
    add_schedule(factory, "new", created_at=utc(2026, 12, 13, 13))
    assert scheduler.tick(factory, settings, lambda _: None, NOW) == []
    assert all_runs(factory) == []


def test_one_failing_schedule_does_not_hold_up_the_others(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """A run that cannot be created leaves that cursor in place; other territories are planned."""
    bad = add_schedule(factory, "bad", last_fire_at=utc(2026, 12, 6, 12))
    add_schedule(factory, "good", last_fire_at=utc(2026, 12, 6, 12))

    def create_run(session: Session, territory_id: str, *args: Any, **kwargs: Any) -> TerritoryRun:
        if territory_id == "bad":
            raise RuntimeError("boom")
        return runs.create_run(session, territory_id, *args, **kwargs)

    created = scheduler.tick(factory, settings, lambda _: None, NOW, create_run=create_run)
    assert [r.territory_id for r in all_runs(factory)] == ["good"]
    assert len(created) == 1
    assert last_fire(factory, bad) == utc(2026, 12, 6, 12)


def test_submit_failure_leaves_the_job_queued_for_the_next_start(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """The run is committed before submitting: a broker outage leaves it queued and found."""
    add_schedule(factory, "t1", last_fire_at=utc(2026, 12, 6, 12))

    def broken(_: str) -> None:
        raise ConnectionError("broker down")

    [run_id] = scheduler.tick(factory, settings, broken, NOW)
    [run] = all_runs(factory)
    assert run.id == run_id
    assert scheduler.queued_run_jobs(factory) == [run.job_id]
    with factory() as session:
        child = add_job(session, "rep_plan", {"run_id": run.id}, parent_id=run.job_id)
        manual = runs.create_run(session, "t1", date(2026, 12, 14), "manual")
        session.commit()
    # Its queued sub-jobs too, but not a manual run's job (its caller submits that).
    assert sorted(scheduler.queued_run_jobs(factory)) == sorted([str(run.job_id), child.id])
    assert manual.job_id not in scheduler.queued_run_jobs(factory)


def test_loop_outlives_a_database_outage() -> None:
    """A tick that cannot reach the database is logged; the loop goes on until stopped."""
    calls: list[int] = []

    def unreachable() -> Session:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    stop = threading.Event()
    threading.Timer(0.35, stop.set).start()
    created = scheduler.run_loop(
        cast(sessionmaker[Session], unreachable),
        Settings(database_url="sqlite://"),
        lambda _: None,
        interval=0.1,
        stop=stop,
    )
    assert created == []
    assert len(calls) >= 2


TERRITORIES = 40


def test_two_schedulers_at_once_plan_each_week_exactly_once(db_url: str) -> None:
    """Two schedulers (own engines, started together) over 40 territories: one run per week."""
    engines = [make_engine(Settings(database_url=db_url)) for _ in range(3)]
    try:
        factories = [make_session_factory(e) for e in engines]
        # Daily 20:00 since last Wednesday: Thu-Sun fires plan the 14th, Mon-Tue the 21st.
        for i in range(TERRITORIES):
            add_schedule(
                factories[0], f"t{i:02d}", cron="0 20 * * *", last_fire_at=utc(2026, 12, 9, 12)
            )
        settings = Settings(database_url=db_url)
        barrier = threading.Barrier(2)
        lock = threading.Lock()
        submitted: list[str] = []
        created: list[list[str]] = [[], []]
        errors: list[BaseException] = []

        def submit(job_id: str) -> None:
            with lock:
                submitted.append(job_id)

        def scheduler_thread(index: int) -> None:
            try:
                barrier.wait(timeout=10)
                created[index] = scheduler.tick(factories[index + 1], settings, submit, NOW)
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=scheduler_thread, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        found = all_runs(factories[0])
        keys = [(r.territory_id, r.week_start) for r in found]
        expected = [
            (f"t{i:02d}", week)
            for i in range(TERRITORIES)
            for week in (date(2026, 12, 14), date(2026, 12, 21))
        ]
        assert keys == expected
        assert sorted(created[0] + created[1]) == sorted(r.id for r in found)
        assert sorted(submitted) == sorted(str(r.job_id) for r in found)
        assert len(set(submitted)) == len(submitted)
        with factories[0]() as session:
            assert session.scalar(select(func.count()).select_from(Job)) == len(found)
    finally:
        for engine in engines:
            engine.dispose()


# -- the command --


def command_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "VP_DATABASE_URL": database_url,
        "VP_SOLVER_PROCESSES": "0",
        "VP_JOB_EXECUTOR": "inprocess",
    }


def test_scheduler_once_runs_its_jobs_in_process(sqlite_url: str) -> None:
    """``--once`` with the in-process executor queues the run and exits after its job ran."""
    engine = make_engine(Settings(database_url=sqlite_url))
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    add_schedule(factory, "t1", cron="0 * * * *", last_fire_at=now - timedelta(hours=3))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "scheduler", "--once"],
            env=command_env(sqlite_url),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        assert "1 runs queued" in done.stderr.decode()
        [run] = all_runs(factory)
        with factory() as session:
            # A territory without reps fails its run; what matters is that this process ran it.
            assert session.get_one(Job, str(run.job_id)).status in ("succeeded", "failed")
    finally:
        engine.dispose()


def test_scheduler_command_enqueues_and_stops_on_sigterm(sqlite_url: str) -> None:
    """A real ``visit-planner scheduler`` process queues the due run and exits 0 on SIGTERM."""
    engine = make_engine(Settings(database_url=sqlite_url))
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    add_schedule(factory, "t1", cron="0 * * * *", last_fire_at=now - timedelta(hours=3))
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "scheduler", "--interval", "0.5"],
        env=command_env(sqlite_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not all_runs(factory) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()
    assert process.returncode == 0, stderr.decode()
    [run] = all_runs(factory)
    assert run.trigger == "schedule"
    assert run.schedule_key == f"t1:{run.week_start.isoformat()}"
