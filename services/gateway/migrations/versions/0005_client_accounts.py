"""API clients managed through the API: disabled, changed (a token generation that ends older
tokens), listed in creation order, and every change kept in ``api_client_changes``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column(
        "api_clients",
        sa.Column("token_generation", sa.Integer, nullable=False, server_default=sa.text("0")),
    )
    op.add_column("api_clients", sa.Column("disabled_at", sa.DateTime(timezone=True)))
    op.add_column("api_clients", sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.create_index("ix_api_clients_created", "api_clients", ["created_at", "client_id"])
    op.create_table(
        "api_client_changes",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.Column("request_id", sa.String(128)),
    )
    op.create_index("ix_api_client_changes_at", "api_client_changes", ["at", "id"])
    op.create_index("ix_api_client_changes_client", "api_client_changes", ["client_id", "at", "id"])


def downgrade() -> None:
    op.drop_table("api_client_changes")
    op.drop_index("ix_api_clients_created", "api_clients")
    op.drop_column("api_clients", "updated_at")
    op.drop_column("api_clients", "disabled_at")
    op.drop_column("api_clients", "token_generation")
