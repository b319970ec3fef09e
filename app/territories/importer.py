"""Bulk import of reps and pool customers from CSV or Excel (``.xlsx``) files.

A file is read whole (bounded by size and rows), its header matched to our fields (a given
``mapping``, else names and common aliases, case-insensitively, Chinese CRM headers included),
and every row turned into the API's record shape and upserted through ``app.territories.pool``:
the same checks as the JSON API. Problems with the file itself (unreadable, unknown mapping,
no id column) refuse the whole import (422); problems with a row are reported with its
spreadsheet row number and the row is skipped, every good row is kept. The caller's single
transaction holds every write, so a crash part-way writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from app.errors import AppError, ErrorDetail, TooLarge, ValidationFailed
from app.sample.build import parse_opening_hours
from app.territories.pool import Kind, Upserter
from app.territories.schemas import RowError, UpsertReport
from models import Territory

HEADER_ROW = 1
_XLSX_MAGIC = b"PK\x03\x04"

# Field -> aliases (after _normalise). The field's own name always matches.
CUSTOMER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("externalid", "customerid", "code", "客户编号", "客户编码", "客户id", "编号"),
    "name": ("customername", "company", "客户名称", "名称", "公司名称", "客户"),
    "address": ("addr", "地址", "详细地址", "客户地址"),
    "lat": ("latitude", "纬度"),
    "lon": ("lng", "long", "longitude", "经度"),
    "segment": ("stage", "客户阶段", "阶段", "客户类型"),
    "need": ("需求",),
    "can_pay": ("canpay", "支付能力", "付款能力"),
    "decision_maker": ("decisionmaker", "kp", "决策人"),
    "visit_minutes": ("visitminutes", "duration", "拜访时长"),
    "priority": ("优先级",),
    "must_visit": ("mustvisit", "必访"),
    "rep_id": ("repid", "rep", "owner", "负责人", "业务员"),
    "area": ("district", "region", "区域"),
    "opening_hours": ("openinghours", "hours", "营业时间"),
    "cadence_days": ("cadencedays", "cadence", "拜访周期"),
    "last_visit": ("lastvisit", "lastvisitdate", "上次拜访", "最近拜访"),
    "active": ("启用",),
}
REP_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("repid", "externalid", "工号", "员工编号"),
    "name": ("repname", "姓名"),
    "start_lat": ("startlat", "lat", "latitude", "homelat", "纬度"),
    "start_lon": ("startlon", "lon", "lng", "longitude", "homelon", "经度"),
    "start_address": ("startaddress", "address", "home", "homeaddress", "地址"),
    "end_lat": ("endlat",),
    "end_lon": ("endlon",),
    "end_address": ("endaddress",),
    "work_start": ("workstart", "上班时间"),
    "work_end": ("workend", "下班时间"),
    "lunch_earliest": ("lunchearliest",),
    "lunch_latest": ("lunchlatest",),
    "lunch_minutes": ("lunchminutes",),
    "max_visits_per_day": ("maxvisitsperday", "maxvisits"),
    "hourly_value": ("hourlyvalue", "时薪"),
    "currency": ("币种",),
    "active": ("启用",),
}
_FLOATS = {"lat", "lon", "visit_minutes", "hourly_value", "lunch_minutes"} | {
    f"{p}_{c}" for p in ("start", "end") for c in ("lat", "lon")
}
_INTS = {"priority", "cadence_days", "max_visits_per_day"}
_BOOLS = {"can_pay", "decision_maker", "must_visit", "active"}
_TIMES = {"work_start", "work_end", "lunch_earliest", "lunch_latest"}
_TRUE = {"true", "yes", "y", "1", "是", "有", "t"}
_FALSE = {"false", "no", "n", "0", "否", "无", "f"}
_CHOICES = {
    "segment": {"潜在": "prospect", "潜在客户": "prospect", "维护": "maintaining",
                "维护中": "maintaining", "已成交": "ordered", "已下单": "ordered"},
    "need": {"明确": "explicit", "显性": "explicit", "潜在": "latent", "隐性": "latent",
             "无": "none"},
}  # fmt: skip
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d")


@dataclass(frozen=True)
class Table:
    """A file's header and its data rows, each with its spreadsheet row number."""

    header: list[str]
    rows: list[tuple[int, list[Any]]]


def _too_large(what: str) -> TooLarge:
    return TooLarge(f"The file has more than {what}")


def _file_error(message: str, path: str = "file") -> ValidationFailed:
    return ValidationFailed(message, [ErrorDetail(path, message)])


def _normalise(header: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(header or "").strip().lower())


def _decode(data: bytes) -> str:
    # UTF-8 (with or without BOM) first; Chinese Excel saves CSV as GBK, read as its superset.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error("The CSV file is neither UTF-8 nor GBK text")


def _read_csv(data: bytes, max_rows: int) -> Table:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        rows: list[tuple[int, list[Any]]] = []
        for number, row in enumerate(reader, start=HEADER_ROW + 1):
            if len(rows) >= max_rows:
                raise _too_large(f"{max_rows} rows (VP_TERRITORY_IMPORT_MAX_ROWS)")
            rows.append((number, list(row)))
    except csv.Error as error:
        raise _file_error(f"The CSV file is malformed: {error}") from None
    return Table(header, rows)


def _read_xlsx(data: bytes, sheet: str | None, max_rows: int) -> Table:
    # A damaged upload can fail deep inside openpyxl or its XML parser with almost any
    # exception; it is the client's file that is wrong, so each becomes a 422, never a 500.
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:
        raise _file_error(f"The .xlsx file cannot be read: {error}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            names = ", ".join(book.sheetnames)
            raise _file_error(f"No sheet {sheet!r}; the file has: {names}", "sheet")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        values: Iterator[tuple[Any, ...]] = worksheet.iter_rows(values_only=True)
        header = [("" if v is None else str(v)) for v in next(values, ())]
        rows: list[tuple[int, list[Any]]] = []
        for number, row in enumerate(values, start=HEADER_ROW + 1):
            if len(rows) >= max_rows:
                raise _too_large(f"{max_rows} rows (VP_TERRITORY_IMPORT_MAX_ROWS)")
            rows.append((number, list(row)))
    except AppError:
        raise
    except Exception as error:
        raise _file_error(f"The .xlsx file cannot be read: {error}") from None
    finally:
        book.close()
    return Table(header, rows)


def read_table(data: bytes, filename: str | None, sheet: str | None, max_rows: int) -> Table:
    """The header and rows of a CSV or .xlsx file (told apart by content, then by name)."""
    name = (filename or "").lower()
    if name.endswith(".xls") and not data.startswith(_XLSX_MAGIC):
        raise _file_error("Old .xls files are not supported; save the sheet as .xlsx or CSV")
    if data.startswith(_XLSX_MAGIC) or name.endswith(".xlsx"):
        return _read_xlsx(data, sheet, max_rows)
    return _read_csv(data, max_rows)


def column_map(
    header: list[str], kind: Kind, mapping: dict[str, str] | None
) -> tuple[dict[str, int], dict[str, int]]:
    """Our field -> column index, and the other columns (kept as customer ``attributes``).

    ``mapping`` (our field -> their header) wins; other fields match by name or alias.
    """
    aliases = REP_ALIASES if kind == "rep" else CUSTOMER_ALIASES
    by_name = {_normalise(h): i for i, h in reversed(list(enumerate(header))) if _normalise(h)}
    fields: dict[str, int] = {}
    problems: list[ErrorDetail] = []
    for ours, theirs in (mapping or {}).items():
        if ours not in aliases:
            known = ", ".join(aliases)
            problems.append(ErrorDetail(f"mapping.{ours}", f"Unknown field; known: {known}"))
        elif _normalise(theirs) not in by_name:
            shown = ", ".join(h for h in header if h)
            problems.append(
                ErrorDetail(f"mapping.{ours}", f"No column {theirs!r} in the file; it has: {shown}")
            )
        else:
            fields[ours] = by_name[_normalise(theirs)]
    for ours, others in aliases.items():
        if ours in fields:
            continue
        for candidate in (_normalise(ours), *others):
            index = by_name.get(candidate)
            if index is not None and index not in fields.values():
                fields[ours] = index
                break
    if "id" not in fields and not problems:
        problems.append(
            ErrorDetail("mapping.id", 'No id column: name one with mapping, e.g. {"id": "Code"}')
        )
    if problems:
        raise ValidationFailed("The file's columns cannot be used", problems)
    used = set(fields.values())
    extras = {header[i]: i for i in range(len(header)) if i not in used and header[i].strip()}
    return fields, extras


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 1001 as 1001.0
    return str(value).strip()


def _cell(field: str, value: Any) -> tuple[Any, str | None]:
    """A cell as the value the API would accept for ``field`` (or as-is, for it to refuse)."""
    if isinstance(value, str):
        value = value.strip()
    if field in _FLOATS:
        if isinstance(value, str):
            try:
                return float(value), None
            except ValueError:
                return value, None
        return value, None
    if field in _INTS:
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.0+)?", value):
            return int(float(value)), None
        return (int(value) if isinstance(value, float) and value.is_integer() else value), None
    if field in _BOOLS:
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE, None
        return value, None
    if field in _TIMES:
        return (
            value.strftime("%H:%M") if isinstance(value, dt.time | dt.datetime) else value
        ), None
    if field == "last_visit":
        return _date(value), None
    if field == "opening_hours":
        return _hours(value)
    if field in _CHOICES and isinstance(value, str):
        return _CHOICES[field].get(value, value.lower()), None
    return _text(value), None


def _date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        for pattern in _DATE_FORMATS:
            try:
                return dt.datetime.strptime(value, pattern).date()
            except ValueError:
                continue
    return value


def _hours(value: Any) -> tuple[Any, str | None]:
    text = str(value).strip()
    if text.startswith("{"):
        try:
            return json.loads(text), None
        except ValueError as error:
            return None, f"opening_hours is not valid JSON: {error}"
    try:
        return parse_opening_hours(text), None
    except ValueError as error:
        return None, f"{error}; write e.g. 'mon-fri 09:00-12:00,14:00-17:30'"


def _nest_rep(flat: dict[str, Any]) -> dict[str, Any]:
    """Flat rep columns (start_lat, lunch_minutes...) into the API's nested rep shape."""
    record = {k: v for k, v in flat.items() if not k.startswith(("start_", "end_", "lunch_"))}
    for group in ("start", "end", "lunch"):
        parts = {k.split("_", 1)[1]: v for k, v in flat.items() if k.startswith(group + "_")}
        if parts:
            given = {k: v for k, v in parts.items() if v is not None}
            record[group] = given or None
    return record


def row_record(
    row: list[Any], kind: Kind, fields: dict[str, int], extras: dict[str, int]
) -> tuple[dict[str, Any], list[ErrorDetail]]:
    """One row as an API record (blank cells: ``None``, i.e. reset), and conversion problems."""
    record: dict[str, Any] = {}
    problems: list[ErrorDetail] = []
    for field, index in fields.items():
        value = row[index] if index < len(row) else None
        if value is None or (isinstance(value, str) and not value.strip()):
            record[field] = None
            continue
        converted, problem = _cell(field, value)
        if problem is not None:
            problems.append(ErrorDetail(field, problem))
        record[field] = converted
    if kind == "customer" and extras:
        record["attributes"] = {
            header: (None if index >= len(row) or row[index] in (None, "") else _text(row[index]))
            for header, index in extras.items()
        }
    return (_nest_rep(record) if kind == "rep" else record), problems


def import_rows(
    session: Session,
    territory: Territory,
    kind: Kind,
    table: Table,
    mapping: dict[str, str] | None = None,
) -> UpsertReport:
    """Upsert every good row of ``table``; report the bad ones. Flushes, never commits."""
    fields, extras = column_map(table.header, kind, mapping)
    upserter = Upserter(session, territory, kind)
    id_column = fields["id"]
    upserter.preload(
        [_text(row[id_column]) for _, row in table.rows if id_column < len(row) and row[id_column]]
    )
    report = UpsertReport()
    for number, row in table.rows:
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row):
            continue
        record, problems = row_record(row, kind, fields, extras)
        checked, found = upserter.check(record, origin=f"row {number}")
        problems += found
        if checked is None or problems:
            report.errors += [
                RowError(row=number, path=p.path, message=p.message) for p in problems
            ]
            continue
        outcome = upserter.write(checked)
        setattr(report, outcome, getattr(report, outcome) + 1)
    session.flush()
    return report


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """The ``mapping`` form field or CLI option: a JSON object of strings, else 422."""
    if text is None or not text.strip():
        return None
    try:
        mapping = json.loads(text)
    except ValueError as error:
        raise _file_error(f"mapping is not valid JSON: {error}", "mapping") from None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise _file_error(
            'mapping should be a JSON object of strings, e.g. {"id": "Code"}', "mapping"
        )
    return mapping


def import_file(
    session: Session,
    territory: Territory,
    kind: Kind,
    data: bytes,
    *,
    filename: str | None = None,
    mapping: str | None = None,
    sheet: str | None = None,
    max_rows: int,
) -> UpsertReport:
    """Read, map and upsert one file (the HTTP endpoints and the CLI both come here)."""
    parsed = parse_mapping(mapping)
    return import_rows(
        session, territory, kind, read_table(data, filename, sheet, max_rows), parsed
    )
