"""``python -m app.sample [--start YYYY-MM-DD] [--out PATH]``: write the demo POST /plan body."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from app.sample.address_only import address_only
from app.sample.build import build_sample_request, next_monday


def main(argv: Sequence[str] | None = None) -> int:
    """Build the sample request and write it to ``--out`` (or stdout)."""
    parser = argparse.ArgumentParser(
        prog="python -m app.sample",
        description="Write a POST /plan request for 2 reps and 40 customers in Shanghai.",
    )
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        help="first day of the horizon, YYYY-MM-DD (default: next Monday)",
    )
    parser.add_argument("--out", type=Path, help="file to write (default: stdout)")
    parser.add_argument(
        "--address-only",
        action="store_true",
        help="customers with Chinese addresses and no lat/lon (offline district geocoding)",
    )
    args = parser.parse_args(argv)

    start: date = args.start or next_monday(date.today())
    request = build_sample_request(start)
    if args.address_only:
        request = address_only(request)
    body = json.dumps(request, ensure_ascii=False, indent=2) + "\n"
    out: Path | None = args.out
    if out is None:
        sys.stdout.write(body)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
        print(f"wrote {out} (horizon starts {start.isoformat()})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
