"""The heartbeat that keeps a claimed job's lease alive while its handler runs.

A lease, not a lock: if the runner's process dies, nobody renews it, and once it expires
another runner may claim the job again. The heartbeat renews at a third of the lease so two
missed beats (a slow database, a long GIL hold) do not yet lose the job.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import repository

log = logging.getLogger("visit_planner.jobs")


class Heartbeat:
    """A daemon thread extending the lease of ``(job_id, attempt)`` until stopped."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        job_id: str,
        attempt: int,
        lease_seconds: float,
    ) -> None:
        self._session_factory = session_factory
        self._job_id = job_id
        self._attempt = attempt
        self._lease_seconds = lease_seconds
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"vp-lease-{job_id[:8]}", daemon=True
        )

    def _beat(self) -> None:
        while not self._stop.wait(self._lease_seconds / 3):
            try:
                with self._session_factory() as session:
                    held = repository.extend_lease(
                        session, self._job_id, self._attempt, self._lease_seconds
                    )
                    session.commit()
            except SQLAlchemyError:
                # A busy SQLite file or a database blip: the next beat tries again.
                log.warning("could not extend the lease of job %s", self._job_id, exc_info=True)
                continue
            if not held:
                log.warning("job %s was taken over; its result will be discarded", self._job_id)
                self.lost.set()
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
