"""Webhook endpoints remember their owner's roles and department claim (deliveries are filtered
by what the owner may read).

Endpoints created before this revision take the roles and department of their owner's
registered API client; an owner that is not registered here (tokens of an external identity
provider) gets no roles, so its endpoints receive public events only until the owner changes
the endpoint with a token again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column(
        "webhook_endpoints",
        sa.Column("owner_roles", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column("webhook_endpoints", sa.Column("owner_department", sa.String(128)))
    op.execute(
        "UPDATE webhook_endpoints AS e SET owner_roles = c.roles, owner_department = c.department "
        "FROM api_clients AS c WHERE c.client_id = e.owner"
    )
