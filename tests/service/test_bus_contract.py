"""Both in-process buses keep Kafka's at-least-once contract; the PostgreSQL one survives restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.messaging.bus import Bus, Message
from shared.messaging.memory import MemoryBus
from shared.messaging.pgbus import PostgresBus
from tests.support.infra import PostgresSource


@pytest.fixture(params=["memory", "postgres"])
async def bus(request: pytest.FixtureRequest, postgres: PostgresSource) -> AsyncIterator[Bus]:
    the_bus: Bus = (
        MemoryBus() if request.param == "memory" else PostgresBus(await postgres.new_database("bus"))
    )
    await the_bus.start()
    yield the_bus
    await the_bus.stop()


async def test_uncommitted_messages_are_delivered_again(bus: Bus) -> None:
    await bus.publish(
        [Message(topic="t", key=b"k", value=str(i).encode(), headers=(("h", b"v"),)) for i in range(3)]
    )
    first = bus.consumer("g", ["t"])
    await first.start()
    batch = await first.fetch(10, 0.5)
    assert [m.value for m in batch] == [b"0", b"1", b"2"]
    assert batch[0].header("h") == "v" and batch[0].key == b"k"
    await first.commit(batch[:1])
    await first.stop()
    second = bus.consumer("g", ["t"])
    await second.start()
    assert [m.value for m in await second.fetch(10, 0.5)] == [b"1", b"2"]


async def test_groups_are_independent_and_a_waiting_fetch_wakes_on_publish(bus: Bus) -> None:
    a, b = bus.consumer("a", ["t"]), bus.consumer("b", ["t"])
    await a.start()
    await b.start()
    assert await a.fetch(10, 0.05) == []
    await bus.publish([Message(topic="t", key=None, value=b"x")])
    assert [m.value for m in await a.fetch(10, 1)] == [b"x"]
    assert [m.value for m in await b.fetch(10, 1)] == [b"x"]


async def test_postgres_bus_keeps_messages_and_positions_across_a_restart(postgres: PostgresSource) -> None:
    url = await postgres.new_database("bus")
    before = PostgresBus(url)
    await before.start()
    await before.publish([Message(topic="t", key=None, value=str(i).encode()) for i in range(4)])
    consumer = before.consumer("g", ["t"])
    await consumer.start()
    await consumer.commit(await consumer.fetch(2, 0.5))
    await before.stop()  # the process goes away with two messages unconsumed

    after = PostgresBus(url)
    await after.start()
    try:
        consumer = after.consumer("g", ["t"])
        await consumer.start()
        assert [m.value for m in await consumer.fetch(10, 0.5)] == [b"2", b"3"]
        await after.publish([Message(topic="t", key=None, value=b"4")])
        assert [m.offset for m in await consumer.fetch(10, 0.5)] == [4]
    finally:
        await after.stop()
