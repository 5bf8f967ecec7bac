"""The deadline sweepers at volume (C4, D3, I4): every due item closed and announced exactly once
across many batches, and the claim always driven by the partial index on open rows.

The claim is captured as the service sends it and planned the way PostgreSQL plans a prepared
statement it has switched to a generic plan (``plan_cache_mode = force_generic_plan``): a
partial index is only usable when the query's own text proves its predicate, so the open states
must reach the server as constants, not as bind parameters. Otherwise the sweeper, run every few
seconds, would read every row ever written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select, text

from services.coordination.service import matters
from services.coordination.tables import joint_items
from services.disclosure.sweeper import BATCH, mark_overdue
from services.disclosure.tables import document_versions
from shared import db
from shared.app import ServiceContext
from shared.events import DeadlinePassed
from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.coordination import coordination
from tests.support.disclosure import disclosure, register
from tests.support.events import committed
from tests.support.infra import PostgresSource

NOW = at("2025-12-10 00:00")
DEPARTMENTS = ["nyj", "lyj", "rsj", "gaj", "jtj"]


@asynccontextmanager
async def captured_claims(ctx: ServiceContext, table: str) -> AsyncIterator[list[tuple[str, Any]]]:
    """Every ``FOR UPDATE SKIP LOCKED`` statement on ``table`` the service sends, with its parameters."""
    claims: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "SKIP LOCKED" in statement and table in statement:
            claims.append((statement, parameters))

    engine = ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield claims
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def generic_plan(ctx: ServiceContext, statement: str, parameters: Any) -> str:
    """The plan of ``statement`` as a prepared statement under a forced generic plan."""
    async with ctx.db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        return "\n".join(await db.generic_plan(raw.driver_connection, statement, parameters))


async def sql(ctx: ServiceContext, statement: str, **params: Any) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(text(statement), params)


async def claims_of(ctx: ServiceContext, table: str, sweep: Callable[[], Awaitable[int]]) -> tuple[int, str]:
    async with captured_claims(ctx, table) as claims:
        swept = await sweep()
    assert claims, "the sweep sent no claim"
    statement, parameters = claims[0]
    return swept, await generic_plan(ctx, statement, parameters)


async def four_thousand_matters_of_five_items(ctx: ServiceContext) -> None:
    # 4,000 matters of five items: 17,500 already answered, 1,875 open and due (assigned or
    # acknowledged), 625 open and not yet due.
    await sql(
        ctx,
        """
        INSERT INTO joint_matters (id, lead_department, basis, main_matter, requirements,
            contact_person, contact_phone, fax, attachments, copied_to, assigned_on, supersedes,
            created_by, created_at)
        SELECT 'matter-' || lpad(to_hex(g), 12, '0'), 'fgw', '市政府常务会议纪要', '会办事项',
               '请于期限内反馈', '张明', '0572-2039000', NULL, '[]'::jsonb, '[]'::jsonb,
               date '2025-12-01', NULL, 'office', timestamptz '2025-12-01 02:00:00+00'
        FROM generate_series(1, 4000) AS g
        """,
    )
    await sql(
        ctx,
        """
        INSERT INTO joint_items (id, matter_id, seq, department, content, tier, feedback_days,
            day_unit, due_on, deadline, state, acknowledged_at, acknowledged_by, closed_at,
            swept_at, created_at)
        SELECT 'item-' || lpad(to_hex(g), 12, '0'),
               'matter-' || lpad(to_hex((g - 1) / 5 + 1), 12, '0'),
               (g - 1) % 5 + 1, (CAST(:departments AS text[]))[(g - 1) % 5 + 1],
               '请会同办理', 'routine', 3, 'calendar', (d AT TIME ZONE 'Asia/Shanghai')::date - 1, d,
               CASE WHEN g % 8 <> 0 THEN 'answered'
                    WHEN g % 3 = 0 THEN 'acknowledged' ELSE 'assigned' END,
               NULL, NULL, NULL, NULL, timestamptz '2025-12-01 02:00:00+00'
        FROM generate_series(1, 20000) AS g,
             LATERAL (SELECT CASE WHEN g % 8 = 0 AND g % 32 <> 0
                 THEN CAST(:now AS timestamptz) - make_interval(days => g % 7)
                 ELSE CAST(:now AS timestamptz) + make_interval(days => 1 + g % 30) END AS d) AS dl
        """,
        departments=DEPARTMENTS,
        now=NOW,
    )
    await sql(ctx, "ANALYZE joint_matters")
    await sql(ctx, "ANALYZE joint_items")


async def test_C4_sweep_closes_every_due_item_once_across_batches_through_the_open_items_index(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2025-12-01 10:00")) as c:
        await four_thousand_matters_of_five_items(c.ctx)

        swept, plan = await claims_of(c.ctx, "joint_items", lambda: matters.sweep_deadlines(c.ctx, NOW))
        assert swept == 1875 > matters.SWEEP_BATCH
        assert "ix_joint_items_open_deadline" in plan, plan
        assert "Seq Scan" not in plan, plan
        assert await matters.sweep_deadlines(c.ctx, NOW) == 0

        async with c.ctx.db.reader() as session:
            states = dict(
                (
                    await session.execute(
                        select(joint_items.c.state, func.count())
                        .where(
                            joint_items.c.swept_at == NOW, joint_items.c.closed_at == joint_items.c.deadline
                        )
                        .group_by(joint_items.c.state)
                    )
                ).all()
            )
        assert sum(states.values()) == 1875
        assert set(states) == {"deemed-consent", "deemed-agreed-to-handle"}

        passed = await c.events(DeadlinePassed)
        assert len(passed) == 1875
        assert len({e["subject_id"] for e in passed}) == 1875
        async with c.ctx.db.reader() as session:
            final = dict((await session.execute(select(joint_items.c.id, joint_items.c.state))).all())
        assert all(final[e["subject_id"]] == e["consequence"] for e in passed)
        # Announced in claim order: deadlines never go backwards within the outbox.
        deadlines = [e["deadline"] for e in passed]
        assert [datetime.fromisoformat(d) for d in deadlines] == sorted(
            datetime.fromisoformat(d) for d in deadlines
        )


async def test_D3_sweep_marks_every_due_version_once_across_batches_through_the_open_versions_index(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        ctx: ServiceContext = app.state.ctx
        doc = await register(client, common, formed_on="2025-11-01", drafting_department="czj")
        # 5,000 more versions of the document: 4,750 already published, 200 open and overdue
        # (version 1, registered above, is open and overdue too), 50 open and still running.
        await sql(
            ctx,
            """
            INSERT INTO document_versions (document_id, version, formed_on, deadline, title, status)
            SELECT :doc, g, date '2025-11-01',
                   CASE WHEN g % 20 = 0 AND g % 100 <> 0
                        THEN CAST(:now AS timestamptz) - make_interval(days => g % 9)
                        ELSE CAST(:now AS timestamptz) + make_interval(days => 1 + g % 30) END,
                   '第' || g || '版', CASE WHEN g % 20 = 0 THEN 'open' ELSE 'published' END
            FROM generate_series(2, 5001) AS g
            """,
            doc=doc["id"],
            now=NOW,
        )
        await sql(ctx, "ANALYZE document_versions")

        swept, plan = await claims_of(ctx, "document_versions", lambda: mark_overdue(ctx, NOW))
        assert swept == 201 > BATCH
        assert "ix_document_versions_open" in plan, plan
        assert "Seq Scan on document_versions" not in plan, plan
        assert await mark_overdue(ctx, NOW) == 0

        async with ctx.db.reader() as session:
            overdue = (
                await session.execute(
                    select(func.count()).where(
                        document_versions.c.status == "overdue", document_versions.c.overdue_at == NOW
                    )
                )
            ).scalar_one()
        assert overdue == 201
        passed = await committed(app, DeadlinePassed)
        assert len(passed) == 201
        assert len({e["subject_id"] for e in passed}) == 201
        assert {e["department"] for e in passed} == {"czj"}


async def test_I4_sweep_marks_every_overdue_report_duty_once_through_the_open_duties_index(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    from services.indicators.service.duties import sweep_overdue_report_duties
    from services.indicators.tables import report_duties
    from tests.support.apps import running
    from tests.support.indicators import indicators_app

    app = indicators_app(await postgres.new_database(), common)
    async with running(app):
        ctx: ServiceContext = app.state.ctx
        # 20,000 duties: 2,500 filed, 250 open and overdue at NOW, the rest open and not yet due.
        await sql(
            ctx,
            """
            INSERT INTO report_duties (id, indicator, period, department, revision, rank, grade, cities,
                reason, bulletin_id, status, issued_on, due_at, created_at)
            SELECT 'duty-' || lpad(to_hex(g), 12, '0'), 'gdp', 'p' || g, 'fgw', 1, 7, NULL, 11,
                   '全省排名第7位', 'bulletin-1', CASE WHEN g % 8 = 0 THEN 'filed' ELSE 'open' END,
                   date '2025-11-20',
                   CASE WHEN g % 80 = 1 THEN CAST(:now AS timestamptz) - make_interval(hours => g % 48)
                        ELSE CAST(:now AS timestamptz) + make_interval(days => 1 + g % 30) END,
                   timestamptz '2025-11-20 02:00:00+00'
            FROM generate_series(1, 20000) AS g
            """,
            now=NOW,
        )
        await sql(ctx, "ANALYZE report_duties")

        swept, plan = await claims_of(ctx, "report_duties", lambda: sweep_overdue_report_duties(ctx, NOW))
        assert swept == 250 > ctx.common.sweep_batch_size, swept  # more than one batch
        assert "ix_report_duties_open_due" in plan, plan
        assert "Seq Scan" not in plan, plan
        assert await sweep_overdue_report_duties(ctx, NOW) == 0

        async with ctx.db.reader() as session:
            overdue = set(
                (
                    await session.execute(
                        select(report_duties.c.id).where(
                            report_duties.c.status == "overdue", report_duties.c.overdue_at == NOW
                        )
                    )
                ).scalars()
            )
        assert len(overdue) == 250
        passed = await committed(app, DeadlinePassed)
        assert sorted(e["subject_id"] for e in passed) == sorted(overdue)
        assert all(e["consequence"] == "overdue" and e["subject_kind"] == "report-duty" for e in passed)
