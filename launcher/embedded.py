"""``make run``: the whole system in one process on embedded PostgreSQL and the in-process bus.

The bus keeps its log in its own database of the embedded PostgreSQL (``shared.messaging.pgbus``),
so an event handed to it survives a crash or Ctrl-C and is delivered after the next start.

Data lives under ``./var`` (or ``XN_DATA_DIR``) and survives restarts; Ctrl-C stops every
service and the database cleanly. The log goes to ``var/log/xiaoneng.log``; the console shows the
banner and warnings only (while the services start, the file only). In dev (the default
``XN_ENVIRONMENT``) demo API clients are registered on every start, the demo year is seeded once,
and the credentials and a short tour are printed with the portal URL; in any other environment
there are none, and those an earlier dev run left are removed. Tokens are signed with
the data folder's own secret (``jwt-secret``) unless ``XN_JWT_SECRET`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import TextIO

import uvicorn

from launcher import demo
from launcher.credentials import jwt_secret_env
from launcher.topology import DEFAULT_PORTS, SERVICES, app_factory, database_name, service_env
from shared.embedded_pg import EmbeddedPostgres
from shared.messaging.pgbus import PostgresBus
from shared.observability import configure_logging
from shared.settings import CommonSettings

log = logging.getLogger("xiaoneng.embedded")

BUS_DATABASE = "xn_bus"


async def serve(data_dir: Path, host: str, base_port: int, pg_port: int) -> None:
    os.environ.update(jwt_secret_env(data_dir))
    common = CommonSettings()
    configure_logging(common.log_level, json_lines=common.log_json)
    log_file = data_dir / "log" / "xiaoneng.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_stream = log_file.open("a", encoding="utf-8", buffering=1)
    _route_logs(log_stream)
    pg = EmbeddedPostgres(data_dir / "postgres", port=pg_port)
    await asyncio.to_thread(pg.start)
    try:
        await pg.create_databases(*(database_name(s) for s in SERVICES), BUS_DATABASE)
        ports = {s: base_port + (p - DEFAULT_PORTS["gateway"]) for s, p in DEFAULT_PORTS.items()}
        os.environ.update(
            service_env(
                database_urls={s: pg.url_for(database_name(s)) for s in SERVICES}, ports=ports, host=host
            )
        )
        bus = PostgresBus(pg.url_for(BUS_DATABASE))
        await bus.start()
        servers = {
            s: uvicorn.Server(
                uvicorn.Config(
                    app_factory(s)(common=common, bus=bus),
                    host=host,
                    port=ports[s],
                    log_config=None,
                    access_log=False,
                    lifespan="on",
                    # uvicorn would believe X-Forwarded-For from any local peer; the gateway
                    # reads it itself, from XN_GATEWAY_TRUSTED_PROXIES only.
                    proxy_headers=False,
                )
            )
            for s in SERVICES
        }
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Each service sets the logging up again as it starts, on sys.stderr: the log file then.
        with contextlib.redirect_stderr(log_stream):
            tasks = [asyncio.create_task(srv._serve(), name=s) for s, srv in servers.items()]
            while not all(srv.started for srv in servers.values()):
                if any(t.done() for t in tasks):
                    failed = [t.get_name() for t in tasks if t.done()]
                    raise RuntimeError(f"services failed to start: {', '.join(failed)} (see {log_file})")
                await asyncio.sleep(0.1)
        _route_logs(log_stream)
        gateway_url = f"http://{host}:{ports['gateway']}"
        gateway_db = demo.find_app(servers["gateway"].config.loaded_app).state.ctx.db
        if common.environment == "dev":
            credentials = await demo.seed(gateway_url, gateway_db)
        else:
            await demo.retire(gateway_db)
            credentials = {}
        _announce(gateway_url, ports, credentials, pg, log_file)
        await stop.wait()
        log.info("stopping")
        for srv in servers.values():
            srv.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await bus.stop()
    finally:
        await asyncio.to_thread(pg.stop)


def _route_logs(log_stream: TextIO) -> None:
    """Every record to the log file in the configured format; the console keeps only warnings and
    errors (the banner is printed, not logged). While the services start, their records (and
    warnings) go to the file only."""
    root = logging.getLogger()
    (console,) = root.handlers
    to_file = logging.StreamHandler(log_stream)
    to_file.setFormatter(console.formatter)
    console.setLevel(logging.WARNING)
    root.addHandler(to_file)


def _announce(
    gateway_url: str,
    ports: dict[str, int],
    credentials: dict[str, str],
    pg: EmbeddedPostgres,
    log_file: Path,
) -> None:
    # The password stays in its file; the command reads it there.
    gateway_db = demo.gateway_database_command(pg.data_dir / "password", pg.port)
    lines = [
        "",
        "效能 Xiaoneng is running (embedded mode).",
        f"  Docs portal:  {gateway_url}/docs   (ReDoc: {gateway_url}/redoc)",
        f"  OpenAPI:      {gateway_url}/openapi.json",
        "  Services:     " + ", ".join(f"{s} :{p}" for s, p in ports.items()),
        *demo.client_lines(credentials, gateway_db),
        f"  Logs:         {log_file} (here: the banner and warnings only)",
        *(demo.tour_lines(gateway_url) if credentials else []),
        "  Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)  # noqa: T201 - the portal URL is the command's output


def main() -> None:
    data_dir = Path(os.environ.get("XN_DATA_DIR", "var")).resolve()
    host = os.environ.get("XN_HOST", "127.0.0.1")
    base_port = int(os.environ.get("XN_PORT", "8000"))
    pg_port = int(os.environ.get("XN_EMBEDDED_PG_PORT", "54329"))
    asyncio.run(serve(data_dir, host, base_port, pg_port))


if __name__ == "__main__":
    main()
