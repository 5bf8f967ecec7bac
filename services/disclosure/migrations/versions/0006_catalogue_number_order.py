"""The public catalogue's document-number searches served in publication order (D5).

A search by a number's leading part (``湖政办发〔2018〕``) filters on prefix and year and answers
newest first; with only ``(number_prefix, number_year, number_serial)`` the planner walked the
whole publication index backwards and discarded every other number (240,000 rows at a million
documents). This index gives those rows already in publication order.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_index(
        "ix_catalogue_number_published",
        "catalogue",
        ["number_prefix", "number_year", "published_at", "document_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_catalogue_number_published", table_name="catalogue")
