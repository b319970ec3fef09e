"""Share links: store sha256(token) instead of the token, plus the nonce that derives it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 11:05:00+00:00

Existing raw tokens are hashed in place, so links already handed out keep working; they get
no nonce, so ``share_url`` is no longer shown for them (the server cannot re-derive them).
The downgrade cannot recover raw tokens: it keeps the hashes in the ``token`` column, which
turns every existing link into a 404 on the old code.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _hash_existing_tokens() -> None:
    if op.get_context().as_sql:
        # Offline SQL scripts cannot run Python; PostgreSQL 11+ hashes in SQL.
        op.execute(
            "UPDATE share_links SET token = encode(sha256(convert_to(token, 'UTF8')), 'hex')"
        )
        return
    connection = op.get_bind()
    links = sa.table("share_links", sa.column("token", sa.String))
    tokens = connection.execute(sa.select(links.c.token)).scalars().all()
    for token in tokens:
        digest = hashlib.sha256(token.encode()).hexdigest()
        connection.execute(links.update().where(links.c.token == token).values(token=digest))


def upgrade() -> None:
    _hash_existing_tokens()
    with op.batch_alter_table("share_links") as batch:
        batch.alter_column(
            "token", new_column_name="token_hash", existing_type=sa.String(length=64), existing_nullable=False
        )
        batch.add_column(sa.Column("nonce", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("share_links") as batch:
        batch.drop_column("nonce")
        batch.alter_column(
            "token_hash", new_column_name="token", existing_type=sa.String(length=64), existing_nullable=False
        )
