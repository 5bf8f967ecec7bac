"""Access codes of applicants without an account (D7 requests, 004 inquiries), and the limit on
wrong guesses.

A code is 16 characters from an alphabet without look-alikes (about 79 bits), shown once. Only
its SHA-256 digest is stored: a code that random cannot be found from its digest by trying, so a
slow password hash would cost every look-up without protecting anything more. A look-up with a
wrong number costs the same digest as one with a wrong code, and both answer the same 404; each
failure is counted against the caller's address (the gateway sends it as ``X-Forwarded-For``),
and after ``access_max_failures`` in ``access_failure_window_seconds`` the caller gets 429.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, Row, Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure.settings import disclosure_settings
from services.disclosure.tables import access_failures
from shared.app import ServiceContext
from shared.problems import Problem

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 16
_NOTHING = hashlib.sha256(b"no such code").hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def _normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def digest(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def matches(code: str | None, stored: str | None) -> bool:
    """Whether ``code`` is the one whose digest is ``stored``; the same work when nothing is stored."""
    given = digest(code or "")
    return hmac.compare_digest(given, stored or _NOTHING) and stored is not None and bool(code)


def not_found(detail: str) -> Problem:
    return Problem(404, detail, kind="not-found", rule="D7")


async def check_allowed(ctx: ServiceContext, session: AsyncSession, caller: str) -> None:
    settings = disclosure_settings(ctx.settings)
    window = timedelta(seconds=settings.access_failure_window_seconds)
    since = ctx.now() - window
    await session.execute(delete(access_failures).where(access_failures.c.failed_at < since))
    failures = (
        await session.execute(
            select(func.count(), func.min(access_failures.c.failed_at)).where(
                access_failures.c.caller == caller, access_failures.c.failed_at >= since
            )
        )
    ).one()
    if failures[0] >= settings.access_max_failures:
        retry = max(1, int((failures[1] + window - ctx.now()).total_seconds()) + 1)
        raise Problem(
            429,
            f"查询码错误次数过多：{settings.access_failure_window_seconds} 秒内最多 "
            f"{settings.access_max_failures} 次，请 {retry} 秒后再试",
            kind="too-many-attempts",
            rule="D7",
            headers={"Retry-After": str(retry)},
        )


async def record_failure(ctx: ServiceContext, session: AsyncSession, caller: str) -> None:
    await session.execute(insert(access_failures).values(caller=caller[:64], failed_at=ctx.now()))


async def free_number(session: AsyncSession, column: Column[str], prefix: str, year: int) -> str:
    """A random number for a request or an inquiry (``YSQ2018-48271934``): it tells nobody how many
    there are, and a guessed one opens nothing without its code."""
    while True:
        number = f"{prefix}{year}-{secrets.randbelow(10**8):08d}"
        if (await session.execute(select(column).where(column == number))).first() is None:
            return number


async def opened(
    ctx: ServiceContext, session: AsyncSession, table: Table, number: str, code: str | None, caller: str
) -> Row[Any] | None:
    """The row of ``table`` with this number if ``code`` is its code; otherwise ``None`` after the
    same work and a failure counted against ``caller`` (429 once they are too many)."""
    await check_allowed(ctx, session, caller)
    row = (await session.execute(select(table).where(table.c.number == number.strip().upper()))).first()
    if row is not None and matches(code, row.access_code_hash):
        return row
    matches(code, None)  # the same work for an unknown number
    await record_failure(ctx, session, caller)
    return None
