"""Run a real single-node Apache Kafka broker (KRaft, combined broker+controller) without Docker.

The broker's jars come from Maven Central: ``devtools/kafka/pom.xml`` pins ``org.apache.kafka:kafka_2.13``
plus a Log4j 2 SLF4J binding, and :func:`assemble` copies the runtime dependency closure into a cache
folder (``${XDG_CACHE_HOME:-~/.cache}/xiaoneng/kafka-<version>/libs``) with ``mvn``. :class:`KafkaBroker`
formats a data folder once and runs ``java ... kafka.Kafka server.properties`` as a child process in its
own process group, waiting until the broker answers a real Kafka ``Metadata`` request.

Library use (tests)::

    with KafkaBroker(tmp_path / "kafka") as broker:
        bootstrap = broker.bootstrap  # "127.0.0.1:<port>"

Command line (``make up``)::

    python -m devtools.kafka_broker assemble
    python -m devtools.kafka_broker run --port 9092 --data var/kafka
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from devtools.cache import cache_root, file_lock, pom_property, tail

__all__ = [
    "KAFKA_VERSION",
    "BrokerError",
    "KafkaBroker",
    "assemble",
    "default_cache_dir",
    "main",
]

logger = logging.getLogger(__name__)

_KAFKA_DIR: Final = Path(__file__).resolve().parent / "kafka"
POM_PATH: Final = _KAFKA_DIR / "pom.xml"
LOG4J2_CONFIG: Final = _KAFKA_DIR / "log4j2.properties"
_MARKER_NAME: Final = ".assembled"
_HOST: Final = "127.0.0.1"
_JVM_OPTS: Final = ("-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true")
_STOP_TIMEOUT: Final = 30.0


class BrokerError(RuntimeError):
    """Assembly failed, or the broker did not come up (message carries the log tail)."""


KAFKA_VERSION: Final = pom_property(POM_PATH, "kafka.version", error=BrokerError)


def default_cache_dir() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/xiaoneng/kafka-<version>``."""
    return cache_root() / f"kafka-{KAFKA_VERSION}"


def _fingerprint() -> str:
    """Changes whenever the pinned artifacts change, so a stale cache is rebuilt."""
    return hashlib.sha256(POM_PATH.read_bytes()).hexdigest()


def assemble(cache_dir: Path | None = None) -> Path:
    """Copy the broker's runtime jars from Maven Central into ``<cache_dir>/libs`` and return that folder.

    Idempotent: a marker file (holding a hash of ``pom.xml``) is written only after ``mvn`` succeeded, so
    an interrupted or failed run is redone from scratch next time. Safe to call from several processes
    at once (file lock). The first run on a machine with an empty ``~/.m2`` downloads about 45 MB.
    """
    cache = (cache_dir or default_cache_dir()).expanduser().resolve()
    libs = cache / "libs"
    marker = cache / _MARKER_NAME
    wanted = _fingerprint()
    with file_lock(cache / ".lock"):
        if marker.is_file() and marker.read_text().strip() == wanted and any(libs.glob("kafka_2.13-*.jar")):
            logger.debug("Kafka %s already assembled in %s", KAFKA_VERSION, libs)
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("`mvn` not found on PATH; install Maven 3 (apt-get install maven)")
        marker.unlink(missing_ok=True)
        shutil.rmtree(libs, ignore_errors=True)
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM_PATH),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ]
        logger.info(
            "Assembling Kafka %s into %s (first run downloads from Maven Central)", KAFKA_VERSION, libs
        )
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            shutil.rmtree(libs, ignore_errors=True)
            raise BrokerError(
                f"mvn exited with {proc.returncode} while assembling Kafka {KAFKA_VERSION}:\n"
                f"{tail(proc.stdout + proc.stderr)}"
            )
        jars = sorted(p.name for p in libs.glob("*.jar"))
        if not any(name.startswith("kafka_2.13-") for name in jars):
            raise BrokerError(f"mvn succeeded but {libs} holds no kafka_2.13 jar: {jars}")
        marker.write_text(wanted + "\n")
        logger.info(
            "Assembled Kafka %s: %d jars in %.1f s", KAFKA_VERSION, len(jars), time.monotonic() - started
        )
    return libs


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError("`java` not found (Kafka 4.x needs Java 17+); set JAVA_HOME or install a JDK")
    return java


def _random_cluster_id() -> str:
    """Same shape as ``kafka.tools.StorageTool random-uuid`` (URL-safe base64 of a UUID, no padding)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


# --- minimal Kafka wire protocol, enough for a readiness probe -------------------------------------


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return bytes(buf)


def _request(sock: socket.socket, api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    client_id = b"xiaoneng-devtools"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    response = _recv_exact(sock, size)
    (got,) = struct.unpack_from(">i", response, 0)
    if got != correlation_id:
        raise ConnectionError(f"correlation id mismatch ({got} != {correlation_id})")
    return response[4:]


def _probe_metadata(port: int, timeout: float) -> int:
    """Send ApiVersions then Metadata (v4..v8) and return how many brokers the cluster reports."""
    with socket.create_connection((_HOST, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        body = _request(sock, 18, 0, 1, b"")  # ApiVersions v0
        (error_code, count) = struct.unpack_from(">hi", body, 0)
        if error_code != 0:
            raise ConnectionError(f"ApiVersions error code {error_code}")
        ranges = {key: (lo, hi) for key, lo, hi in struct.iter_unpack(">hhh", body[6 : 6 + 6 * count])}
        lo, hi = ranges.get(3, (0, -1))
        version = min(hi, 8)
        if version < max(lo, 4):
            return 1  # no Metadata version this probe can speak; ApiVersions answering will do
        request = struct.pack(">i?", -1, False)  # all topics, allow_auto_topic_creation=false
        if version >= 8:
            request += struct.pack(">??", False, False)
        meta = _request(sock, 3, version, 2, request)
        # throttle_time_ms int32, then brokers array
        (broker_count,) = struct.unpack_from(">i", meta, 4)
        return int(broker_count)


# --- broker process --------------------------------------------------------------------------------

_LIVE: weakref.WeakSet[KafkaBroker] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for broker in list(_LIVE):
        with contextlib.suppress(Exception):
            broker.kill()


class KafkaBroker:
    """A single-node KRaft Kafka broker (broker+controller in one JVM) rooted at ``data_dir``.

    ``data_dir`` holds ``server.properties``, ``broker.log`` and the Kafka log folder ``data/``. The
    folder is formatted on the first start only, so :meth:`restart` (and a new instance on the same
    folder) keeps topics and committed offsets. Ports are picked at construction when not given and
    stay fixed for the instance's lifetime.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        controller_port: int | None = None,
        *,
        cache_dir: Path | None = None,
        extra_properties: Mapping[str, str] | None = None,
        scram_users: Mapping[str, str] | None = None,
    ) -> None:
        """``extra_properties`` are added to (or override) :meth:`server_properties`, e.g. a second
        listener with SASL; ``scram_users`` (name → password) get SCRAM-SHA-512 credentials when the
        storage is formatted (first start only). Both default to nothing: a plain broker."""
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.extra_properties = dict(extra_properties or {})
        self.scram_users = dict(scram_users or {})
        self.port = port or _free_port()
        self.controller_port = controller_port or _free_port()
        while self.controller_port == self.port:
            self.controller_port = _free_port()
        self.cache_dir = cache_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._lock = threading.Lock()

    # -- paths and properties -----------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:<port>"`` for ``bootstrap_servers``."""
        return f"{_HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "data"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.is_running and self._proc is not None else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def server_properties(self) -> dict[str, str]:
        """The broker configuration written to ``server.properties`` on every start."""
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{_HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{_HOST}:{self.port},CONTROLLER://{_HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{_HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dirs),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "background.threads": "2",
            "log.cleaner.threads": "1",
            # After kill() the old registration must expire before the restarted broker may register
            # (DUPLICATE_BROKER_REGISTRATION); the defaults (2 s / 9 s) made a post-crash start take ~12 s.
            "broker.heartbeat.interval.ms": "1000",
            "broker.session.timeout.ms": "4000",
        }

    def _write_config(self) -> None:
        lines = ["# Written by devtools/kafka_broker.py on every start; edits are overwritten."]
        properties = self.server_properties() | self.extra_properties
        lines += [f"{key}={value}" for key, value in properties.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    def _jvm_base(self, libs: Path) -> list[str]:
        return [
            _java(),
            *_JVM_OPTS,
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            f"{libs}/*",
        ]

    def _format_storage(self, libs: Path) -> None:
        if (self.log_dirs / "meta.properties").is_file():
            logger.debug("Kafka storage in %s already formatted; keeping it", self.log_dirs)
            return
        cluster_id = _random_cluster_id()
        cmd = [
            *self._jvm_base(libs),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.config_path),
        ]
        for name, password in self.scram_users.items():
            cmd += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
        logger.info("Formatting Kafka storage %s (cluster id %s)", self.log_dirs, cluster_id)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BrokerError(
                f"kafka StorageTool format failed ({proc.returncode}):\n{tail(proc.stdout + proc.stderr)}"
            )

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of ``broker.log`` (empty string when there is none yet)."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 64 * 1024))
                return tail(fh.read().decode(errors="replace"), lines)
        except FileNotFoundError:
            return ""

    def _failure_report(self) -> str:
        """First ERROR/FATAL/``Caused by`` lines of the current run, then the log tail."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                run = fh.read().decode(errors="replace").splitlines()
        except FileNotFoundError:
            return f"(no {self.log_path})"
        errors = [ln for ln in run if " ERROR " in ln or " FATAL " in ln or ln.startswith("Caused by:")]
        parts = []
        if errors:
            parts.append("first errors:\n" + "\n".join(errors[:8]))
        parts.append(f"tail of {self.log_path}:\n" + "\n".join(run[-30:]))
        return "\n".join(parts)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self, timeout: float = 90) -> str:
        """Format storage if needed, launch the broker and block until it serves metadata.

        Returns :attr:`bootstrap`. Raises :class:`BrokerError` (with the log tail) when the JVM exits
        early or the broker is not ready within ``timeout`` seconds; the JVM is killed in that case.
        """
        with self._lock:
            if self.is_running:
                return self.bootstrap
            libs = assemble(self.cache_dir)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._write_config()
            self._format_storage(libs)
            cmd = [*self._jvm_base(libs), "kafka.Kafka", str(self.config_path)]
            started = time.monotonic()
            with self.log_path.open("ab") as log:
                self._log_offset = log.tell()
                log.write(
                    f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n".encode()
                )
                log.flush()
                self._proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    start_new_session=True,
                )
            _LIVE.add(self)
            logger.info(
                "Kafka broker starting (pid %d) on %s, log %s", self._proc.pid, self.bootstrap, self.log_path
            )
            try:
                self._wait_ready(started + timeout)
            except BaseException:
                self._signal(signal.SIGKILL)
                self._reap(5)
                raise
            logger.info("Kafka broker ready on %s after %.1f s", self.bootstrap, time.monotonic() - started)
            return self.bootstrap

    def _wait_ready(self, deadline: float) -> None:
        last_error = "no attempt yet"
        while True:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                raise BrokerError(f"Kafka broker exited early with code {code}; {self._failure_report()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerError(
                    f"Kafka broker on {self.bootstrap} not ready in time (last probe: {last_error}); "
                    f"{self._failure_report()}"
                )
            try:
                if _probe_metadata(self.port, timeout=min(3.0, max(remaining, 0.1))) >= 1:
                    return
                last_error = "metadata lists no brokers yet"
            except (OSError, struct.error) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(min(0.25, max(deadline - time.monotonic(), 0)))

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def _reap(self, timeout: float) -> bool:
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        """Graceful shutdown (SIGTERM to the process group); SIGKILL if it takes longer than ``timeout``."""
        with self._lock:
            if self._proc is None:
                return
            if self._proc.poll() is None:
                started = time.monotonic()
                self._signal(signal.SIGTERM)
                if not self._reap(timeout):
                    logger.warning("Kafka broker did not stop within %.0f s; killing it", timeout)
                    self._signal(signal.SIGKILL)
                    self._reap(10)
                logger.info("Kafka broker stopped in %.1f s", time.monotonic() - started)
            self._proc = None
            _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL the broker (simulates a crash; no controlled shutdown, data stays on disk)."""
        with self._lock:
            if self._proc is None:
                return
            self._signal(signal.SIGKILL)
            self._reap(10)
            self._proc = None
            _LIVE.discard(self)
            logger.info("Kafka broker killed")

    def restart(self, timeout: float = 90) -> str:
        """:meth:`stop` then :meth:`start` on the same ports and data; returns :attr:`bootstrap`."""
        self.stop()
        return self.start(timeout)

    def wait(self) -> int:
        """Block until the broker process exits on its own; returns its exit code."""
        proc = self._proc
        return 0 if proc is None else proc.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.is_running else "stopped"
        return f"KafkaBroker({self.bootstrap}, controller={self.controller_port}, {self.data_dir}, {state})"


# --- command line ----------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    port: int = args.port
    controller_port: int | None = args.controller_port
    if controller_port is None and port:
        controller_port = port + 1
    broker = KafkaBroker(Path(args.data), port or None, controller_port, cache_dir=args.cache_dir)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        logger.info("Received %s; stopping Kafka broker", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        bootstrap = broker.start(timeout=args.timeout)
    except BrokerError as exc:
        logger.error("%s", exc)
        return 1
    print(bootstrap, flush=True)  # noqa: T201 - the CLI's one line of output
    try:
        while not stop.wait(0.5):
            if not broker.is_running:
                logger.error(
                    "Kafka broker exited unexpectedly; tail of %s:\n%s", broker.log_path, broker.log_tail()
                )
                return 1
    finally:
        broker.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.kafka_broker {assemble,run}``."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.kafka_broker",
        description=f"Assemble and run a single-node Apache Kafka {KAFKA_VERSION} broker (KRaft).",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help=f"jar cache (default {default_cache_dir()})"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("assemble", help=f"download Kafka {KAFKA_VERSION} jars from Maven Central (idempotent)")
    run = sub.add_parser("run", help="run a broker in the foreground until SIGINT/SIGTERM")
    run.add_argument("--port", type=int, default=9092, help="PLAINTEXT port (0 = any free port)")
    run.add_argument(
        "--controller-port", type=int, default=None, help="KRaft controller port (default: port+1)"
    )
    run.add_argument("--data", default="var/kafka", help="data folder (formatted on first run, then kept)")
    run.add_argument("--timeout", type=float, default=90.0, help="readiness timeout in seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "assemble":
        try:
            libs = assemble(args.cache_dir)
        except BrokerError as exc:
            logger.error("%s", exc)
            return 1
        print(libs)  # noqa: T201 - the CLI's one line of output
        return 0
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
