"""Waiting for something another process or task does: poll, never sleep for a fixed time.

``wait_for`` polls from plain (thread) code, e.g. an HTTP client against a running cluster;
``until`` is the same inside an event loop, where sleeping must give the loop its turn. Both return
what ``check`` returned, so a test can go on with the thing it waited for.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _timed_out(what: str, timeout: float) -> AssertionError:
    return AssertionError(f"{what} not reached within {timeout:g} s")


def wait_for(
    check: Callable[[], T], what: str = "condition", *, timeout: float = 60.0, interval: float = 0.2
) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise _timed_out(what, timeout)
        time.sleep(interval)
    return result


async def until(
    check: Callable[[], Any], what: str = "condition", *, timeout: float = 30.0, interval: float = 0.05
) -> Any:
    """``wait_for`` in an event loop; ``check`` may be a plain function or a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise _timed_out(what, timeout)
        await asyncio.sleep(interval)
