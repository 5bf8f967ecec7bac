"""The in-process bus keeps Kafka's at-least-once contract."""

from __future__ import annotations

from shared.messaging.bus import Message
from shared.messaging.memory import MemoryBus


async def test_uncommitted_messages_are_delivered_again_to_the_next_consumer() -> None:
    bus = MemoryBus()
    await bus.publish([Message(topic="t", key=b"k", value=str(i).encode()) for i in range(3)])
    first = bus.consumer("g", ["t"])
    await first.start()
    batch = await first.fetch(10, 0.1)
    assert [m.value for m in batch] == [b"0", b"1", b"2"]
    await first.commit(batch[:1])
    await first.stop()

    second = bus.consumer("g", ["t"])
    await second.start()
    again = await second.fetch(10, 0.1)
    assert [m.value for m in again] == [b"1", b"2"]


async def test_groups_are_independent_and_fetch_waits_for_new_messages() -> None:
    bus = MemoryBus()
    a, b = bus.consumer("a", ["t"]), bus.consumer("b", ["t"])
    await a.start()
    await b.start()
    assert await a.fetch(10, 0.05) == []
    await bus.publish([Message(topic="t", key=None, value=b"x")])
    assert [m.value for m in await a.fetch(10, 0.1)] == [b"x"]
    assert [m.value for m in await b.fetch(10, 0.1)] == [b"x"]
