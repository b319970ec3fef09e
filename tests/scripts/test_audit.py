"""The dependency audit: which advisories fail the build, and what it cannot vouch for."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import audit

VULN = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001", "GHSA-xxxx"],
    "fixed_in": ["2.0.1"],
    "summary": "remote code execution",
    "withdrawn": None,
}


class FakePyPI:
    """Per-release and project documents keyed by URL; ``down`` simulates no network."""

    def __init__(
        self,
        releases: dict[tuple[str, str], dict[str, Any]],
        projects: dict[str, dict[str, Any]],
        *,
        per_release: bool = True,
        down: bool = False,
    ) -> None:
        self.releases = releases
        self.projects = projects
        self.per_release = per_release
        self.down = down
        self.urls: list[str] = []

    def __call__(self, url: str) -> dict[str, Any] | None:
        self.urls.append(url)
        if self.down:
            raise OSError("no route to host")
        parts = url.removeprefix(audit.PYPI + "/").removesuffix("/json").split("/")
        if len(parts) == 2:
            if not self.per_release:
                return None
            return self.releases.get((parts[0], parts[1]))
        return self.projects.get(parts[0])


def test_a_vulnerable_release_is_a_finding_with_its_fix() -> None:
    pypi = FakePyPI({("some-lib", "2.0.0"): {"vulnerabilities": [VULN]}}, {})
    report = audit.audit([("Some_Lib", "2.0.0")], pypi)
    assert [(f.name, f.advisory, f.fixed_in) for f in report.findings] == [
        ("Some_Lib", "PYSEC-2099-1", ("2.0.1",))
    ]
    assert pypi.urls == [f"{audit.PYPI}/some-lib/2.0.0/json"]  # PEP 503 name


def test_clean_withdrawn_and_ignored_advisories_do_not_fail() -> None:
    withdrawn = {**VULN, "id": "PYSEC-2099-2", "withdrawn": "2099-01-01T00:00:00Z"}
    pypi = FakePyPI(
        {
            ("a", "1.0"): {"vulnerabilities": []},
            ("b", "1.0"): {"vulnerabilities": [withdrawn]},
            ("c", "1.0"): {"vulnerabilities": [VULN]},
        },
        {},
    )
    report = audit.audit([("a", "1.0"), ("b", "1.0"), ("c", "1.0")], pypi, ignore=["CVE-2099-0001"])
    assert report.findings == []
    assert sorted(report.audited) == [("a", "1.0"), ("b", "1.0"), ("c", "1.0")]


def test_without_per_release_documents_only_the_newest_release_is_vouched_for() -> None:
    pypi = FakePyPI(
        {},
        {
            "new": {"info": {"version": "3.0"}, "vulnerabilities": [VULN]},
            "old": {"info": {"version": "9.0"}, "vulnerabilities": []},
        },
        per_release=False,
    )
    report = audit.audit([("new", "3.0"), ("old", "1.0"), ("gone", "1.0")], pypi)
    assert [f.name for f in report.findings] == ["new"]
    assert report.audited == [("new", "3.0")]
    assert {(n, why.split(" ")[0]) for n, _, why in report.not_audited} == {
        ("old", "only"),
        ("gone", "not"),
    }
    assert not report.unreachable


def test_no_network_is_reported_not_passed_as_clean() -> None:
    report = audit.audit([("a", "1.0"), ("b", "2.0")], FakePyPI({}, {}, down=True))
    assert report.unreachable
    assert report.audited == []
    assert report.findings == []
    assert len(report.not_audited) == 2


@pytest.mark.parametrize(
    ("findings", "unreachable", "offline_ok", "expected"),
    [
        ([], False, False, 0),
        ([audit.Finding("x", "1", "PYSEC-1", (), "bad")], False, False, 1),
        ([], True, False, 2),
        ([], True, True, 0),
    ],
)
def test_exit_status(
    monkeypatch: pytest.MonkeyPatch,
    findings: list[audit.Finding],
    unreachable: bool,
    offline_ok: bool,
    expected: int,
) -> None:
    report = audit.Report(findings=findings, unreachable=unreachable)
    monkeypatch.setattr(audit, "installed", lambda exclude: [("x", "1")])
    monkeypatch.setattr(audit, "audit", lambda dists, fetch, ignore: report)
    argv = ["--offline-ok"] if offline_ok else []
    assert audit.main(argv) == expected
