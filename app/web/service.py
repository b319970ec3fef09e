"""Share links: find a plan by token for the page, mint new links, revoke old ones.

The page path reads stored rows only. Tokens are looked up by their sha256, so the raw token
never reaches the database (see app/plans/share_tokens.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Gone, NotFound
from app.plans import repository
from app.plans import service as plans
from app.plans.share_tokens import hash_token
from models import Plan, ShareLink, utcnow


@dataclass(frozen=True)
class IssuedLink:
    """A link just made: its URL (the only time the raw token is handed out by this call)."""

    share_url: str
    expires_at: datetime | None


def live_link(session: Session, token: str, now: datetime | None = None) -> ShareLink:
    """The link for ``token``; 404 when unknown, 410 when expired or revoked (one PK lookup)."""
    link = repository.get_share_link(session, hash_token(token))
    if link is None:
        raise NotFound("No itinerary matches this link")
    if not link.is_active(now or utcnow()):
        raise Gone("This itinerary link has expired or was revoked")
    return link


def shared_plan(session: Session, token: str, now: datetime | None = None) -> Plan:
    """The plan behind a live link; 404 for an unknown token, 410 for an expired or revoked one."""
    link = live_link(session, token, now)
    plan = repository.get_plan(session, link.plan_id)
    if plan is None:  # the foreign key cascades, so only a race gets here
        raise NotFound("No itinerary matches this link")
    return plan


def issue_link(
    session: Session,
    settings: Settings,
    plan_id: str,
    expires_at: datetime | None,
) -> IssuedLink:
    """A new link to an existing plan; earlier links keep working until revoked."""
    plans.get_plan(session, plan_id)
    url = plans.add_share_link(session, settings, plan_id, expires_at)
    return IssuedLink(share_url=url, expires_at=expires_at)


def expiry(
    settings: Settings,
    expires_in_days: int | None,
    expires_at: datetime | None,
    now: datetime | None = None,
) -> datetime:
    """When a new link stops working: as asked, else the configured default."""
    if expires_at is not None:
        return expires_at
    days = expires_in_days if expires_in_days is not None else settings.share_link_days
    return (now or utcnow()) + timedelta(days=days)


def revoke(session: Session, token: str) -> ShareLink:
    """Revoke a link by its token; revoking twice is harmless, an unknown token is a 404."""
    link = repository.revoke_share_link(session, hash_token(token))
    if link is None:
        raise NotFound("No share link with this token")
    return link
