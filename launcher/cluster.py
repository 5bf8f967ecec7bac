"""``make up`` / ``make down``: the local cluster mode.

A real single-node Apache Kafka (KRaft) assembled from Maven Central, PostgreSQL (embedded, or
``DATABASE_URL``'s server), and the five services as separate uvicorn processes. Logs go to
``var/log``. ``up`` stays in the foreground; Ctrl-C or ``make down`` stops everything. The
services sign and check tokens with ``var/jwt-secret`` unless ``XN_JWT_SECRET`` is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from pathlib import Path

from devtools.kafka_broker import KafkaBroker
from launcher import demo
from launcher.credentials import jwt_secret_env
from launcher.processes import ServiceProcess
from launcher.topology import DEFAULT_PORTS, SERVICES, database_name, service_env
from shared.embedded_pg import EmbeddedPostgres

VAR = Path(os.environ.get("XN_DATA_DIR", "var")).resolve()
PID_FILE = VAR / "cluster.pid"


def up() -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    log_dir = VAR / "log"
    pg = EmbeddedPostgres(VAR / "cluster-postgres", port=int(os.environ.get("XN_CLUSTER_PG_PORT", "54330")))
    pg.start()
    broker = KafkaBroker(VAR / "kafka", port=int(os.environ.get("XN_KAFKA_PORT", "9092")))
    processes: list[ServiceProcess] = []
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        bootstrap = broker.start()
        asyncio.run(pg.create_databases(*(database_name(s) for s in SERVICES)))
        env = service_env(
            database_urls={s: pg.url_for(database_name(s)) for s in SERVICES}, ports=DEFAULT_PORTS
        )
        env.update({"XN_BUS": "kafka", "XN_KAFKA_BOOTSTRAP_SERVERS": bootstrap, **jwt_secret_env(VAR)})
        for service in reversed(SERVICES):
            proc = ServiceProcess(service, DEFAULT_PORTS[service], env, log_dir)
            proc.start()
            processes.append(proc)
        for proc in processes:
            proc.wait_ready()
        PID_FILE.write_text(str(os.getpid()))
        gateway_url = f"http://127.0.0.1:{DEFAULT_PORTS['gateway']}"
        dev = os.environ.get("XN_ENVIRONMENT", "dev") == "dev"
        # As ``make run`` does: the demo clients in dev, none (and old ones removed) elsewhere.
        credentials = asyncio.run(demo.prepare(gateway_url, pg.url_for(database_name("gateway")), dev=dev))
        gateway_db = demo.gateway_database_command(pg.data_dir / "password", pg.port)
        lines = [
            f"效能 Xiaoneng local cluster is up: Kafka {bootstrap}, PostgreSQL 127.0.0.1:{pg.port}",
            f"  (user postgres, password in {pg.data_dir / 'password'})",
            f"  Docs portal: {gateway_url}/docs",
            *demo.client_lines(credentials, gateway_db),
            f"  Logs: {log_dir}",
            *(demo.tour_lines(gateway_url) if credentials else []),
            "  Stop with Ctrl-C or 'make down'.",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        for proc in processes:
            proc.stop()
        broker.stop()
        pg.stop()
        PID_FILE.unlink(missing_ok=True)
    return 0


def down() -> int:
    if not PID_FILE.exists():
        sys.stdout.write("no local cluster is running\n")
        return 0
    os.kill(int(PID_FILE.read_text()), signal.SIGTERM)
    sys.stdout.write("stopping the local cluster\n")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="The local cluster mode")
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args()
    raise SystemExit(up() if args.command == "up" else down())


if __name__ == "__main__":
    main()
