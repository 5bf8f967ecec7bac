"""JSON logs, request ids, W3C trace context and Prometheus metrics.

The request id and ``traceparent`` of the current request (or consumed event) live in context
variables, so log lines, outgoing HTTP calls and outbox rows carry them without being passed
around by hand.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
traceparent_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def current_traceparent() -> str | None:
    return traceparent_var.get()


def new_traceparent(parent: str | None = None) -> str:
    """A child span of ``parent`` (same trace id), or a new trace when there is none."""
    match = _TRACEPARENT.match(parent or "")
    trace_id = match.group(1) if match else secrets.token_hex(16)
    flags = match.group(3) if match else "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


@contextmanager
def trace_context(traceparent: str | None) -> Iterator[None]:
    token = traceparent_var.set(new_traceparent(traceparent))
    try:
        yield
    finally:
        traceparent_var.reset(token)


class JsonFormatter(logging.Formatter):
    _STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        if (tp := traceparent_var.get()) is not None:
            entry["traceparent"] = tp
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


# Loggers kept at WARNING: httpx would write a line per outgoing request with its full URL (the
# gateway's upstream calls included), i.e. a timing line and a path for every ballot (E5).
NOISY_LOGGERS = ("aiokafka", "alembic", "httpx", "httpcore")


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class Metrics:
    """Per-app registry, so several apps can share one process (embedded mode)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=self.registry,
        )
        self.calendar_last_official_year = Gauge(
            "xn_calendar_last_official_year",
            "Last year with an official holiday table (packaged or published); later years are provisional",
            registry=self.registry,
        )
        self.service = service

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class HttpContext:
    """ASGI middleware: request id and trace context in, the same out; latency and status per route.

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which runs the rest of the app in
    a task of its own behind memory streams: on a small read that plumbing cost as much CPU as
    the handler. The context variables set here are seen by everything inside (same task).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        rid = (headers.get(b"x-request-id") or b"").decode("latin-1")[:64] or secrets.token_hex(8)
        parent = headers.get(b"traceparent")
        rid_token = request_id_var.set(rid)
        tp_token = traceparent_var.set(new_traceparent(parent.decode("latin-1") if parent else None))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                message["headers"] = [*kept, (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(self.metrics.service, scope["method"], path).observe(
                time.perf_counter() - started
            )
            self.metrics.requests.labels(self.metrics.service, scope["method"], path, str(status)).inc()
            request_id_var.reset(rid_token)
            traceparent_var.reset(tp_token)
