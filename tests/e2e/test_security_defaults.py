"""Issue 15, defaults of ``make run`` and its embedded PostgreSQL, seen from outside.

Each test starts what a user starts (``python -m launcher.embedded``, or the embedded PostgreSQL
helper) in a folder of its own on free ports, and looks at what anyone on the machine could:
HTTP answers, file modes, the process table.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import jwt
import pytest

from launcher.demo import DEMO_CLIENTS
from shared.embedded_pg import SYSTEM_USER, EmbeddedPostgres, _wheel_bin_dir
from shared.settings import DEV_JWT_SECRET
from tests.support.embedded_mode import free_ports, start_embedded

pytestmark = pytest.mark.e2e

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="what the helper does as root")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _documents(gateway: str, token: str) -> httpx.Response:
    return httpx.get(f"{gateway}/api/v1/disclosure/documents", headers=_bearer(token), timeout=30)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def _postmaster(pg: EmbeddedPostgres) -> int:
    return int((pg.pgdata / "postmaster.pid").read_text().split()[0])


def test_point_01_make_run_refuses_tokens_signed_with_the_published_secret(tmp_path: Path) -> None:
    base, pg_port = free_ports()
    data = tmp_path / "var"
    now = int(time.time())
    claims = {"sub": "intruder", "roles": ["admin"], "iat": now, "exp": now + 600}
    forged = jwt.encode(
        {**claims, "iss": "xiaoneng", "aud": "xiaoneng-api"}, DEV_JWT_SECRET, algorithm="HS256"
    )
    run = start_embedded(data, base, pg_port)  # no XN_JWT_SECRET, as `make run`
    try:
        refused = _documents(run.gateway, forged)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        secret_file = data / "jwt-secret"
        assert _mode(secret_file) == 0o600
        secret = secret_file.read_text().strip()
        assert len(secret) >= 32 and secret != DEV_JWT_SECRET
        issued = run.token("demo-office", "demo-office-secret").json()["access_token"]
        jwt.decode(issued, secret, algorithms=["HS256"], audience="xiaoneng-api")  # signed with the file's
        assert _documents(run.gateway, issued).status_code == 200
    finally:
        assert run.stop() == 0

    run = start_embedded(data, base, pg_port)
    try:
        assert secret_file.read_text().strip() == secret, "the folder keeps its secret"
        assert _documents(run.gateway, issued).status_code == 200, "a token outlives a restart"
        assert _documents(run.gateway, forged).status_code == 401
    finally:
        assert run.stop() == 0


def test_point_02_embedded_postgres_asks_every_connection_for_its_password(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    pg.start()
    try:

        async def connections() -> None:
            for wrong in (None, "postgres", ""):
                with pytest.raises(
                    (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)
                ):
                    await asyncpg.connect(host="127.0.0.1", port=pg.port, user="postgres", password=wrong)
            conn = await asyncpg.connect(
                host="127.0.0.1", port=pg.port, user="postgres", password=pg.password
            )
            try:
                stored = await conn.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
                assert stored.startswith("SCRAM-SHA-256$")
                assert await conn.fetchval("SHOW unix_socket_directories") == ""
                assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
            finally:
                await conn.close()

        asyncio.run(connections())
        rules = [
            line.split()
            for line in (pg.pgdata / "pg_hba.conf").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), rules
        assert _mode(pg.data_dir / "password") == 0o600
        assert pg.password in pg.url and pg.password in pg.url_for("xn_gateway")
    finally:
        pg.stop()


def test_point_03_make_run_in_production_registers_and_prints_no_demo_client(tmp_path: Path) -> None:
    base, pg_port = free_ports()
    data = tmp_path / "var"
    run = start_embedded(data, base, pg_port)  # a dev run first leaves its demo clients behind
    try:
        assert "demo-admin" in run.announcement
        assert run.token("demo-admin", "demo-admin-secret").status_code == 200
    finally:
        assert run.stop() == 0

    production = {"XN_ENVIRONMENT": "production", "XN_JWT_SECRET": secrets.token_urlsafe(32)}
    run = start_embedded(data, base, pg_port, **production)
    try:
        printed = run.announcement
        assert not any(client_id in printed for client_id in DEMO_CLIENTS) and "-secret" not in printed, (
            printed
        )
        for client_id in DEMO_CLIENTS:
            r = run.token(client_id, f"{client_id}-secret")
            assert r.status_code == 401, (client_id, r.text)
    finally:
        assert run.stop() == 0


def test_point_09_make_run_starts_after_kill_9_and_over_a_stale_lock_file(tmp_path: Path) -> None:
    base, pg_port = free_ports()
    data = tmp_path / "var"
    run = start_embedded(data, base, pg_port)
    token = run.token("demo-office", "demo-office-secret").json()["access_token"]
    run.kill()
    assert _listening(pg_port), "the database outlived its launcher, as after kill -9 of make run"
    pg = EmbeddedPostgres(data / "postgres", pg_port)
    left_over = _postmaster(pg)

    run = start_embedded(data, base, pg_port)
    try:
        assert not Path(f"/proc/{left_over}").exists(), "the server left over was stopped"
        assert _documents(run.gateway, token).json()["items"], "with its data"
    finally:
        assert run.stop() == 0
    assert not _listening(pg_port) and not (pg.pgdata / "postmaster.pid").exists()

    # A lock file naming a live process that is no PostgreSQL (a pid reused after a reboot).
    with subprocess.Popen(["sleep", "300"]) as stranger:
        lock = f"{stranger.pid}\n{pg.pgdata}\n{int(time.time())}\n{pg_port}\n\n127.0.0.1\n0 0\nready\n"
        (pg.pgdata / "postmaster.pid").write_text(lock)
        try:
            run = start_embedded(data, base, pg_port)
            try:
                assert _documents(run.gateway, token).status_code == 200
            finally:
                assert run.stop() == 0
            assert stranger.poll() is None, "the stranger was left alone"
        finally:
            stranger.kill()


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user may pass through and write to, like /tmp, with nothing else in it."""
    folder = Path("/tmp") / f"xn-security-{secrets.token_hex(6)}"
    folder.mkdir(mode=0o1777)
    folder.chmod(0o1777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@as_root
@pytest.mark.parametrize("where", ["closed", "open"])
def test_point_13_as_root_the_data_path_is_data_and_no_parent_is_widened(
    where: str, tmp_path: Path, open_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # closed: under pytest's 0700 folder, as in a clone inside a 0700 home; open: under /tmp.
    parent = tmp_path if where == "closed" else open_folder
    # Run from a folder the server user may write to: a shell would leave "pwned" there.
    monkeypatch.chdir(open_folder)
    data = parent / 'it\'s a "data" folder $(touch pwned) `touch pwned`' / "pg"
    data.parent.mkdir()
    modes = {p: _mode(p) for p in data.parents}
    pg = EmbeddedPostgres(data)
    pg.start()
    try:
        asyncio.run(pg.create_databases("xn_probe"))
        postmaster = _postmaster(pg)
        user = pwd.getpwnam(SYSTEM_USER)
        assert _uid_of(postmaster) == user.pw_uid != 0
        assert user.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
        server = pg.server_dir
        assert server.stat().st_uid == user.pw_uid and _mode(server) == 0o700
        assert (server == data / "server") == (where == "open"), "only a closed folder is relocated"
    finally:
        pg.stop()
    assert not list(open_folder.rglob("pwned")) and not list(parent.rglob("pwned")), "a command ran"
    assert {p: _mode(p) for p in data.parents} == modes, "a parent's mode changed"


@as_root
def test_point_13_as_root_binaries_out_of_the_server_users_reach_still_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    # The wheel as installed: its package folder and the libraries beside it.
    install = _wheel_bin_dir().parent
    package = install.parent
    shutil.copytree(install, home / package.name / install.name, symlinks=True)
    shutil.copytree(package.with_name(f"{package.name}.libs"), home / f"{package.name}.libs", symlinks=True)
    pg = EmbeddedPostgres(tmp_path / "pg", bin_dir=home / package.name / install.name / "bin")
    pg.start()
    try:
        exe = Path(os.readlink(f"/proc/{_postmaster(pg)}/exe"))
        assert home not in exe.parents
    finally:
        pg.stop()
    assert _mode(home) == 0o700
