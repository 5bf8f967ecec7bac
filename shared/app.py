"""The composition of a domain service: one place where a service is wired.

``create_service_app`` builds the FastAPI app of a service from its ``ServiceSpec``. Nothing
is built at import time: the database, the bus, the relay, the consumers and the sweepers are
created in the lifespan and stopped cleanly with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared import calendar_store, openapi, problems
from shared.auth import TokenVerifier
from shared.calendar import CalendarError, HolidayCalendar
from shared.calendar_store import CalendarStore, Recompute, YearView
from shared.clock import Clock, clock_of, utc_now
from shared.db import Database
from shared.deadlines import TimeLimit, deadline, is_provisional, local_date
from shared.events import EventData
from shared.head import HeadAsGet
from shared.messaging import outbox
from shared.messaging.bus import Bus
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.kafka import KafkaBus, KafkaSecurity
from shared.messaging.memory import MemoryBus
from shared.messaging.outbox import OutboxRelay
from shared.migrations import upgrade
from shared.observability import HttpContext, Metrics, configure_logging
from shared.policy import PolicyProfile, load_profile
from shared.settings import CommonSettings, ServiceSettings, load_service_settings

log = logging.getLogger("xiaoneng.app")

Sweeper = Callable[["ServiceContext"], Awaitable[int]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    routers: Sequence[APIRouter]
    subscriptions: Sequence[Subscription] = ()
    sweepers: Sequence[Sweeper] = ()
    version: str = "1.0.0"
    # Extra resources a service holds for its lifetime (the gateway's upstream clients).
    extra_lifespan: Callable[[FastAPI, ServiceContext], AbstractAsyncContextManager[None]] | None = None
    # The gateway serves a merged document itself and turns FastAPI's own off.
    openapi_url: str | None = "/openapi.json"
    # Domain services keep a copy of the official holiday tables (the gateway owns them) and move
    # the deadlines of their open items when a year is published or corrected.
    keeps_calendar: bool = True
    recompute_deadlines: Recompute | None = None


@dataclass
class ServiceContext:
    """The kernel every use case receives (``CtxDep`` in a route, ``request.app.state.ctx``).

    It holds the injected clock (``now()``), the policy profile loaded and validated when the
    app was built (``profile``), the service's copy of the holiday calendar (``calendar``), the
    database and the bus, and records events in the outbox in the caller's transaction
    (``emit``). Reference data is ``shared.reference`` (immutable, loaded once).
    """

    spec: ServiceSpec
    common: CommonSettings
    settings: ServiceSettings
    db: Database
    bus: Bus
    profile: PolicyProfile
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    relay: OutboxRelay | None = None
    consumers: list[ConsumerRunner] = field(default_factory=list)
    calendar: CalendarStore = field(default_factory=CalendarStore)
    clock: Clock = utc_now

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The business date in Asia/Shanghai."""
        return local_date(self.clock())

    @property
    def source(self) -> str:
        return f"/xiaoneng/{self.spec.name}"

    async def emit(self, session: AsyncSession, *events: EventData) -> None:
        """Record ``events`` in the outbox, in order, in ``session``'s transaction."""
        await self.emit_many(session, events)

    async def emit_many(self, session: AsyncSession, events: Sequence[EventData]) -> None:
        """Record a batch of events with one ``INSERT``, in order (what a sweep closes at once)."""
        if events:
            await outbox.record_many(
                session, events, source=self.source, topic_prefix=self.common.topic_prefix
            )


def build_bus(common: CommonSettings, client_id: str) -> Bus:
    if common.bus == "kafka":
        return KafkaBus(
            common.kafka_bootstrap_servers,
            client_id=client_id,
            security=KafkaSecurity.from_settings(common),
            create_topics=common.kafka_create_topics,
        )
    return MemoryBus()


async def _run_sweepers(ctx: ServiceContext) -> None:
    while True:
        for sweep in ctx.spec.sweepers:
            try:
                changed = await sweep(ctx)
                if changed:
                    log.info("sweeper %s changed %d items", sweep.__name__, changed)
            except Exception:
                log.exception("sweeper %s failed; will retry", sweep.__name__)
        await asyncio.sleep(ctx.common.sweep_interval_seconds)


def create_service_app(
    spec: ServiceSpec,
    *,
    common: CommonSettings | None = None,
    settings: ServiceSettings | None = None,
    bus: Bus | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build a service. A ``bus`` passed in is shared and not started or stopped here."""
    common = common or CommonSettings()
    the_clock = clock or clock_of(common)
    settings = settings or load_service_settings(spec.name)
    if common.environment == "production" and settings.fault_crash_before_send:
        raise ValueError("fault injection cannot be enabled in production")
    # A bad XN_POLICY_PROFILE stops the service now, with the names of the available ones.
    profile = load_profile(common.policy_profile)
    metrics = Metrics(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(common.log_level, json_lines=common.log_json)
        the_bus = bus or build_bus(common, spec.name)
        db = Database(settings.database_url, pool_size=settings.database_pool_size)
        ctx = ServiceContext(
            spec=spec, common=common, settings=settings, db=db, bus=the_bus, profile=profile, clock=the_clock
        )
        app.state.ctx = ctx
        app.state.verifier = TokenVerifier(common)
        await _start(ctx, own_bus=bus is None)
        try:
            if spec.extra_lifespan is not None:
                async with spec.extra_lifespan(app, ctx):
                    yield
            else:
                yield
        finally:
            await _stop(ctx, own_bus=bus is None)

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        openapi_url=spec.openapi_url,
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    openapi.install(app)
    app.add_middleware(HttpContext, metrics=metrics)
    # Outermost: every part of every app sees a HEAD as its GET.
    app.add_middleware(HeadAsGet)
    for router in spec.routers:
        app.include_router(router)
    app.include_router(_operations_router(metrics))
    app.include_router(_calendar_router())
    return app


async def _start(ctx: ServiceContext, *, own_bus: bool) -> None:
    """Migrate, start the bus, the outbox relay, the consumers and the sweepers."""
    spec, common, settings = ctx.spec, ctx.common, ctx.settings
    if common.migrate_on_start:
        await upgrade(spec.name, settings.database_url)
    if own_bus:
        await ctx.bus.start()
    if settings.relay_enabled:
        ctx.relay = OutboxRelay(
            ctx.db,
            ctx.bus,
            poll_seconds=common.relay_poll_seconds,
            crash_before_send=settings.fault_crash_before_send,
        )
        ctx.tasks.append(asyncio.create_task(ctx.relay.run(), name=f"{spec.name}-relay"))
    if settings.consumers_enabled:
        _start_consumers(ctx)
    if settings.sweepers_enabled and spec.sweepers:
        ctx.tasks.append(asyncio.create_task(_run_sweepers(ctx), name=f"{spec.name}-sweepers"))
    log.info("service %s started", spec.name)


def _start_consumers(ctx: ServiceContext) -> None:
    spec, common = ctx.spec, ctx.common
    subscriptions = list(spec.subscriptions)
    if spec.keeps_calendar:
        subscriptions.append(calendar_store.subscription(ctx, spec.recompute_deadlines))
    for sub in subscriptions:
        runner = ConsumerRunner(
            ctx.db,
            ctx.bus,
            sub,
            group_prefix=f"{common.topic_prefix}{spec.name}.",
            topic_prefix=common.topic_prefix,
            max_attempts=common.consumer_max_attempts,
            retry_base_seconds=common.consumer_retry_base_seconds,
        )
        ctx.consumers.append(runner)
        ctx.tasks.append(asyncio.create_task(runner.run(), name=f"{spec.name}-{sub.consumer}"))


async def _stop(ctx: ServiceContext, *, own_bus: bool) -> None:
    for task in ctx.tasks:
        task.cancel()
    for task in ctx.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if own_bus:
        await ctx.bus.stop()
    await ctx.db.dispose()
    log.info("service %s stopped", ctx.spec.name)


def _operations_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["运维 operations"], include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        ctx: ServiceContext = request.app.state.ctx
        checks: dict[str, str] = {}
        for name, probe in (("database", ctx.db.ping), ("bus", ctx.bus.ping)):
            try:
                await asyncio.wait_for(probe(), timeout=3)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"failed: {type(exc).__name__}"
        # Only the database gates readiness: with the broker gone a write still commits its event
        # to the outbox, so taking the pod out of service would refuse writes for nothing. The
        # bus is reported, and the status says "degraded" while it is down.
        ready = checks["database"] == "ok"
        if ready:
            # A year ahead without its official table does not stop the service: its deadlines
            # are provisional. It is reported, from 1 November of the year before.
            try:
                health = await asyncio.wait_for(ctx.calendar.health(ctx.db, local_date(ctx.now())), timeout=3)
                checks["calendar"] = health.detail
            except Exception as exc:
                checks["calendar"] = f"failed: {type(exc).__name__}"
        healthy = all(v == "ok" for v in checks.values())
        status = "not-ready" if not ready else "ready" if healthy else "degraded"
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics_endpoint(request: Request) -> Response:
        ctx: ServiceContext = request.app.state.ctx
        with contextlib.suppress(Exception):
            health = await asyncio.wait_for(ctx.calendar.health(ctx.db, local_date(ctx.now())), timeout=3)
            metrics.calendar_last_official_year.set(health.last_official_year)
        return metrics.render()

    return router


class DayAnswer(BaseModel):
    date: date
    working: bool
    status: str
    revision: int


class DeadlineAnswer(BaseModel):
    start: date
    deadline: datetime
    provisional: bool


def _calendar_router() -> APIRouter:
    """What this service's copy of the calendar answers: operators (and the tests) ask every
    service the same question to see that they hold the same table. Not part of the public API:
    the gateway's ``/api/v1/calendar`` is."""
    router = APIRouter(prefix="/calendar", tags=["运维 operations"], include_in_schema=False)

    async def held(request: Request) -> HolidayCalendar:
        ctx: ServiceContext = request.app.state.ctx
        async with ctx.db.reader() as session:
            return await ctx.calendar.read(session)

    def refused(exc: CalendarError, field: str) -> problems.Problem:
        return problems.Problem(422, str(exc), kind="calendar-out-of-range", field=field)

    @router.get("/years/{year}")
    async def year(request: Request, year: int) -> YearView:
        cal = await held(request)
        try:
            return request.app.state.ctx.calendar.view(cal, year)  # type: ignore[no-any-return]
        except CalendarError as exc:
            raise refused(exc, "year") from exc

    @router.get("/days/{day}")
    async def day(request: Request, day: date) -> DayAnswer:
        cal = await held(request)
        try:
            table = cal.official_table(day.year)
            return DayAnswer(
                date=day,
                working=cal.is_working_day(day),
                status=cal.status(day.year),
                revision=table.revision if table else 0,
            )
        except CalendarError as exc:
            raise refused(exc, "day") from exc

    @router.get("/deadline")
    async def deadline_of(
        request: Request,
        start: date,
        amount: int = Query(ge=0, le=3660),
        unit: Literal["calendar", "working"] = "calendar",
        roll: bool = True,
    ) -> DeadlineAnswer:
        cal = await held(request)
        try:
            end = deadline(start, TimeLimit(amount, unit), cal, roll_to_working_day=roll)
            return DeadlineAnswer(start=start, deadline=end, provisional=is_provisional(start, end, cal))
        except CalendarError as exc:
            raise refused(exc, "start") from exc

    return router
