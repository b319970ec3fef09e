"""Demo data: 40 B2B customers in Shanghai and the POST /plan request built from them.

``python -m app.sample --out var/sample-request.json`` writes the request ``make run`` prints
a curl line for; tests and benchmarks call :func:`build_sample_request` directly.
"""

from app.sample.build import (
    build_sample_request,
    load_sample_customers,
    next_monday,
    parse_opening_hours,
)

__all__ = [
    "build_sample_request",
    "load_sample_customers",
    "next_monday",
    "parse_opening_hours",
]
