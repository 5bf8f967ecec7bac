"""Exemption sign-offs judged on their instant (D2/D3): who entered a sign-off and when, beside the
instant it states (the office backfills paper sign-offs), and an overdue withdrawn by a backfilled
sign-off made in time, kept beside the original overdue record.

``decided_by_client`` (the client that entered the decision) becomes ``recorded_by``; decisions
made before this revision were entered when they were made, so ``recorded_at`` is ``decided_at``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.alter_column("exemptions", "decided_by_client", new_column_name="recorded_by")
    op.add_column("exemptions", sa.Column("recorded_at", sa.DateTime(timezone=True)))
    op.add_column(
        "exemptions", sa.Column("backfilled", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.execute("UPDATE exemptions SET recorded_at = decided_at WHERE decided_at IS NOT NULL")
    op.add_column("document_versions", sa.Column("overdue_withdrawn_at", sa.DateTime(timezone=True)))
    op.add_column("document_versions", sa.Column("overdue_withdrawn_by", sa.String(128)))


def downgrade() -> None:
    op.drop_column("document_versions", "overdue_withdrawn_by")
    op.drop_column("document_versions", "overdue_withdrawn_at")
    op.drop_column("exemptions", "backfilled")
    op.drop_column("exemptions", "recorded_at")
    op.alter_column("exemptions", "recorded_by", new_column_name="decided_by_client")
