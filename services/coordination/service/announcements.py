"""What coordination announces of its items and assignments (``shared.events``): a task
assigned to a department, its feedback, its deadline passed. Instants are shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row

from services.coordination.domain import CountedDeadline
from shared.deadlines import local
from shared.events import DeadlinePassed, FeedbackSubmitted, TaskAssigned

TaskKind = Literal["joint-item", "instruction"]


def _deadline(instant: datetime, provisional: bool) -> dict[str, Any]:
    """A task's deadline as every announcement shows it: its instant, and whether it was counted on
    a provisional holiday table."""
    return {"deadline": local(instant), "deadline_provisional": provisional}


def task_assigned(
    kind: TaskKind, task_id: str, parent_id: str, lead: str | None, department: str, due: CountedDeadline
) -> TaskAssigned:
    return TaskAssigned(
        task_id=task_id,
        kind=kind,
        parent_id=parent_id,
        lead_department=lead,
        department=department,
        **_deadline(due.instant, due.provisional),
    )


def feedback_submitted(
    kind: TaskKind, row: Row[Any], parent_id: str, submitted_at: datetime, *, late: bool
) -> FeedbackSubmitted:
    """The feedback on task ``row`` (id, department, deadline, deadline_provisional) given at
    ``submitted_at`` (for a paper feedback entered later, the instant it states)."""
    return FeedbackSubmitted(
        task_id=row.id,
        kind=kind,
        parent_id=parent_id,
        department=row.department,
        submitted_at=local(submitted_at),
        **_deadline(row.deadline, row.deadline_provisional),
        late=late,
    )


def deadline_passed(
    kind: TaskKind,
    row: Row[Any],
    consequence: Literal["overdue", "deemed-consent", "deemed-agreed-to-handle"],
) -> DeadlinePassed:
    """The announcement of a task ``row`` (id, department, deadline, deadline_provisional) closed."""
    return DeadlinePassed(
        subject_kind=kind,
        subject_id=row.id,
        department=row.department,
        **_deadline(row.deadline, row.deadline_provisional),
        consequence=consequence,
    )
