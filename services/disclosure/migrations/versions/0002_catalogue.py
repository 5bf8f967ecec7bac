"""Catalogue metadata, index numbers, version states, exemptions and the public catalogue.

Documents registered before this revision get their index numbers here, in registration order
within each year of formation, and the counters continue from them.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

from services.disclosure.settings import DisclosureSettings

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    _add_document_columns()
    _add_version_columns()
    op.create_table(
        "exemptions",
        sa.Column("document_id", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("ground", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("signed_by", sa.String(64)),
        sa.Column("decided_by_client", sa.String(128)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("comment", sa.Text),
        sa.PrimaryKeyConstraint("document_id", "version", name="pk_exemptions"),
        sa.ForeignKeyConstraint(
            ["document_id", "version"],
            ["document_versions.document_id", "document_versions.version"],
            name="fk_exemptions_version",
        ),
    )
    op.create_table(
        "index_counters",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last_serial", sa.Integer, nullable=False),
    )
    _create_catalogue()
    _backfill_index_numbers()
    for column in ("index_number", "index_year", "index_serial", "issuing_organ"):
        op.alter_column("documents", column, nullable=False)
    op.create_unique_constraint("uq_documents_index_number", "documents", ["index_number"])
    op.create_unique_constraint("uq_documents_index_serial", "documents", ["index_year", "index_serial"])


def _add_document_columns() -> None:
    op.add_column("documents", sa.Column("index_number", sa.String(64)))
    op.add_column("documents", sa.Column("index_year", sa.Integer))
    op.add_column("documents", sa.Column("index_serial", sa.Integer))
    op.add_column("documents", sa.Column("issuing_organ", sa.String(32)))
    op.drop_index("ix_documents_department", table_name="documents")
    op.create_index("ix_documents_created", "documents", ["created_at", "id"])
    op.create_index(
        "ix_documents_department_created", "documents", ["drafting_department", "created_at", "id"]
    )


def _add_version_columns() -> None:
    op.add_column("document_versions", sa.Column("title", sa.Text))
    op.execute("UPDATE document_versions v SET title = d.title FROM documents d WHERE d.id = v.document_id")
    op.alter_column("document_versions", "title", nullable=False)
    for column in (
        sa.Column("body", sa.Text, nullable=False, server_default=""),
        sa.Column("subject_words", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("disclosure_mode", sa.String(16), nullable=False, server_default="proactive"),
        sa.Column("scope", sa.String(64), nullable=False, server_default="面向社会"),
        sa.Column("validity", sa.String(16), nullable=False, server_default="valid"),
        sa.Column("attachments", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("change_reason", sa.Text),
        sa.Column("formed_by", sa.String(128)),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("publication_url", sa.Text),
        sa.Column("published_on_time", sa.Boolean),
        sa.Column("published_by", sa.String(128)),
        sa.Column("overdue_at", sa.DateTime(timezone=True)),
        sa.Column("superseded_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("document_versions", column)
    op.create_index(
        "ix_document_versions_open",
        "document_versions",
        ["deadline"],
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_document_versions_formed_on", "document_versions", ["formed_on"])


def _create_catalogue() -> None:
    op.create_table(
        "catalogue",
        sa.Column("document_id", sa.String(40), sa.ForeignKey("documents.id"), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("index_number", sa.String(64), nullable=False),
        sa.Column("document_number", sa.String(64), nullable=False),
        sa.Column("number_prefix", sa.String(32), nullable=False),
        sa.Column("number_year", sa.Integer, nullable=False),
        sa.Column("number_serial", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("issuing_organ", sa.String(32), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("formed_on", sa.Date, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("subject_words", ARRAY(sa.Text), nullable=False),
        sa.Column("disclosure_mode", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("validity", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attachments", JSONB, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("search", TSVECTOR, nullable=False),
    )
    op.create_index("ix_catalogue_published", "catalogue", ["published_at", "document_id"])
    for name, column in (
        ("department", "department"),
        ("year", "year"),
        ("validity", "validity"),
        ("mode", "disclosure_mode"),
    ):
        op.create_index(f"ix_catalogue_{name}", "catalogue", [column, "published_at", "document_id"])
    op.create_index("ix_catalogue_number", "catalogue", ["number_prefix", "number_year", "number_serial"])
    op.create_index("ix_catalogue_number_year", "catalogue", ["number_year", "number_serial"])
    op.create_index("ix_catalogue_subjects", "catalogue", ["subject_words"], postgresql_using="gin")
    op.create_index("ix_catalogue_search", "catalogue", ["search"], postgresql_using="gin")


def _backfill_index_numbers() -> None:
    settings = DisclosureSettings()
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT d.id, d.document_number, extract(year FROM v.formed_on)::int AS year "
            "FROM documents d JOIN document_versions v ON v.document_id = d.id AND v.version = 1 "
            "ORDER BY year, d.created_at, d.id"
        )
    ).all()
    serials: dict[int, int] = defaultdict(int)
    for row in rows:
        serials[row.year] += 1
        prefix = row.document_number.split("〔", 1)[0]
        bind.execute(
            sa.text(
                "UPDATE documents SET index_number = :number, index_year = :year, index_serial = :serial, "
                "issuing_organ = :organ WHERE id = :id"
            ),
            {
                "id": row.id,
                "year": row.year,
                "serial": serials[row.year],
                "number": settings.index_number_pattern.format(
                    organisation=settings.organisation_code, year=row.year, serial=serials[row.year]
                ),
                # 湖政办发 (with 办) is the office's number, 湖政发 the government's.
                "organ": "government-office" if "办" in prefix else "government",
            },
        )
    for year, last in serials.items():
        bind.execute(
            sa.text("INSERT INTO index_counters (year, last_serial) VALUES (:year, :last)"),
            {"year": year, "last": last},
        )


def downgrade() -> None:
    op.drop_table("catalogue")
    op.drop_table("index_counters")
    op.drop_table("exemptions")
    for index in ("ix_document_versions_formed_on", "ix_document_versions_open"):
        op.drop_index(index, table_name="document_versions")
    for column in (
        "superseded_at",
        "overdue_at",
        "published_by",
        "published_on_time",
        "publication_url",
        "published_at",
        "status",
        "formed_by",
        "change_reason",
        "attachments",
        "validity",
        "scope",
        "disclosure_mode",
        "subject_words",
        "body",
        "title",
    ):
        op.drop_column("document_versions", column)
    op.drop_index("ix_documents_department_created", table_name="documents")
    op.drop_index("ix_documents_created", table_name="documents")
    op.create_index("ix_documents_department", "documents", ["drafting_department", "id"])
    for constraint in ("uq_documents_index_serial", "uq_documents_index_number"):
        op.drop_constraint(constraint, "documents", type_="unique")
    for column in ("issuing_organ", "index_serial", "index_number", "index_year"):
        op.drop_column("documents", column)
