"""The uploaded file of an import request: ``multipart/form-data`` or the file as the body.

FastAPI's ``UploadFile``/``Form`` need the ``python-multipart`` package, which this service does
not install; the one form this endpoint takes (a ``file`` part plus the text fields ``mapping``
and ``sheet``) is parsed here with the standard library instead. Clients that cannot send a
form may send the file itself as the body (``Content-Type: text/csv`` or the .xlsx type) with
``mapping``, ``sheet`` and ``filename`` as query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from typing import Annotated, Any

from fastapi import Depends, Request

from app.errors import ErrorDetail, TooLarge, ValidationFailed

FORM_FIELDS = ("file", "mapping", "sheet")

# The OpenAPI description of the request body (the parameters are read by hand).
OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "mapping": {
                            "type": "string",
                            "description": 'JSON: our field -> your header, e.g. {"id": "编号"}',
                        },
                        "sheet": {"type": "string", "description": ".xlsx: sheet name"},
                    },
                }
            },
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@dataclass(frozen=True)
class Upload:
    """The file's bytes and name, and the import's options."""

    data: bytes
    filename: str | None
    mapping: str | None
    sheet: str | None


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [ErrorDetail(path, message)])


def parse_form(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``multipart/form-data`` -> field name -> (file name, content)."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise _invalid("body", "multipart/form-data without a boundary")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for segment in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if segment.startswith(b"--"):
            break
        head, separator, content = segment.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise _invalid("body", "A part of the form has no blank line after its headers")
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace"))
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = (headers.get_filename(), content.removesuffix(b"\r\n"))
    return fields


def _text(fields: dict[str, tuple[str | None, bytes]], name: str) -> str | None:
    if name not in fields:
        return None
    try:
        return fields[name][1].decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(name, f"{name} should be UTF-8 text") from None


async def read_upload(request: Request) -> Upload:
    """The request's file and options, refused with 413 beyond ``territory_import_max_bytes``."""
    limit: int = request.app.state.settings.territory_import_max_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(f"The upload exceeds {limit} bytes (VP_TERRITORY_IMPORT_MAX_BYTES)")
    body = await request.body()
    if len(body) > limit:
        raise TooLarge(f"The upload exceeds {limit} bytes (VP_TERRITORY_IMPORT_MAX_BYTES)")
    content_type = request.headers.get("content-type", "")
    query = request.query_params
    if not content_type.lower().startswith("multipart/form-data"):
        if not body:
            raise _invalid("file", "No file: send it as the form field 'file' or as the body")
        return Upload(body, query.get("filename"), query.get("mapping"), query.get("sheet"))
    fields = parse_form(body, content_type)
    if "file" not in fields:
        raise _invalid("file", "The form has no 'file' field")
    filename, data = fields["file"]
    return Upload(
        data,
        filename,
        _text(fields, "mapping") or query.get("mapping"),
        _text(fields, "sheet") or query.get("sheet"),
    )


UploadDep = Annotated[Upload, Depends(read_upload)]
