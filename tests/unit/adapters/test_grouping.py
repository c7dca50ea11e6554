"""Group commit: calls that arrive while one runs go together in the next."""

from __future__ import annotations

import asyncio

import pytest

from adapters.grouping import Grouped


async def test_calls_that_arrive_together_run_as_one_group_in_order() -> None:
    groups: list[list[int]] = []

    async def run(items: list[int]) -> list[int | Exception]:
        groups.append(items)
        await asyncio.sleep(0)
        return [item * 10 for item in items]

    grouped: Grouped[int, int] = Grouped(run)

    results = await asyncio.gather(*(grouped(n) for n in range(5)))

    assert results == [0, 10, 20, 30, 40]
    assert groups == [[0, 1, 2, 3, 4]]


async def test_an_item_that_does_not_join_starts_the_next_group() -> None:
    groups: list[list[int]] = []

    async def run(items: list[int]) -> list[int | Exception]:
        groups.append(items)
        return list(items)

    grouped: Grouped[int, int] = Grouped(run, joins=lambda group, item: len(group) < 2)

    await asyncio.gather(*(grouped(n) for n in range(5)))

    assert groups == [[0, 1], [2, 3], [4]]


async def test_each_caller_gets_its_own_outcome_and_a_failed_run_fails_them_all() -> None:
    async def run(items: list[int]) -> list[int | Exception]:
        if 0 in items:
            raise RuntimeError("down")
        return [ValueError(item) if item % 2 else item for item in items]

    grouped: Grouped[int, int] = Grouped(run)

    mixed = await asyncio.gather(*(grouped(n) for n in (1, 2)), return_exceptions=True)
    failed = await asyncio.gather(*(grouped(n) for n in (0, 2)), return_exceptions=True)

    assert isinstance(mixed[0], ValueError)
    assert mixed[1] == 2
    assert all(isinstance(error, RuntimeError) for error in failed)


async def test_a_caller_that_gave_up_before_its_group_is_left_out() -> None:
    release = asyncio.Event()
    groups: list[list[str]] = []

    async def run(items: list[str]) -> list[str | Exception]:
        groups.append(items)
        await release.wait()
        return list(items)

    grouped: Grouped[str, str] = Grouped(run)
    first = asyncio.create_task(grouped("first"))
    await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(grouped("given up"), 0.01)
    last = asyncio.create_task(grouped("last"))
    await asyncio.sleep(0.01)
    release.set()

    assert (await first, await last) == ("first", "last")
    assert groups == [["first"], ["last"]]
