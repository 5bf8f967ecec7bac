"""Secrecy of the ballot (E5): a dump of the database and the service's logs after 100 ballots must
not let anyone match an evaluator to a choice better than chance.

How the test could fail. Every one of the 100 evaluators votes for a different, known set of three
departments, in a known order, so a ballot's content names its voter and any link between a
participation row and a ballot row is visible as a correct match. For each linking strategy an
attacker with the dump could try (physical row order, ``ctid``, ``xmin`` order and equality, the
order of every column including ids, receipts and any timestamp, and the vote-cast rows of the
outbox ordered by ``seq`` and ``created_at`` paired with the participation orders), the test pairs
participations with ballots and counts correct pairs. Chance gives about 1 correct pair out of 100
(Poisson(1): 9 or more happens with probability ~1e-6 per strategy); a leak gives about 100. The
same detector is run on a naive store (participation and ballot inserted together per vote, even
with random ids and no timestamps) and must find the leak there, which shows the detector works.
The logs must not mention any evaluator (entry, person, name or account) or any bearer token.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from shared.observability import JsonFormatter
from shared.settings import CommonSettings
from tests.support import apps
from tests.support.evaluation import CANDIDATES, office, open_round, vote
from tests.support.infra import PostgresSource

CHANCE_CEILING = 8
"""Most correct pairs a strategy may find among 100 by chance (expected 1)."""

Row = dict[str, Any]


# --- the dump ------------------------------------------------------------------------------------


def ctid_key(ctid: str) -> tuple[int, int]:
    page, item = ctid.strip("()").split(",")
    return int(page), int(item)


async def dump(url: str) -> dict[str, list[Row]]:
    """Every table of the database in physical scan order, with ``xmin`` and ``ctid``."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = (
                await conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            ).scalars()
            out: dict[str, list[Row]] = {}
            for table in list(tables):
                result = await conn.execute(
                    sa.text(f'SELECT xmin::text AS "__xmin", ctid::text AS "__ctid", * FROM "{table}"')
                )
                rows = []
                for n, r in enumerate(result.mappings()):
                    row = dict(r)
                    row["__scan"] = n
                    rows.append(row)
                out[table] = rows
            return out
    finally:
        await engine.dispose()


def orderings(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """Every order an attacker could put the rows in: physical, system columns, each column."""
    keys: dict[str, Callable[[Row], Any]] = {
        "scan": lambda r: r["__scan"],
        "ctid": lambda r: ctid_key(r["__ctid"]),
        "xmin": lambda r: (int(r["__xmin"]), ctid_key(r["__ctid"])),
    }
    for column in rows[0]:
        if not column.startswith("__"):
            keys[f"column {column}"] = lambda r, c=column: (str(r[c]), r["__scan"])
    found: dict[str, list[Row]] = {}
    for name, key in keys.items():
        ordered = sorted(rows, key=key)
        found[name] = ordered
        found[f"{name} reversed"] = ordered[::-1]
    return found


def choice_set(value: Any) -> frozenset[str]:
    choices = json.loads(value) if isinstance(value, str) else value
    return frozenset(c["department"] if isinstance(c, dict) else c for c in choices)


def linkage(
    participation: Sequence[Row],
    ballots: Sequence[Row],
    expected: dict[str, frozenset[str]],
    *,
    entry_column: str = "entry_id",
    choices_column: str = "choices",
    vote_casts: Sequence[Row] = (),
) -> dict[str, int]:
    """Correct evaluator→ballot pairs per linking strategy."""
    scores: dict[str, int] = {}

    def score(voters: Sequence[Row], chosen: Sequence[Row]) -> int:
        return sum(
            1
            for v, b in zip(voters, chosen, strict=False)
            if expected[v[entry_column]] == choice_set(b[choices_column])
        )

    voter_orders = orderings(participation)
    for (pn, p), (bn, b) in itertools.product(voter_orders.items(), orderings(ballots).items()):
        scores[f"participation by {pn} ~ ballots by {bn}"] = score(p, b)

    # Equal xmin: a ballot written by the same transaction as exactly one participation.
    by_xmin: dict[str, list[Row]] = {}
    for b in ballots:
        by_xmin.setdefault(b["__xmin"], []).append(b)
    scores["equal xmin"] = sum(
        1
        for v in participation
        if len(by_xmin.get(v["__xmin"], [])) == 1
        and expected[v[entry_column]] == choice_set(by_xmin[v["__xmin"]][0][choices_column])
    )

    # The vote-cast rows give receipts in voting order; a participation order would give voters.
    if vote_casts:
        by_receipt = {b["receipt"]: b for b in ballots}
        for key in ("seq", "created_at", "__xmin"):
            ordered = sorted(
                vote_casts, key=lambda r, k=key: (int(r[k]) if k == "__xmin" else r[k], r["seq"])
            )
            chosen = [by_receipt[receipt_of(r)] for r in ordered]
            for pn, p in voter_orders.items():
                scores[f"participation by {pn} ~ vote-cast by {key}"] = score(p, chosen)
    return scores


def receipt_of(outbox_row: Row) -> str:
    event = outbox_row["event"]
    event = json.loads(event) if isinstance(event, str) else event
    return str(event["data"]["receipt"])


# --- the logs --------------------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter_.format(record))


@contextmanager
def captured_logs() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# --- the tests --------------------------------------------------------------------------------------


def distinct_choices(n: int) -> list[list[str]]:
    """``n`` different sets of three departments, in a random but reproducible order."""
    triples = list(itertools.combinations(CANDIDATES, 3))
    random.Random(20180720).shuffle(triples)
    return [list(t) for t in triples[:n]]


async def test_E5_dump_of_every_table_and_the_logs_does_not_link_an_evaluator_to_a_choice(
    postgres: PostgresSource,
) -> None:
    common: CommonSettings = apps.test_settings(log_level="DEBUG")
    url = await postgres.new_database()
    async with evaluation_at(url, common) as client:
        accounts = await open_round(client, common, "2018-Q2", prefix="secret")
        choices = distinct_choices(len(accounts))
        with captured_logs() as logs:
            receipts = []
            for account, names in zip(accounts, choices, strict=True):
                r = await vote(client, common, "2018-Q2", account, names)
                assert r.status_code == 201, r.text
                receipts.append(r.json()["receipt"])
            for step in ("close-voting", "tally", "publish-results"):
                assert (
                    await client.post(f"/v1/rounds/2018-Q2/{step}", headers=office(common))
                ).status_code == 200
        tables = await dump(url)

    panel = {r["account"]: r for r in tables["panel_entries"]}
    expected = {panel[a]["id"]: frozenset(c) for a, c in zip(accounts, choices, strict=True)}
    assert len(tables["participations"]) == len(tables["ballots"]) == 100

    # Participation and ballots are bare: nothing but ids and content, no time, no serial.
    assert set(tables["participations"][0]) - {"__xmin", "__ctid", "__scan"} == {"round_id", "entry_id"}
    assert set(tables["ballots"][0]) - {"__xmin", "__ctid", "__scan"} == {
        "id",
        "round_id",
        "receipt",
        "choices",
    }

    vote_casts = [r for r in tables["outbox"] if '"receipt"' in json.dumps(r["event"], default=str)]
    assert len(vote_casts) == 100
    scores = linkage(tables["participations"], tables["ballots"], expected, vote_casts=vote_casts)
    assert len(scores) > 100
    leaks = {k: v for k, v in scores.items() if v > CHANCE_CEILING}
    assert leaks == {}, f"strategies matching evaluators to ballots better than chance: {leaks}"

    # No row of any table holds an evaluator's identity together with a receipt or a ballot.
    identities = {
        x for r in tables["panel_entries"] for x in (r["id"], r["person_id"], r["name"], r["account"])
    }
    secrets_ = set(receipts) | {b["id"] for b in tables["ballots"]}
    for table, rows in tables.items():
        for row in rows:
            text = json.dumps(row, default=str, ensure_ascii=False)
            has_identity = any(i in text for i in identities)
            has_secret = any(s in text for s in secrets_)
            assert not (has_identity and has_secret), f"{table} links an evaluator to a ballot: {text[:200]}"

    # The logs of all 100 votes name no evaluator and carry no token.
    assert sum("/ballots" in line for line in logs.lines) >= 100, "the capture must see the votes"
    for line in logs.lines:
        assert not any(i in line for i in identities), line
        assert "eyJ" not in line and not any(rc in line for rc in receipts), line


async def test_E5_the_linkage_detector_catches_a_naive_ballot_store(postgres: PostgresSource) -> None:
    """The control: participation and ballot written together per vote, with random ids and no time."""
    url = await postgres.new_database()
    engine = create_async_engine(url)
    choices = distinct_choices(100)
    entries = [f"pe-{secrets.token_hex(8)}" for _ in choices]
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE naive_participations (round_id text, entry_id text)"))
            await conn.execute(
                sa.text("CREATE TABLE naive_ballots (id text, round_id text, receipt text, choices jsonb)")
            )
        for entry, names in zip(entries, choices, strict=True):
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text("INSERT INTO naive_participations VALUES ('2018-Q2', :e)"), {"e": entry}
                )
                await conn.execute(
                    sa.text("INSERT INTO naive_ballots VALUES (:i, '2018-Q2', :r, CAST(:c AS jsonb))"),
                    {"i": secrets.token_hex(16), "r": f"r-{secrets.token_hex(8)}", "c": json.dumps(names)},
                )
    finally:
        await engine.dispose()
    tables = await dump(url)
    expected = {e: frozenset(c) for e, c in zip(entries, choices, strict=True)}
    scores = linkage(tables["naive_participations"], tables["naive_ballots"], expected)
    assert scores["equal xmin"] == 100
    assert scores["participation by ctid ~ ballots by ctid"] == 100
    assert scores["participation by xmin ~ ballots by xmin"] == 100
    assert max(scores.values()) == 100


@asynccontextmanager
async def evaluation_at(url: str, common: CommonSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with apps.running(apps.service_app("evaluation", url, common)) as client:
        yield client
