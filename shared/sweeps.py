"""The deadline sweep, written once: claim the due rows → close them → announce each once.

A service describes its sweep (``Sweep``): the table, the key, the deadline column, the state
guard, what closing sets and the event that announces a closed row. ``run_sweep`` then loops in
batches of ``XN_SWEEP_BATCH_SIZE``: in one transaction it claims due rows through the guard
(``FOR UPDATE SKIP LOCKED``, so replicas share the work), closes them with set-based ``UPDATE``s
that repeat the guard (so a row leaves its open state once), and records the announcements of
the rows really closed with one outbox ``INSERT``, in claim order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, Column, Select, Table, bindparam, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.events import EventData

if TYPE_CHECKING:
    from shared.app import ServiceContext


@dataclass(frozen=True)
class Sweep:
    """One kind of deadline: which rows fall due, how they close, how each is announced.

    - ``still_open()``: the state guard, in the claim and again in every ``UPDATE``.
    - ``claim``: the columns (or joined query) to read for a due row; the sweep adds the guard,
      ``deadline <= now``, the order, the batch limit and the row lock. Must select ``key``.
    - ``closing(now)``: the columns every closed row gets (constants or column expressions).
    - ``outcome``: optionally, a column whose new value depends on the row (``outcome_of``);
      rows are closed in one ``UPDATE`` per distinct outcome.
    - ``announce(row, outcome)``: the event for a row this sweep closed.
    """

    table: Table
    key: tuple[Column[Any], ...]
    deadline: Column[Any]
    still_open: Callable[[], ColumnElement[bool]]
    closing: Callable[[datetime], Mapping[str, Any]]
    announce: Callable[[Row[Any], str | None], EventData]
    claim: Callable[[], Select[Any]] | None = None
    outcome: str | None = None
    outcome_of: Callable[[Row[Any]], str] | None = None
    order: Sequence[ColumnElement[Any]] = field(default=())

    def due(self, now: datetime, limit: int) -> Select[Any]:
        query = self.claim() if self.claim is not None else select(self.table)
        # deadline <= now: at 24:00 of the last day exactly, the row is already late.
        return (
            query.where(self.still_open(), self.deadline <= now)
            .order_by(*(self.order or (self.deadline,)))
            .limit(limit)
            .with_for_update(of=self.table, skip_locked=True)
        )


async def run_sweep(ctx: ServiceContext, sweep: Sweep, now: datetime, *, batch: int | None = None) -> int:
    """Close and announce every row of ``sweep`` due at ``now``; returns how many were claimed."""
    size = batch or ctx.common.sweep_batch_size
    total = 0
    while True:
        async with ctx.db.transaction() as session:
            rows = (await session.execute(sweep.due(now, size))).all()
            if rows:
                await _close(ctx, session, sweep, rows, now)
        total += len(rows)
        if len(rows) < size:
            return total


async def _close(
    ctx: ServiceContext, session: AsyncSession, sweep: Sweep, rows: Sequence[Row[Any]], now: datetime
) -> None:
    outcomes = {_key(sweep, r): (sweep.outcome_of(r) if sweep.outcome_of else None) for r in rows}
    closed: set[tuple[Any, ...]] = set()
    by_outcome = sorted(outcomes.items(), key=lambda kv: kv[1] or "")
    for outcome, group in itertools.groupby(by_outcome, key=lambda kv: kv[1]):
        keys = [k for k, _ in group]
        values = dict(sweep.closing(now))
        if sweep.outcome is not None:
            values[sweep.outcome] = outcome
        closed |= await _close_keys(session, sweep, keys, values)
    events = [sweep.announce(r, outcomes[k]) for r in rows if (k := _key(sweep, r)) in closed]
    await ctx.emit_many(session, events)


async def _close_keys(
    session: AsyncSession, sweep: Sweep, keys: list[tuple[Any, ...]], values: Mapping[str, Any]
) -> set[tuple[Any, ...]]:
    """One guarded ``UPDATE`` for ``keys``. The keys travel as one array per key column, unnested
    in the database: a statement of constant shape, compiled and planned once."""
    names = [c.name for c in sweep.key]
    claimed = (
        func.unnest(
            *(
                bindparam(f"claimed_{c.name}", [k[i] for k in keys], type_=ARRAY(c.type))
                for i, c in enumerate(sweep.key)
            )
        )
        .table_valued(*names)
        .render_derived()
        .alias("claimed")
    )
    matches = [c == claimed.c[c.name] for c in sweep.key]
    result = await session.execute(
        update(sweep.table).where(*matches, sweep.still_open()).values(**values).returning(*sweep.key)
    )
    return {tuple(r) for r in result}


def _key(sweep: Sweep, row: Row[Any]) -> tuple[Any, ...]:
    return tuple(getattr(row, c.name) for c in sweep.key)
