"""Events evaluation consumes into department facts (the E2 reference pack's raw material)."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.tables import department_facts
from shared.events import CloudEvent, DocumentFormed
from shared.messaging.consumer import Subscription


async def on_document_formed(session: AsyncSession, event: CloudEvent) -> None:
    data = DocumentFormed.model_validate(event.data)
    await session.execute(
        insert(department_facts).values(
            event_id=event.id,
            department=data.department,
            kind=DocumentFormed.event_name,
            subject_id=f"{data.document_id}@{data.version}",
            occurred_at=event.time,
            detail=event.data,
        )
    )


FACTS = Subscription(
    consumer="department-facts",
    handlers={DocumentFormed.event_type(): on_document_formed},
)
