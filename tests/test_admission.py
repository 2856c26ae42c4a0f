"""Admission control of answers: slots, a bounded queue, and the wait it announces."""

import asyncio

import pytest

from qa_service.api.admission import Admission, OverloadedError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def hold(admission: Admission, release: asyncio.Event, log: list[str], name: str) -> None:
    async with admission.slot():
        log.append(f"{name} started")
        await release.wait()
    log.append(f"{name} done")


def test_in_flight_then_queued_then_refused_at_once() -> None:
    async def scenario() -> None:
        admission = Admission(max_in_flight=2, max_queued=1)
        release, log = asyncio.Event(), list[str]()
        tasks = [asyncio.create_task(hold(admission, release, log, n)) for n in "abc"]
        await asyncio.sleep(0)
        assert (admission.in_flight, admission.waiting) == (2, 1)
        assert log == ["a started", "b started"]
        with pytest.raises(OverloadedError):
            async with admission.slot():
                pytest.fail("a fourth answer was admitted")
        release.set()
        await asyncio.gather(*tasks)
        # The queued one ran once a slot was free; then everything is released.
        assert log.index("c started") > log.index("a done")
        assert (admission.in_flight, admission.waiting) == (0, 0)
        async with admission.slot():
            assert admission.in_flight == 1

    asyncio.run(scenario())


def test_the_queue_is_first_come_first_served() -> None:
    async def scenario() -> None:
        admission = Admission(max_in_flight=1, max_queued=3)
        release, log = asyncio.Event(), list[str]()
        tasks = []
        for name in "abcd":
            tasks.append(asyncio.create_task(hold(admission, release, log, name)))
            await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*tasks)
        assert [entry for entry in log if entry.endswith("started")] == [
            "a started",
            "b started",
            "c started",
            "d started",
        ]

    asyncio.run(scenario())


def test_a_failed_or_cancelled_answer_gives_its_place_back() -> None:
    async def scenario() -> None:
        admission = Admission(max_in_flight=1, max_queued=1)
        with pytest.raises(RuntimeError):
            async with admission.slot():
                raise RuntimeError("the model failed")
        assert (admission.in_flight, admission.waiting) == (0, 0)

        release, log = asyncio.Event(), list[str]()
        running = asyncio.create_task(hold(admission, release, log, "a"))
        waiting = asyncio.create_task(hold(admission, release, log, "b"))
        await asyncio.sleep(0)
        assert admission.waiting == 1
        waiting.cancel()  # the client went away while queued
        await asyncio.gather(waiting, return_exceptions=True)
        assert (admission.in_flight, admission.waiting) == (1, 0)
        release.set()
        await running
        assert (admission.in_flight, admission.waiting) == (0, 0)

    asyncio.run(scenario())


def test_the_wait_is_estimated_from_recent_answers() -> None:
    async def scenario() -> None:
        clock = Clock()
        admission = Admission(max_in_flight=2, max_queued=2, window=3, clock=clock)
        for seconds in (30.0, 4.0, 2.0, 6.0):  # the first falls out of the window of 3
            async with admission.slot():
                clock.now += seconds
        release, log = asyncio.Event(), list[str]()
        tasks = [asyncio.create_task(hold(admission, release, log, n)) for n in "abcd"]
        await asyncio.sleep(0)
        with pytest.raises(OverloadedError) as refused:
            async with admission.slot():
                pass
        # Four answers admitted, 4 s each on average, two at a time: 8 s.
        assert refused.value.retry_after_s == pytest.approx(8.0)
        assert refused.value.retry_after_header == "8"
        assert refused.value.retry_after_ms == 8000
        release.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_before_any_answer_ends_the_running_ones_stand_in() -> None:
    async def scenario() -> None:
        clock = Clock()
        admission = Admission(max_in_flight=1, max_queued=0, clock=clock)
        release, log = asyncio.Event(), list[str]()
        task = asyncio.create_task(hold(admission, release, log, "a"))
        await asyncio.sleep(0)
        clock.now += 2.5  # running for 2.5 s: it takes at least that
        assert admission.expected_wait_s() == pytest.approx(2.5)
        release.set()
        await task

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("seconds", "header", "ms"),
    [(0.0, "1", 1), (0.2, "1", 200), (2.3, "3", 2300), (61, "61", 61000)],
)
def test_retry_after_is_whole_seconds_and_milliseconds(
    seconds: float, header: str, ms: int
) -> None:
    error = OverloadedError(seconds)
    assert (error.retry_after_header, error.retry_after_ms) == (header, ms)
