"""Which errors mean "the database cannot be reached right now" (503, wait and retry) and which are
bugs (500, dead letter): the classification the HTTP layer and the consumers share."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from shared.db import is_unavailable


def _wrapped(orig: BaseException, kind: type[sa_exc.DBAPIError] = sa_exc.DBAPIError) -> sa_exc.DBAPIError:
    try:
        raise kind("SELECT 1", {}, orig) from orig
    except sa_exc.DBAPIError as exc:
        return exc


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("connection is closed"),
        _wrapped(asyncpg.InterfaceError("connection is closed"), sa_exc.InterfaceError),
        _wrapped(asyncpg.CannotConnectNowError("the database system is shutting down")),
        sa_exc.TimeoutError("QueuePool limit of size 5 overflow 5 reached"),
    ],
    ids=repr,
)
def test_connection_level_errors_mean_unavailable(error: BaseException) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(asyncpg.UniqueViolationError("duplicate key"), sa_exc.IntegrityError),
        _wrapped(
            asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'), sa_exc.ProgrammingError
        ),
        ValueError("a bug"),
        KeyError("a bug"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ],
    ids=repr,
)
def test_other_errors_are_not_unavailability(error: BaseException) -> None:
    assert not is_unavailable(error)
