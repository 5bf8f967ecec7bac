"""The coordination deadlines the sweeper closes, each announced once (``shared.sweeps``).

An open joint item at its deadline reaches deemed consent (C4): ``JOINT_ITEMS``. A supervised
instruction assignment without feedback at its deadline becomes overdue (C7):
``SUPERVISED_ASSIGNMENTS``. Each claim goes through the partial index on the open rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.service.announcements import deadline_passed
from services.coordination.tables import instruction_assignments, joint_items
from shared.events import DeadlinePassed
from shared.sweeps import Sweep


def item_is_open(state: ColumnElement[str]) -> ColumnElement[bool]:
    """``state IN ('assigned', 'acknowledged')`` with the states written into the SQL as literals.

    As bind parameters (``state IN ($1, $2)``) a generic plan, which PostgreSQL may pick for a
    prepared statement, cannot prove the predicate of the partial index on open items
    (``ix_joint_items_open_deadline``) and scans the whole table instead.
    """
    return state.in_(bindparam(None, list(domain.OPEN_STATES), expanding=True, literal_execute=True))


def _item_closed(row: Row[Any], _: str | None) -> DeadlinePassed:
    return deadline_passed("joint-item", row, domain.consequence_at_deadline(row.state))


def _assignment_overdue(row: Row[Any], _: str | None) -> DeadlinePassed:
    return deadline_passed("instruction", row, "overdue")


JOINT_ITEMS = Sweep(
    table=joint_items,
    key=(joint_items.c.id,),
    deadline=joint_items.c.deadline,
    still_open=lambda: item_is_open(joint_items.c.state),
    claim=lambda: select(
        joint_items.c.id,
        joint_items.c.state,
        joint_items.c.department,
        joint_items.c.deadline,
        joint_items.c.deadline_provisional,
    ),
    # The item closes at its deadline, not when the sweep comes by.
    closing=lambda now: {"closed_at": joint_items.c.deadline, "swept_at": now},
    outcome="state",
    outcome_of=lambda row: domain.consequence_at_deadline(row.state),
    announce=_item_closed,
)

_a = instruction_assignments
SUPERVISED_ASSIGNMENTS = Sweep(
    table=_a,
    key=(_a.c.id,),
    deadline=_a.c.deadline,
    still_open=lambda: _a.c.supervised & _a.c.feedback_at.is_(None) & _a.c.overdue_at.is_(None),
    claim=lambda: select(_a.c.id, _a.c.department, _a.c.deadline, _a.c.deadline_provisional),
    closing=lambda now: {"overdue_at": now},
    announce=_assignment_overdue,
)
