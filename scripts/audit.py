"""Fail when an installed dependency has a known vulnerability (``make test`` runs this).

The data is PyPI's, the same as pip-audit's default service: the JSON API lists, per release,
the advisories of the Python Packaging Advisory Database and OSV (``vulnerabilities``). We ask
``/pypi/<name>/<version>/json`` for each distribution installed in the running environment
(the versions the tests ran against, which is what "pinned" means for a project without a
lock file). Some networks (mirrors, proxies) only serve the project document
``/pypi/<name>/json``, whose ``vulnerabilities`` are those of the newest release: we use it
when the installed version *is* the newest, and otherwise report the distribution as not
audited instead of pretending it is clean. Why our own ~150 lines rather than pip-audit: in
the environment this project is built in, pip-audit's per-release look-ups and OSV are not
reachable, and pip-audit then reports every dependency as "not found" and exits 0.

Exit status: 0 clean (not-audited ones are listed), 1 a vulnerability was found, 2 PyPI could
not be reached at all (with ``--offline-ok``: 0 and a warning, for machines without network).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

PYPI = "https://pypi.org/pypi"
TIMEOUT_SECONDS = 15.0

# url -> parsed JSON document, or None when PyPI answers 404 for it; raises OSError when
# PyPI cannot be reached.
Fetch = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Finding:
    """One advisory that applies to an installed version."""

    name: str
    version: str
    advisory: str
    fixed_in: tuple[str, ...]
    summary: str


@dataclass(slots=True)
class Report:
    """What was checked and what was found."""

    audited: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    not_audited: list[tuple[str, str, str]] = field(default_factory=list)  # name, version, why
    unreachable: bool = False


def normalise(name: str) -> str:
    """PEP 503 name, as PyPI's URLs want it."""
    out = name.lower()
    for ch in "_.":
        out = out.replace(ch, "-")
    return out


def fetch_json(url: str) -> dict[str, Any] | None:
    """GET a PyPI JSON document (None on 404)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            document: dict[str, Any] = json.load(response)
            return document
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise OSError(f"PyPI answered {exc.code} for {url}") from exc


def _advisories(
    name: str, version: str, document: dict[str, Any], ignore: set[str]
) -> list[Finding]:
    found = []
    for vuln in document.get("vulnerabilities") or []:
        if vuln.get("withdrawn"):
            continue
        ids = {vuln.get("id", ""), *(vuln.get("aliases") or [])}
        if ids & ignore:
            continue
        found.append(
            Finding(
                name=name,
                version=version,
                advisory=str(vuln.get("id", "?")),
                fixed_in=tuple(vuln.get("fixed_in") or ()),
                summary=str(vuln.get("summary") or vuln.get("details") or "")[:200],
            )
        )
    return found


def audit_one(
    name: str, version: str, fetch: Fetch, ignore: set[str]
) -> tuple[list[Finding], str | None]:
    """Advisories for one installed distribution, or why it could not be audited."""
    key = normalise(name)
    release = fetch(f"{PYPI}/{key}/{version}/json")
    if release is not None:
        return _advisories(name, version, release, ignore), None
    project = fetch(f"{PYPI}/{key}/json")
    if project is None:
        return [], "not on PyPI"
    latest = str((project.get("info") or {}).get("version", ""))
    if latest != version:
        return [], f"only the newest release ({latest}) can be looked up here"
    return _advisories(name, version, project, ignore), None


def audit(
    dists: Iterable[tuple[str, str]], fetch: Fetch, ignore: Iterable[str] = (), workers: int = 16
) -> Report:
    """Check every (name, version); PyPI unreachable for all of them sets ``unreachable``."""
    ignored = set(ignore)
    report = Report()
    items = sorted(set(dists))
    errors: list[tuple[str, str, str]] = []

    def one(item: tuple[str, str]) -> tuple[list[Finding], str | None, str | None]:
        try:
            return (*audit_one(item[0], item[1], fetch, ignored), None)
        except OSError as exc:
            return [], None, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for (name, version), (findings, why, error) in zip(
            items, pool.map(one, items), strict=True
        ):
            if error is not None:
                errors.append((name, version, f"PyPI not reachable: {error}"))
            elif why is not None:
                report.not_audited.append((name, version, why))
            else:
                report.audited.append((name, version))
                report.findings.extend(findings)
    report.not_audited.extend(errors)
    report.unreachable = bool(items) and len(errors) == len(items)
    return report


def installed(exclude: Sequence[str]) -> list[tuple[str, str]]:
    """The running environment's distributions, minus ``exclude`` (the project itself)."""
    skip = {normalise(n) for n in exclude}
    found = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and normalise(name) not in skip:
            found.add((name, dist.version))
    return sorted(found)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; the exit status says whether the build may go on."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ignore", action="append", default=[], help="advisory id to accept")
    parser.add_argument("--exclude", action="append", default=["visit-planner"])
    parser.add_argument("--offline-ok", action="store_true", help="no network: warn, exit 0")
    args = parser.parse_args(argv)
    report = audit(installed(args.exclude), fetch_json, args.ignore)
    for f in report.findings:
        fixed = ", ".join(f.fixed_in) or "no fix yet"
        print(f"VULNERABLE {f.name} {f.version}: {f.advisory} (fixed in {fixed}) {f.summary}")
    if report.unreachable:
        message = "audit: PyPI's JSON API could not be reached; nothing was audited"
        print(message, file=sys.stderr)
        return 0 if args.offline_ok else 2
    print(
        f"audit: {len(report.audited)} distributions audited, {len(report.findings)} "
        f"known vulnerabilities, {len(report.not_audited)} not audited"
    )
    for name, version, why in report.not_audited:
        print(f"  not audited: {name} {version}: {why}")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
