"""All SQL about plans and share links. Functions flush, never commit: the caller owns the
transaction (the request or the job), so a failure later in the same unit rolls this back too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from models import Plan, PlanDay, ShareLink, utcnow


def add_plan(session: Session, plan: Plan) -> None:
    """Stage ``plan`` with its days, stops and unassigned rows, and flush to surface errors."""
    session.add(plan)
    session.flush()


def get_plan(session: Session, plan_id: str, version: int | None = None) -> Plan | None:
    """The newest version (or ``version``) of the plan whose lineage id is ``plan_id``.

    Everything a response or page renders is loaded in three extra queries. The API's
    ``plan_id`` is always the first version's id, so links and integrations made before a
    replan keep pointing at the plan and see its current state.
    """
    statement = (
        select(Plan)
        .where(Plan.lineage_id == plan_id)
        .order_by(Plan.version.desc())
        .limit(1)
        .options(
            selectinload(Plan.days).selectinload(PlanDay.stops),
            selectinload(Plan.unassigned),
        )
    )
    if version is not None:
        statement = statement.where(Plan.version == version)
    return session.scalars(statement).one_or_none()


def list_versions(session: Session, lineage_id: str) -> list[Plan]:
    """Every version of a lineage, oldest first, without days or stops (only counts are shown)."""
    statement = select(Plan).where(Plan.lineage_id == lineage_id).order_by(Plan.version)
    return list(session.scalars(statement))


def add_share_link(
    session: Session,
    plan_id: str,
    expires_at: datetime | None,
    *,
    token_hash: str,
    nonce: str | None,
) -> ShareLink:
    """Store a new link to ``plan_id`` by its token's hash; older links stay valid."""
    link = ShareLink(
        token_hash=token_hash,
        nonce=nonce,
        plan_id=plan_id,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(link)
    session.flush()
    return link


def get_share_link(session: Session, token_hash: str) -> ShareLink | None:
    """The link with this token hash whatever its state; the caller picks 200, 404 or 410."""
    return session.get(ShareLink, token_hash)


def live_share_links(
    session: Session, plan_id: str, now: datetime | None = None
) -> list[ShareLink]:
    """The plan's links that still work at ``now`` (default: the present), newest first.

    Expired links are skipped as well as revoked ones: a response must not hand out a URL
    that already answers 410.
    """
    now = now or utcnow()
    statement = (
        select(ShareLink)
        .where(
            ShareLink.plan_id == plan_id,
            ShareLink.revoked_at.is_(None),
            or_(ShareLink.expires_at.is_(None), ShareLink.expires_at > now),
        )
        .order_by(ShareLink.created_at.desc(), ShareLink.token_hash)
    )
    return list(session.scalars(statement))


def revoke_share_link(
    session: Session, token_hash: str, now: datetime | None = None
) -> ShareLink | None:
    """Revoke the link, keeping the first revocation time; ``None`` if the hash is unknown."""
    link = session.get(ShareLink, token_hash)
    if link is not None and link.revoked_at is None:
        link.revoked_at = now or utcnow()
        session.flush()
    return link
