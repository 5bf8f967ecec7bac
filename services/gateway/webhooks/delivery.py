"""The delivery worker: signed POSTs with retries, the attempt log, auto-disable.

A delivery is claimed by pushing its ``next_attempt_at`` past the attempt's timeout (a lease,
taken with ``FOR UPDATE SKIP LOCKED`` so several gateway replicas can work at once); if the
process dies mid-attempt the lease runs out and the delivery is tried again with the same
``webhook-id``. Each attempt is signed at the moment it is sent (Standard Webhooks:
``webhook-id``, ``webhook-timestamp``, ``webhook-signature``), gets ``webhook_timeout_seconds``
in total, and succeeds only with a 2xx answer. Failures follow the retry schedule with jitter,
later if the receiver sends ``Retry-After``; 410 disables the endpoint at once, and so does
failing without a success for ``webhook_disable_after_failing_seconds``. The target is checked
again before every attempt, and the attempt connects to the address that check approved
(``targets``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import domain
from services.gateway.runtime import GatewayRuntime
from services.gateway.tables import webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_messages
from services.gateway.webhooks import targets
from services.gateway.webhooks.service import DisableReason, active_secrets, disable_endpoint, locked

log = logging.getLogger("xiaoneng.gateway.webhooks")

E, D, M, A = webhook_endpoints, webhook_deliveries, webhook_messages, webhook_attempts
LEASE_MARGIN_SECONDS = 5.0
RESPONSE_EXCERPT = 1000
USER_AGENT = "Xiaoneng-Webhooks/1.0 (Standard Webhooks)"


@dataclass(frozen=True)
class Job:
    delivery_id: str
    endpoint_id: str
    message_id: str
    payload: str
    trigger: str
    url: str
    secrets: list[str]
    lease_until: datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    response_body: str | None
    duration_ms: int
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryWorker:
    """Sends due deliveries until cancelled; it owns ``http`` and closes it as it stops."""

    def __init__(
        self, rt: GatewayRuntime, http: httpx.AsyncClient, *, rand: Callable[[], float] = random.random
    ) -> None:
        self._rt = rt
        self._http = http
        self._rand = rand
        self._wakeup = asyncio.Event()
        self.attempted = 0

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        settings = self._rt.settings
        inflight: dict[asyncio.Task[None], Job] = {}

        def finished(task: asyncio.Task[None]) -> None:
            inflight.pop(task, None)
            self._wakeup.set()

        try:
            while True:
                self._wakeup.clear()
                free = settings.webhook_concurrency - len(inflight)
                jobs: list[Job] = []
                if free > 0:
                    try:
                        jobs = await self.claim(self._rt.clock(), free)
                    except Exception:
                        log.exception("claiming webhook deliveries failed; will retry")
                for job in jobs:
                    task = asyncio.create_task(self.attempt(job), name=f"webhook-{job.delivery_id}")
                    inflight[task] = job
                    task.add_done_callback(finished)
                if jobs and len(jobs) == free:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), settings.webhook_poll_seconds)
        finally:
            unfinished = list(inflight.values())
            for task in list(inflight):
                task.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)
            await self._release(unfinished)
            await self._http.aclose()

    async def claim(self, now: datetime, limit: int) -> list[Job]:
        """Lease up to ``limit`` due deliveries."""
        lease_until = now + timedelta(
            seconds=self._rt.settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        )
        async with self._rt.db.transaction() as session:
            ids = (
                (
                    await session.execute(
                        select(D.c.id)
                        .where(D.c.status == "pending", D.c.next_attempt_at <= now)
                        .order_by(D.c.next_attempt_at)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            if not ids:
                return []
            await session.execute(update(D).where(D.c.id.in_(ids)).values(next_attempt_at=lease_until))
            rows = (
                await session.execute(
                    select(
                        D.c.id,
                        D.c.endpoint_id,
                        D.c.message_id,
                        D.c.trigger,
                        M.c.payload,
                        E.c.url,
                        E.c.secret,
                        E.c.previous_secret,
                        E.c.previous_secret_expires_at,
                    )
                    .join(M, M.c.id == D.c.message_id)
                    .join(E, E.c.id == D.c.endpoint_id)
                    .where(D.c.id.in_(ids))
                )
            ).all()
        return [
            Job(
                delivery_id=r.id,
                endpoint_id=r.endpoint_id,
                message_id=r.message_id,
                payload=r.payload,
                trigger=r.trigger,
                url=r.url,
                secrets=active_secrets(r, now),
                lease_until=lease_until,
            )
            for r in rows
        ]

    async def attempt(self, job: Job) -> None:
        try:
            outcome = await self.send(job)
            await self.record(job, outcome, self._rt.clock())
            self.attempted += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery is tried again, with the same webhook-id.
            log.exception("webhook delivery %s could not be recorded", job.delivery_id)

    async def send(self, job: Job) -> Outcome:
        rt = self._rt
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        # Checked now, with the host resolved now; the attempt connects to the address checked.
        target = await targets.check(job.url, rt.settings, rt.common)
        if isinstance(target, str):
            return Outcome(None, f"target refused: {target}", None, elapsed())
        url, pinning, extensions = target.request()
        now = rt.clock()
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": job.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": domain.signature_header(job.secrets, job.message_id, timestamp, job.payload),
            **pinning,
        }
        limit = rt.settings.webhook_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                request = self._http.build_request(
                    "POST", url, content=job.payload.encode(), headers=headers, extensions=extensions
                )
                response = await self._http.send(request, stream=True)
                try:
                    excerpt = await _excerpt(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(None, f"timeout after {limit:g}s", None, elapsed())
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], None, elapsed())
        retry_after = domain.parse_retry_after(response.headers.get("retry-after"), now)
        return Outcome(response.status_code, None, excerpt, elapsed(), retry_after)

    async def record(self, job: Job, outcome: Outcome, now: datetime) -> None:
        """Log the attempt, then settle the delivery and, on a failure, its endpoint's state."""
        async with self._rt.db.transaction() as session:
            # Endpoint before delivery, the order every writer uses, so that disabling (which
            # touches the endpoint's other deliveries) cannot deadlock with a parallel attempt.
            endpoint = await locked(session, E, job.endpoint_id)
            delivery = await locked(session, D, job.delivery_id)
            if endpoint is None or delivery is None:
                return  # the endpoint was deleted meanwhile
            # The attempt log keeps the outcome as it is, but for the receiver's Retry-After.
            logged = {k: v for k, v in asdict(outcome).items() if k != "retry_after"}
            await session.execute(
                A.insert().values(
                    delivery_id=job.delivery_id, attempted_at=now, trigger=job.trigger, **logged
                )
            )
            if delivery.status != "pending" or delivery.next_attempt_at != job.lease_until:
                return  # resent, recovered or failed by a disable while this attempt ran
            last = {
                "last_attempt_at": now,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
            }
            if outcome.succeeded:
                done = {"status": "succeeded", "succeeded_at": now, "next_attempt_at": None}
                await session.execute(update(D).where(D.c.id == job.delivery_id).values(**done, **last))
                if endpoint.failing_since is not None:
                    await session.execute(update(E).where(E.c.id == endpoint.id).values(failing_since=None))
                return
            await session.execute(
                update(D)
                .where(D.c.id == job.delivery_id)
                .values(**self._retry(delivery, outcome, now), **last)
            )
            if endpoint.enabled:
                await self._failing(session, endpoint, outcome, now)

    def _retry(self, delivery: Row[Any], outcome: Outcome, now: datetime) -> dict[str, Any]:
        """After a failed attempt: the next one on the retry schedule, or none (410, schedule spent)."""
        settings = self._rt.settings
        attempts = delivery.attempts + 1
        delay = domain.next_attempt_delay(
            settings.webhook_retry_schedule_seconds,
            attempts,
            jitter=settings.webhook_retry_jitter,
            rand=self._rand(),
            retry_after=outcome.retry_after,
        )
        if delay is None or outcome.status_code == 410:
            return {"attempts": attempts, "status": "failed", "failed_at": now, "next_attempt_at": None}
        return {"attempts": attempts, "next_attempt_at": now + timedelta(seconds=delay)}

    async def _failing(
        self, session: AsyncSession, endpoint: Row[Any], outcome: Outcome, now: datetime
    ) -> None:
        """An enabled endpoint failed: disabled when gone (410) or failing too long, else marked failing."""
        failing_since = endpoint.failing_since or now
        limit = timedelta(seconds=self._rt.settings.webhook_disable_after_failing_seconds)
        if outcome.status_code == 410 or now - failing_since >= limit:
            reason: DisableReason = "gone" if outcome.status_code == 410 else "sustained-failure"
            log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
            await disable_endpoint(
                self._rt,
                session,
                endpoint,
                reason,
                now,
                failing_since=failing_since,
                last_status_code=outcome.status_code,
            )
        elif endpoint.failing_since is None:
            await session.execute(update(E).where(E.c.id == endpoint.id).values(failing_since=now))

    async def _release(self, jobs: list[Job]) -> None:
        """Give leases of attempts cut short by a shutdown back at once."""
        if not jobs:
            return
        try:
            async with self._rt.db.transaction() as session:
                for job in jobs:
                    await session.execute(
                        update(D)
                        .where(
                            D.c.id == job.delivery_id,
                            D.c.status == "pending",
                            D.c.next_attempt_at == job.lease_until,
                        )
                        .values(next_attempt_at=self._rt.clock())
                    )
        except Exception:
            log.warning("could not release %d webhook leases; they expire by themselves", len(jobs))


async def _excerpt(response: httpx.Response) -> str:
    """The start of the receiver's answer, for the attempt log (never the whole body)."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= RESPONSE_EXCERPT * 4:
            break
    return data.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT]
