"""Events evaluation consumes into department facts, the raw material of the E2 reference pack.

Each event becomes one fact per department it concerns, with a kind that says what happened
to that department (e.g. ``joint-item-deemed-consent``, ``document-published-late``), and the
business date it belongs to (``effective_on``): a ranking belongs to its period, a missed
deadline to its last day, a document to the day it was formed. That date, not the time the
event travelled, decides which quarter's reference pack shows the fact.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.domain import InvalidQuarter, period_last_day, withdrawn_kind
from services.evaluation.tables import department_facts
from shared.deadlines import local_date
from shared.events import (
    CloudEvent,
    DeadlinePassed,
    DeadlinePassedWithdrawn,
    DocumentFormed,
    DocumentPublished,
    EscalationRaised,
    EventData,
    FeedbackSubmitted,
    InterviewRequired,
    MatterClosedOff,
    MatterListed,
    ProgressReported,
    RankingPublished,
    TaskAssigned,
)
from shared.messaging.consumer import HandlerFn, Subscription

Fact = tuple[str, str, str]  # department, kind, subject id


def facts_of(data: EventData) -> Iterable[Fact]:
    """What one event says about which departments."""
    match data:
        case DocumentFormed():
            yield data.department, "document-formed", f"{data.document_id}@{data.version}"
        case DocumentPublished():
            kind = "document-published" if data.on_time else "document-published-late"
            yield data.department, kind, f"{data.document_id}@{data.version}"
        case TaskAssigned():
            yield data.department, f"{data.kind}-assigned", data.task_id
        case FeedbackSubmitted():
            yield (
                data.department,
                f"{data.kind}-answered-late" if data.late else f"{data.kind}-answered",
                data.task_id,
            )
        case DeadlinePassed():
            yield data.department, f"{data.subject_kind}-{data.consequence}", data.subject_id
        case DeadlinePassedWithdrawn():
            # Kept beside the fact it withdraws (same subject); the reference pack counts neither.
            yield data.department, withdrawn_kind(f"{data.subject_kind}-{data.consequence}"), data.subject_id
        case EscalationRaised():
            if data.step == "raised":
                yield data.department, "joint-item-escalated", data.task_id
        case RankingPublished():
            kind = "ranking-worse-than-threshold" if data.worse_than_threshold else "ranking-published"
            for department in data.departments:
                yield department, kind, f"{data.indicator}@{data.period}"
        case InterviewRequired():
            yield data.department, "interview-required", data.interview_id
        case MatterListed():
            yield data.lead_department, "major-matter-listed", data.matter_id
            for department in data.cooperating_departments:
                yield department, "major-matter-cooperating", data.matter_id
        case ProgressReported():
            kind = "major-matter-reported-behind" if data.milestones_behind else "major-matter-reported"
            yield data.lead_department, kind, f"{data.matter_id}@{data.month}"
        case MatterClosedOff():
            yield data.lead_department, "major-matter-closed-off", data.matter_id


def effective_on(data: EventData, sent_at: datetime) -> date:
    """The business date of what the event reports, in Asia/Shanghai."""
    if sent_at.tzinfo is None:
        # CloudEvents times are RFC 3339 with an offset; a producer that drops it means UTC.
        sent_at = sent_at.replace(tzinfo=UTC)
    match data:
        case DocumentFormed():
            return data.formed_on
        case DocumentPublished():
            return local_date(data.published_at)
        case FeedbackSubmitted():
            return local_date(data.submitted_at)
        case DeadlinePassed() | DeadlinePassedWithdrawn():
            # A deadline is 00:00 after its last day; the duty was missed on that last day.
            return local_date(data.deadline - timedelta(microseconds=1))
        case ProgressReported():
            # A month's report belongs to the month it reports on.
            return period_last_day(data.month)
        case MatterClosedOff():
            return local_date(data.closed_off_at)
        case RankingPublished() | InterviewRequired():
            try:
                return period_last_day(data.period)
            except InvalidQuarter:
                return local_date(sent_at)
    return local_date(sent_at)


def _recorder(contract: type[EventData]) -> HandlerFn:
    async def record(session: AsyncSession, event: CloudEvent) -> None:
        data = contract.model_validate(event.data)
        rows = [
            {
                "event_id": event.id,
                "department": department,
                "kind": kind,
                "subject_id": subject,
                "occurred_at": event.time,
                "detail": event.data,
                "effective_on": effective_on(data, event.time),
            }
            for department, kind, subject in facts_of(data)
        ]
        if rows:
            await session.execute(insert(department_facts).values(rows).on_conflict_do_nothing())

    record.__name__ = f"record_{contract.event_name.replace('-', '_')}"
    return record


FACT_SOURCES: tuple[type[EventData], ...] = (
    DocumentFormed,
    DocumentPublished,
    TaskAssigned,
    FeedbackSubmitted,
    DeadlinePassed,
    DeadlinePassedWithdrawn,
    EscalationRaised,
    RankingPublished,
    InterviewRequired,
    MatterListed,
    ProgressReported,
    MatterClosedOff,
)

FACTS = Subscription(
    consumer="department-facts",
    handlers={c.event_type(): _recorder(c) for c in FACT_SOURCES},
)
