"""Encrypted ballots with a trustee-held election key and a homomorphic tally (E3, E5).

Rounds created before this revision keep their plain ballot box and are marked ``scheme =
'plain'`` (cast under the old scheme: readable and tallied as before). New rounds are
``'encrypted'``: trustees (``round_trustees``) run a dealer-free key ceremony whose public
material (X25519 box keys, Feldman commitments, sealed shares the service cannot open) is kept
here; ballots are ciphertexts with proofs and a tracker; the trustees' partial decryptions of
the per-department aggregates are kept with their proofs. No private key or share is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("rounds", sa.Column("scheme", sa.String(16), nullable=False, server_default="plain"))
    op.add_column("rounds", sa.Column("trustee_count", sa.Integer))
    op.add_column("rounds", sa.Column("threshold", sa.Integer))
    op.add_column("rounds", sa.Column("election_key", sa.String(64)))
    op.add_column("rounds", sa.Column("aggregate", JSONB))

    op.create_table(
        "round_trustees",
        sa.Column("round_id", sa.String(16), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("trustee_index", sa.Integer, nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("box_key", sa.String(64)),
        sa.Column("commitments", JSONB),
        sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("registered_at", sa.DateTime(timezone=True)),
        sa.Column("dealt_at", sa.DateTime(timezone=True)),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("round_id", "trustee_index", name="pk_round_trustees"),
        sa.UniqueConstraint("round_id", "account", name="uq_round_trustees_account"),
    )
    op.create_table(
        "trustee_shares",
        sa.Column("round_id", sa.String(16), nullable=False),
        sa.Column("dealer", sa.Integer, nullable=False),
        sa.Column("recipient", sa.Integer, nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "dealer", "recipient", name="pk_trustee_shares"),
    )
    op.create_table(
        "encrypted_ballots",
        sa.Column("round_id", sa.String(16), nullable=False),
        sa.Column("tracker", sa.String(64), nullable=False),
        sa.Column("ballot", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "tracker", name="pk_encrypted_ballots"),
    )
    op.create_table(
        "sealed_reasons",
        sa.Column("round_id", sa.String(16), nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "id", name="pk_sealed_reasons"),
    )
    op.create_table(
        "reason_mix_stages",
        sa.Column("round_id", sa.String(16), nullable=False),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("round_id", "stage", name="pk_reason_mix_stages"),
    )
    op.create_table(
        "partial_decryptions",
        sa.Column("round_id", sa.String(16), nullable=False),
        sa.Column("trustee_index", sa.Integer, nullable=False),
        sa.Column("shares", JSONB, nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("round_id", "trustee_index", name="pk_partial_decryptions"),
    )


def downgrade() -> None:
    for table in (
        "partial_decryptions",
        "reason_mix_stages",
        "sealed_reasons",
        "encrypted_ballots",
        "trustee_shares",
    ):
        op.drop_table(table)
    op.drop_table("round_trustees")
    for column in ("aggregate", "election_key", "threshold", "trustee_count", "scheme"):
        op.drop_column("rounds", column)
