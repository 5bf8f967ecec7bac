"""Evaluation tables: department facts, rounds, panels, the secret ballot and its results.

Kept identical to the migrations (``migrations/versions``); ``tests/service/test_migrations.py``
checks it. The secret ballot (design and threat model in ``services.evaluation.service.ballot_box``):
``participations`` holds who has voted, ``encrypted_ballots`` the ciphertexts with their proofs
and trackers, ``sealed_reasons`` the reasons sealed to the trustees; the trustees' tables hold
public key-ceremony material and partial decryptions only. ``ballots`` keeps the plain ballots of
rounds cast under the old scheme (``rounds.scheme = 'plain'``).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

department_facts = Table(
    "department_facts",
    metadata,
    Column("event_id", String(64), nullable=False),
    Column("department", String(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject_id", String(128), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("detail", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The business date the fact belongs to (a ranking's period, a deadline's last day ...): it
    # decides which quarter's reference pack shows the fact (E2).
    Column("effective_on", Date),
    PrimaryKeyConstraint("event_id", "department", name="pk_department_facts"),
    Index("ix_department_facts_department", "department", "occurred_at", "event_id"),
    Index("ix_department_facts_effective", "effective_on", "department"),
)

rounds = Table(
    "rounds",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("vote_on", Date, nullable=False),
    Column("reference_pack_due", Date, nullable=False),
    Column("tally_due", Date, nullable=False),
    Column("candidates", JSONB, nullable=False),
    Column("turnout", Integer, nullable=False, server_default="0"),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reference_published_at", DateTime(timezone=True)),
    Column("voting_opened_at", DateTime(timezone=True)),
    Column("voting_closed_at", DateTime(timezone=True)),
    Column("tallied_at", DateTime(timezone=True)),
    Column("results_published_at", DateTime(timezone=True)),
    # E5: 'plain' for rounds cast under the old scheme (before migration 0005), 'encrypted' after.
    Column("scheme", String(16), nullable=False, server_default="plain"),
    Column("trustee_count", Integer),
    Column("threshold", Integer),
    Column("election_key", String(64)),
    Column("aggregate", JSONB),
)

panel_entries = Table(
    "panel_entries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("round_id", String(16), ForeignKey("rounds.id"), nullable=False),
    Column("person_id", String(128), nullable=False),
    Column("name", String(128), nullable=False),
    Column("category", String(64), nullable=False),
    Column("district", String(64)),
    Column("organization", String(256)),
    Column("account", String(128), nullable=False),
    Column("named_on", Date),
    Column("added_by", String(128), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("round_id", "person_id", name="uq_panel_entries_person"),
    UniqueConstraint("round_id", "account", name="uq_panel_entries_account"),
    Index("ix_panel_entries_round", "round_id", "category", "id"),
)

# Who has voted (E5). No id, no timestamp: the whole round's set is rewritten on every vote.
participations = Table(
    "participations",
    metadata,
    Column("round_id", String(16), nullable=False),
    Column("entry_id", String(32), nullable=False),
    PrimaryKeyConstraint("round_id", "entry_id", name="pk_participations"),
)

# What was voted (E5). A random id and a random receipt, no timestamp, no serial; the whole
# round's box is rewritten in random order on every vote.
ballots = Table(
    "ballots",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("round_id", String(16), nullable=False),
    Column("receipt", String(32), nullable=False),
    Column("choices", JSONB, nullable=False),
    UniqueConstraint("round_id", "receipt", name="uq_ballots_receipt"),
)

# The round's trustees and their public key-ceremony material (E5): no secret is ever stored.
round_trustees = Table(
    "round_trustees",
    metadata,
    Column("round_id", String(16), ForeignKey("rounds.id"), nullable=False),
    Column("trustee_index", Integer, nullable=False),
    Column("account", String(128), nullable=False),
    Column("name", String(128), nullable=False),
    Column("box_key", String(64)),
    Column("commitments", JSONB),
    Column("confirmed", Boolean, nullable=False, server_default="false"),
    Column("added_by", String(128), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("registered_at", DateTime(timezone=True)),
    Column("dealt_at", DateTime(timezone=True)),
    Column("confirmed_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("round_id", "trustee_index", name="pk_round_trustees"),
    UniqueConstraint("round_id", "account", name="uq_round_trustees_account"),
)

# Shares of one trustee's polynomial, sealed to the recipient trustee's box key (E5).
trustee_shares = Table(
    "trustee_shares",
    metadata,
    Column("round_id", String(16), nullable=False),
    Column("dealer", Integer, nullable=False),
    Column("recipient", Integer, nullable=False),
    Column("sealed", Text, nullable=False),
    PrimaryKeyConstraint("round_id", "dealer", "recipient", name="pk_trustee_shares"),
)

# Encrypted ballots (E5): ciphertexts and proofs under the round key, found by their tracker.
encrypted_ballots = Table(
    "encrypted_ballots",
    metadata,
    Column("round_id", String(16), nullable=False),
    Column("tracker", String(64), nullable=False),
    Column("ballot", JSONB, nullable=False),
    PrimaryKeyConstraint("round_id", "tracker", name="pk_encrypted_ballots"),
)

# Free-text reasons sealed to the trustees, apart from the ballots (E1, E5).
sealed_reasons = Table(
    "sealed_reasons",
    metadata,
    Column("round_id", String(16), nullable=False),
    Column("id", String(32), nullable=False),
    Column("envelope", Text, nullable=False),
    PrimaryKeyConstraint("round_id", "id", name="pk_sealed_reasons"),
)

# The reasons' decryption mix (E1, E5): each trustee in turn removes its layer and shuffles.
reason_mix_stages = Table(
    "reason_mix_stages",
    metadata,
    Column("round_id", String(16), nullable=False),
    Column("stage", Integer, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("round_id", "stage", name="pk_reason_mix_stages"),
)

# The trustees' partial decryptions of the per-department aggregates, with proofs (E3, E5).
partial_decryptions = Table(
    "partial_decryptions",
    metadata,
    Column("round_id", String(16), nullable=False),
    Column("trustee_index", Integer, nullable=False),
    Column("shares", JSONB, nullable=False),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("round_id", "trustee_index", name="pk_partial_decryptions"),
)

reference_packs = Table(
    "reference_packs",
    metadata,
    Column("round_id", String(16), ForeignKey("rounds.id"), primary_key=True),
    Column("content", JSONB, nullable=False),
    Column("published_by", String(128), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

round_results = Table(
    "round_results",
    metadata,
    Column("round_id", String(16), ForeignKey("rounds.id"), nullable=False),
    Column("department", String(32), nullable=False),
    Column("votes", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("selected", Boolean, nullable=False),
    Column("consecutive_quarters", Integer, nullable=False),
    Column("consequences", JSONB, nullable=False),
    PrimaryKeyConstraint("round_id", "department", name="pk_round_results"),
    Index("ix_round_results_department", "department", "round_id"),
)

designations = Table(
    "designations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("round_id", String(16), ForeignKey("rounds.id"), nullable=False),
    Column("department", String(32), nullable=False),
    Column("consecutive_quarters", Integer, nullable=False),
    Column("quarters", JSONB, nullable=False),
    Column("title", Text, nullable=False),
    Column("addressed_to", JSONB, nullable=False),
    Column("body", Text, nullable=False),
    Column("issuer", Text, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("round_id", "department", name="uq_designations_round_department"),
    Index("ix_designations_department", "department", "round_id"),
)

# --- assessment schemes (E6): the year's scheme versions, scores with their sources, closings,
# decisions on proposed deductions and published results ------------------------------------------

assessment_schemes = Table(
    "assessment_schemes",
    metadata,
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("scheme_id", String(64), nullable=False),
    Column("based_on", String(64)),
    Column("document", JSONB, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("year", "version", name="pk_assessment_schemes"),
)

assessment_entries = Table(
    "assessment_entries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("scheme_version", Integer, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("item", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", Numeric(), nullable=False),
    Column("requested", Numeric()),
    Column("capped", Boolean, nullable=False, server_default="false"),
    Column("reason", String(64)),
    Column("matter", String(128)),
    Column("node", String(64)),
    Column("member", String(128)),
    Column("note", Text),
    # entered (one by one), imported (a bulk import, source = its batch id) or proposed (from a
    # platform fact, source = the proposal id, source_detail = the fact).
    Column("source_kind", String(16), nullable=False),
    Column("source", Text),
    Column("source_detail", JSONB),
    Column("assessor", String(64), nullable=False),
    Column("entered_by", String(128), nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_by", String(128)),
    Column("confirmed_at", DateTime(timezone=True)),
    # A correction: the entry stays, withdrawn, and no longer counts.
    Column("withdrawn_by", String(128)),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("withdrawn_reason", Text),
    Index("ix_assessment_entries_unit", "year", "unit", "item", "entered_at", "id"),
    Index("ix_assessment_entries_item", "year", "item"),
)

assessment_closures = Table(
    "assessment_closures",
    metadata,
    Column("year", Integer, nullable=False),
    Column("item", String(64), nullable=False),
    Column("scheme_version", Integer, nullable=False),
    Column("scores", JSONB, nullable=False),
    Column("assessor", String(64), nullable=False),
    Column("closed_by", String(128), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("year", "item", name="pk_assessment_closures"),
)

assessment_decisions = Table(
    "assessment_decisions",
    metadata,
    Column("proposal_id", Text, primary_key=True),
    Column("year", Integer, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("item", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("note", Text),
    Column("entry_id", String(32)),
    Column("assessor", String(64), nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_assessment_decisions_year", "year", "item"),
)

assessment_publications = Table(
    "assessment_publications",
    metadata,
    Column("year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("scheme_version", Integer, nullable=False),
    Column("results", JSONB, nullable=False),
    Column("published_by", String(128), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("year", "number", name="pk_assessment_publications"),
)
