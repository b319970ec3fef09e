"""``visit-planner worker``: a Celery worker process serving the configured Redis queue."""

from __future__ import annotations

import argparse
import os
import sys

from app.config import Settings

EXIT_ERROR = 2


def worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="jobs run at once, one process each (default: one per core)",
    )
    parser.add_argument(
        "--loglevel",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: %(default)s)",
    )


def worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run until stopped (SIGTERM: finish the jobs in hand, then exit)."""
    if not settings.redis_url:
        print(
            "visit-planner worker: VP_REDIS_URL is not set; workers take jobs from Redis, "
            "e.g. VP_REDIS_URL=redis://127.0.0.1:6379/0",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if args.concurrency is not None and args.concurrency < 1:
        print("visit-planner worker: --concurrency must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    from app.jobs.celery_app import make_celery

    # A node name per process: several workers on one host stay apart in logs and control.
    argv = [
        "worker",
        f"--loglevel={args.loglevel}",
        f"--hostname=visit-planner-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    if args.concurrency is not None:
        argv.append(f"--concurrency={args.concurrency}")
    make_celery(settings).worker_main(argv)
    return 0
