"""Share-link routes: the rep's itinerary page, its calendar, its assets, link management.

Pages answer HTML even for errors (a rep taps a link, not an API): 404 for an unknown token,
410 for an expired or revoked one. Every page sends ``noindex``, no referrer (the token is in
the URL) and a Content-Security-Policy without inline script.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app import idempotency
from app.config import Settings
from app.deps import ApiKeyDep, SessionDep, SettingsDep
from app.errors import ErrorDetail, Gone, NotFound, ValidationFailed
from app.outcomes import repository as outcomes
from app.plans.responses import ErrorOut
from app.plans.schemas import Instant
from app.web import service
from app.web.cache import CachedPage, PageCache, app_page_cache
from app.web.i18n import STRINGS, Lang, negotiate
from app.web.ics import plan_calendar
from app.web.view import PageView, build_page, customer_addresses, map_data
from models import OUTCOME_STATUSES, utcnow

router = APIRouter(tags=["share"])

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
_env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 422, 429)
}
# Both bodies spelled out: FastAPI would file a ``model`` under the route's own media type.
_PAGE_ERROR_CONTENT = {
    "text/html": {"schema": {"type": "string"}},
    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}},
}
PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "Unknown link: an HTML page for browsers, else the JSON error",
        "content": _PAGE_ERROR_CONTENT,
    },
    410: {
        "description": "Expired or revoked link: an HTML page for browsers, else the JSON error",
        "content": _PAGE_ERROR_CONTENT,
    },
}


def _tile_origin(tile_url: str) -> str | None:
    """The CSP source for the tile server, ``{s}`` subdomains as a wildcard."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def page_headers(settings: Settings) -> dict[str, str]:
    """Headers of every share page: no indexing, no referrer, a strict CSP, no caching."""
    images = " ".join(filter(None, ["'self'", "data:", _tile_origin(settings.share_tile_url)]))
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
        # A revoked link must stop working at once, so nothing may keep a copy.
        "Cache-Control": "no-store",
    }


def _page_cache(request: Request) -> PageCache:
    """This app's cache of rendered pages, made on first use (apps never share one)."""
    return app_page_cache(request.app.state)


def _language(request: Request, lang: str | None) -> Lang:
    return negotiate(lang, request.headers.get("accept-language"))


def _error_page(
    request: Request, error: NotFound | Gone, lang: Lang, settings: Settings
) -> HTMLResponse:
    """The friendly page for a browser; anything else (scripts, calendar apps) gets the
    contract's JSON error, so API clients keep one error shape."""
    if "text/html" not in request.headers.get("accept", ""):
        raise error
    kind = "gone" if isinstance(error, Gone) else "missing"
    html = _env.get_template("error.html").render(t=STRINGS[lang], lang=lang, kind=kind)
    return HTMLResponse(html, status_code=error.status_code, headers=page_headers(settings))


def outcome_config(token: str, language: Lang) -> dict[str, Any]:
    """What the page script needs for the outcome buttons: where to POST, and the labels."""
    t = STRINGS[language]
    return {
        "url": f"/s/{token}/outcomes",
        "labels": {status: t[f"outcome_{status}"] for status in OUTCOME_STATUSES},
        "confirm": t["outcome_confirm"],
        "failed": t["outcome_failed"],
    }


def render_template(
    page: PageView, config: dict[str, Any], token: str, language: Lang = "en"
) -> str:
    """The itinerary HTML; ``config`` becomes the page's JSON data block (escaped by tojson)."""
    return _env.get_template("share.html").render(
        t=STRINGS[language],
        lang=language,
        other_lang="en" if language == "zh" else "zh",
        page=page,
        config=config,
        token=token,
    )


@router.get("/static/share/{path:path}", include_in_schema=False)
def static_asset(path: str) -> FileResponse:
    """Vendored page assets (CSS, JS, Leaflet); cached a day, as they change only on deploy."""
    target = (STATIC_DIR / path).resolve()
    if (
        not target.is_relative_to(STATIC_DIR.resolve())
        or not target.is_file()
        or target.suffix not in _STATIC_TYPES
    ):
        raise NotFound("No such asset")
    return FileResponse(
        target,
        media_type=_STATIC_TYPES[target.suffix],
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get(
    "/s/{token}.ics",
    response_class=Response,
    responses={
        200: {
            "description": "iCalendar",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
        **PAGE_ERRORS,
        422: {"model": ErrorOut},
    },
)
def share_calendar(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    date: Annotated[dt.date | None, Query(description="Only this day (YYYY-MM-DD)")] = None,
    lang: str | None = None,
) -> Response:
    """The shared plan as an iCalendar file (one event per visit); ``?date=`` for one day."""
    try:
        plan = service.shared_plan(session, token)
    except (NotFound, Gone) as error:
        return _error_page(request, error, _language(request, lang), settings)
    if date is not None and all(d.date != date for d in plan.days):
        raise ValidationFailed(
            "The plan has no visits that day", [ErrorDetail("date", "not a day of this plan")]
        )
    page_url = f"{settings.public_base_url.rstrip('/')}/s/{token}"
    body = plan_calendar(plan, customer_addresses(plan.request), page_url, only=date)
    name = f"visits-{date.isoformat()}.ics" if date else "visits.ics"
    headers = page_headers(settings) | {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


@router.get("/s/{token}", response_class=HTMLResponse, responses=PAGE_ERRORS)
def share_page(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: str | None = None,
) -> HTMLResponse:
    """The rep's itinerary page for a share link (HTML, mobile first)."""
    language = _language(request, lang)
    now = utcnow()
    try:
        link = service.live_link(session, token, now)
    except (NotFound, Gone) as error:
        return _error_page(request, error, language, settings)
    cache = _page_cache(request)
    key = (link.plan_id, language, link.token_hash)
    # A re-plan or an outcome recorded by any process changes the stamp (see app/web/cache.py).
    stamp = outcomes.plan_stamp(session, link.plan_id)
    cached = cache.get(key, now, stamp)
    if cached is not None:
        return HTMLResponse(cached, headers=page_headers(settings))
    plan = service.shared_plan(session, token, now)
    recorded = {o.customer_id: o.status for o in outcomes.list_outcomes(session, link.plan_id)}
    page = build_page(plan, language, now, recorded)
    config = {
        "tiles": settings.share_tile_url,
        "attribution": settings.share_tile_attribution,
        "days": map_data(page),
        "outcomes": outcome_config(token, language),
    }
    html = render_template(page, config, token, language)
    local_date = now.astimezone(ZoneInfo(plan.timezone)).date().isoformat()
    cache.put(key, CachedPage(plan.timezone, local_date, html, stamp))
    return HTMLResponse(html, headers=page_headers(settings))


class ShareCreate(BaseModel):
    """When the new link expires: in N days or at a time; neither means the server default."""

    model_config = ConfigDict(extra="forbid")

    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    expires_at: Instant | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> ShareCreate:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give expires_in_days or expires_at, not both")
        return self


class ShareOut(BaseModel):
    """A link just made; the token in ``share_url`` is shown here and is stored only hashed."""

    share_url: str
    expires_at: AwareDatetime | None


@router.post(
    "/plans/{plan_id}/share",
    status_code=status.HTTP_201_CREATED,
    response_model=ShareOut,
    dependencies=[ApiKeyDep],
    responses=ERRORS,
)
def create_share(
    plan_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    body: ShareCreate | None = None,
) -> Any:
    """Create another share link to a plan (earlier links keep working).

    With an ``Idempotency-Key`` header, a retry returns the first answer (the same link)
    instead of making another (also while the first is still running).
    """
    body = body or ShareCreate()
    asked = body

    def work() -> ShareOut:
        expires = service.expiry(settings, asked.expires_in_days, asked.expires_at)
        if expires <= utcnow():
            raise ValidationFailed(
                "Invalid expiry", [ErrorDetail("body.expires_at", "must be in the future")]
            )
        issued = service.issue_link(session, settings, plan_id, expires)
        session.commit()
        return ShareOut(share_url=issued.share_url, expires_at=issued.expires_at)

    return idempotency.idempotent(
        request,
        endpoint=f"POST /plans/{plan_id}/share",
        body=body.model_dump(mode="json", by_alias=True, exclude_unset=True),
        response_model=ShareOut,
        status_code=status.HTTP_201_CREATED,
        work=work,
    )


@router.delete(
    "/shares/{token}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[ApiKeyDep],
    responses=ERRORS,
)
def revoke_share(token: str, session: SessionDep) -> Response:
    """Revoke a share link: its page answers 410 from now on."""
    service.revoke(session, token)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
