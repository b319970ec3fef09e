"""Bulk import of pool customers and reps from CSV and .xlsx files, over HTTP and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app import cli
from app.config import Settings
from app.main import create_app
from app.plans.schemas import Customer, Rep
from app.territories import pool
from app.territories.sample import NAME, create_sample_territory
from models import TerritoryCustomer
from tests.app.territories.conftest import KeyMaker

CSV = (
    "id,name,address,lat,lon,segment,need,can_pay,must_visit,rep_id,opening_hours,CRM tier\n"
    'C-1,Acme,"Pudong, 1 Keyuan Rd",31.21,121.59,ordered,explicit,true,false,rep-1,'
    '"mon-fri 09:00-12:00,14:00-17:30",A\n'
    "C-2,Beta,,31.20,121.60,prospect,latent,yes,1,,,B\n"
)


def upload(client: TestClient, tid: str, data: bytes, name: str = "pool.csv", **form: str) -> Any:
    return client.post(
        f"/territories/{tid}/customers/import",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
    )


def customers(client: TestClient, tid: str) -> dict[str, dict[str, Any]]:
    items = client.get(f"/territories/{tid}/customers", params={"limit": 1000}).json()["items"]
    return {c["id"]: c for c in items}


def test_csv_import_then_reimport_counts_created_updated_unchanged(
    admin: TestClient, territory_id: str
) -> None:
    """A CSV creates rows; the same file again changes nothing; an edited row is updated."""
    first = upload(admin, territory_id, CSV.encode())
    assert first.status_code == 200, first.text
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0, "errors": []}
    stored = customers(admin, territory_id)
    acme = stored["C-1"]
    assert acme["opening_hours"]["mon"] == [["09:00", "12:00"], ["14:00", "17:30"]]
    assert acme["rep_id"] == "rep-1"
    assert acme["attributes"] == {"CRM tier": "A"}  # unmapped columns are kept
    assert (stored["C-2"]["can_pay"], stored["C-2"]["must_visit"]) == (True, True)

    assert upload(admin, territory_id, CSV.encode()).json()["unchanged"] == 2
    edited = CSV.replace("C-2,Beta", "C-2,Beta Holdings")
    assert upload(admin, territory_id, edited.encode()).json()["updated"] == 1
    assert customers(admin, territory_id)["C-2"]["name"] == "Beta Holdings"


def test_bom_semicolons_and_gbk_with_chinese_headers(admin: TestClient, territory_id: str) -> None:
    """UTF-8 with BOM and ';' separators, and a GBK file with Chinese headers, both import."""
    bom = "\ufeffid;name;lat;lon\nC-1;Acme;31.2;121.5\n".encode()
    assert upload(admin, territory_id, bom).json()["created"] == 1
    gbk = "编号,客户名称,地址,纬度,经度,区域\nC-9,张江药谷,科苑路1278号,31.21,121.59,浦东\n"
    report = upload(admin, territory_id, gbk.encode("gbk"))
    assert report.json()["created"] == 1, report.text
    row = customers(admin, territory_id)["C-9"]
    assert (row["name"], row["address"], row["lat"], row["area"]) == (
        "张江药谷",
        "科苑路1278号",
        31.21,
        "浦东",
    )


def _xlsx(rows: list[list[Any]], sheet: str = "Pool", first: str | None = None) -> bytes:
    book = Workbook()
    if first is not None:
        book.active.title = first
        book.active.append(["nothing", "here"])
        target = book.create_sheet(sheet)
    else:
        target = book.active
        target.title = sheet
    for row in rows:
        target.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_typed_cells_and_a_named_sheet(admin: TestClient, territory_id: str) -> None:
    """.xlsx cells keep their types (numbers, booleans, dates); ``sheet`` picks the sheet."""
    data = _xlsx(
        [
            ["Code", "Company", "Latitude", "Longitude", "Stage", "Last visit", "Must visit"],
            [1001, "Acme", 31.21, 121.59, "ordered", dt.datetime(2026, 11, 3), True],
            [1002, "Beta", 31, 121, "维护", "2026/10/5", False],
        ],
        first="Notes",
    )
    broken = upload(admin, territory_id, data[:200], "pool.xlsx")
    assert broken.status_code == 422
    assert paths_of(broken) == ["file"]
    missing = upload(admin, territory_id, data, "pool.xlsx", sheet="Nope")
    assert missing.status_code == 422
    assert paths_of(missing) == ["sheet"]
    report = upload(admin, territory_id, data, "pool.xlsx", sheet="Pool")
    assert report.json() == {"created": 2, "updated": 0, "unchanged": 0, "errors": []}
    stored = customers(admin, territory_id)
    assert stored["1001"]["last_visit"] == "2026-11-03"
    assert stored["1001"]["must_visit"] is True
    assert (stored["1002"]["segment"], stored["1002"]["lat"]) == ("maintaining", 31.0)
    assert stored["1002"]["last_visit"] == "2026-10-05"


def paths_of(response: Any) -> list[str]:
    return [d["path"] for d in response.json()["error"]["details"]]


def test_mapping_names_their_headers(admin: TestClient, territory_id: str) -> None:
    """``mapping`` maps our fields to their headers; unknown fields or headers are 422."""
    data = b"Kundennr,Firma,Breite,Laenge\nK-1,Acme,48.1,11.5\n"
    mapping = {"id": "Kundennr", "name": "firma", "lat": "Breite", "lon": "Laenge"}
    report = upload(admin, territory_id, data, mapping=json.dumps(mapping))
    assert report.json()["created"] == 1, report.text
    assert customers(admin, territory_id)["K-1"]["lat"] == 48.1
    bad = upload(admin, territory_id, data, mapping=json.dumps({"idd": "Kundennr", "lat": "X"}))
    assert bad.status_code == 422
    assert paths_of(bad) == ["mapping.idd", "mapping.lat"]
    no_id = upload(admin, territory_id, data)
    assert no_id.status_code == 422
    assert paths_of(no_id) == ["mapping.id"]
    assert upload(admin, territory_id, data, mapping="{not json").status_code == 422


def test_bad_rows_are_reported_and_good_rows_kept(admin: TestClient, territory_id: str) -> None:
    """Each bad row is reported by row number and path; every other row is saved whole."""
    data = (
        b"id,name,lat,lon,segment,opening_hours,rep_id\n"
        b"C-1,Good,31.2,121.5,ordered,,\n"
        b"C-2,Bad coords,north,121.5,prospect,,\n"
        b"C-3,Bad segment,31.2,121.5,vip,,\n"
        b"\n"
        b"C-4,Bad hours,31.2,121.5,ordered,mon 25:00-26:00,\n"
        b"C-1,Again,31.2,121.5,ordered,,\n"
        b"C-5,Unknown rep,31.2,121.5,ordered,,ghost\n"
        b"C-6,Lat only,31.2,,ordered,,\n"
        b"C-7,Also good,31.3,121.4,maintaining,,rep-1\n"
        b"C-2,Fixed but repeated,31.2,121.5,prospect,,\n"
    )
    report = upload(admin, territory_id, data).json()
    assert (report["created"], report["updated"]) == (2, 0)
    found = {(e["row"], e["path"]) for e in report["errors"]}
    assert found == {
        (3, "lat"),
        (4, "segment"),
        (6, "opening_hours"),
        (7, "id"),
        (8, "rep_id"),
        (9, "lon"),
        (11, "id"),  # a repeated id is refused even when its first row was refused
    }
    duplicate = next(e for e in report["errors"] if e["row"] == 7)
    assert "row 2" in duplicate["message"]
    stored = customers(admin, territory_id)
    assert sorted(stored) == ["C-1", "C-7"]
    assert stored["C-1"]["name"] == "Good"  # the later duplicate changed nothing


def test_a_crash_mid_import_writes_nothing(
    territory_settings: Settings,
    make_key: KeyMaker,
    territory_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected failure after some rows were written leaves the pool as it was."""
    written: list[str] = []
    real_write = pool.Upserter.write

    def failing_write(self: pool.Upserter, record: Any) -> Any:
        if len(written) == 2:
            raise RuntimeError("disk on fire")
        written.append(record.id)
        return real_write(self, record)

    monkeypatch.setattr(pool.Upserter, "write", failing_write)
    data = b"id,lat,lon\nC-1,31.1,121.1\nC-2,31.2,121.2\nC-3,31.3,121.3\n"
    app = create_app(territory_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {make_key('territory')}"
        assert upload(client, territory_id, data).status_code == 500
        monkeypatch.setattr(pool.Upserter, "write", real_write)
        assert written == ["C-1", "C-2"]
        assert client.get(f"/territories/{territory_id}/customers").json()["total"] == 0


def test_size_and_row_limits_answer_413(
    territory_settings: Settings, make_key: KeyMaker, territory_id: str
) -> None:
    """Files over the byte or row limit are refused with 413 and nothing is written."""
    small = territory_settings.model_copy(
        update={"territory_import_max_rows": 2, "territory_import_max_bytes": 200}
    )
    with TestClient(create_app(small)) as client:
        client.headers["Authorization"] = f"Bearer {make_key('territory')}"
        rows = b"id\nC-1\nC-2\nC-3\n"
        too_many = upload(client, territory_id, rows)
        assert too_many.status_code == 413
        assert too_many.json()["error"]["code"] == "payload_too_large"
        too_big = upload(client, territory_id, b"id\n" + b"C-1234567\n" * 30)
        assert too_big.status_code == 413
        assert upload(client, territory_id, b"id\nC-1\nC-2\n").json()["created"] == 2


def test_raw_body_upload_and_rep_import(admin: TestClient, territory_id: str) -> None:
    """A file sent as the body imports too; rep files use flat columns for home and lunch."""
    raw = admin.post(
        f"/territories/{territory_id}/customers/import",
        content=b"Nr;Name\nC-1;Acme\n",
        headers={"Content-Type": "text/csv"},
        params={"mapping": json.dumps({"id": "Nr"})},
    )
    assert raw.json()["created"] == 1, raw.text
    reps = (
        "工号,姓名,地址,work_start,lunch_earliest,lunch_latest,lunch_minutes,hourly_value\n"
        "rep-1,Wang Fang,Century Park,08:30,11:30,13:30,45,300\n"
        "rep-2,Li Wei,,09:00,,,,\n"
    ).encode()
    report = admin.post(
        f"/territories/{territory_id}/reps/import", files={"file": ("reps.csv", reps)}
    ).json()
    assert (report["updated"], report["created"]) == (1, 0)
    assert [(e["row"], e["path"]) for e in report["errors"]] == [(3, "start")]
    rep = admin.get(f"/territories/{territory_id}/reps/rep-1").json()
    assert rep["start"] == {"address": "Century Park"}
    assert rep["lunch"] == {"earliest": "11:30", "latest": "13:30", "minutes": 45.0}
    assert (rep["work_start"], rep["hourly_value"]) == ("08:30", 300.0)


def test_cli_import_and_sample_territory(
    db_url: str,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI prints the import report (exit 1 when rows were refused); the sample is
    idempotent and its pool is valid POST /plan input."""
    monkeypatch.setenv("VP_DATABASE_URL", db_url)
    assert cli.main(["sample-territory"]) == 0
    tid = capsys.readouterr().out.strip()
    assert cli.main(["sample-territory"]) == 0
    assert capsys.readouterr().out.strip() == tid

    engine = create_engine(db_url, poolclass=NullPool)
    with Session(engine) as session:
        again = create_sample_territory(session, Settings(database_url=db_url))
        assert (again.customers.unchanged, again.reps.unchanged) == (40, 3)
        count = select(func.count()).select_from(TerritoryCustomer)
        assert session.scalar(count.where(TerritoryCustomer.territory_id == tid)) == 40
        pool_rows = session.scalars(select(TerritoryCustomer)).all()
        for row in pool_rows:  # a pool customer is a valid request customer
            Customer.model_validate(pool.customer_input(row))
        assert again.territory.name == NAME
        for rep in again.territory.reps:
            Rep.model_validate({k: v for k, v in pool.rep_input(rep).items() if v is not None})
        session.rollback()
    engine.dispose()

    file = tmp_path / "more.csv"
    file.write_text("id,name,segment\nC-900,New,ordered\nC-901,Broken,vip\n", encoding="utf-8")
    code = cli.main(["import-customers", "--territory", NAME, str(file)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["created"] == 1
    assert [(e["row"], e["path"]) for e in report["errors"]] == [(3, "segment")]
    mapped = cli.main(
        ["import-customers", "--territory", tid, str(file), "--mapping", '{"id": "nope"}']
    )
    assert mapped == 2
    assert "mapping.id" in capsys.readouterr().err
