"""Admission control: a bounded number of answers at work, a bounded queue, and a fast "come
back later" with an estimate of when, rather than a burst that waits minutes."""

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class OverloadedError(Exception):
    """Every answer slot is taken and the queue is full."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"busy: retry in {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s

    @property
    def retry_after_ms(self) -> int:
        return max(1, math.ceil(self.retry_after_s * 1000))

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, as HTTP's Retry-After wants, and never 0."""
        return str(max(1, math.ceil(self.retry_after_s)))


class Admission:
    """At most ``max_in_flight`` answers at once and ``max_queued`` waiting (first come, first
    served); past that ``slot()`` raises ``OverloadedError`` at once.

    The wait is estimated by Little's law: the answers admitted, times the mean time an answer
    held its slot (over the last ``window`` answers), over the slots. Before any answer has
    finished, the running ones' time so far stands in for that mean.

    >>> import asyncio
    >>> admission = Admission(max_in_flight=1, max_queued=0)
    >>> async def answer() -> str:
    ...     async with admission.slot():
    ...         return "an answer"
    >>> asyncio.run(answer())
    'an answer'
    """

    def __init__(
        self,
        max_in_flight: int,
        max_queued: int,
        *,
        window: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.max_queued = max_queued
        self._clock = clock
        self._slots = asyncio.Semaphore(max_in_flight)
        self._admitted = 0
        self._tickets = itertools.count()
        self._running: dict[int, float] = {}  # ticket -> when its answer started
        self._durations: deque[float] = deque(maxlen=window)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return self._admitted - len(self._running)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Holds one of the answer slots for the ``async with`` block, waiting for one if the
        queue has room; ``OverloadedError`` if it has none."""
        if self._admitted >= self.max_in_flight + self.max_queued:
            raise OverloadedError(self.expected_wait_s())
        self._admitted += 1
        try:
            async with self._slots:
                ticket = next(self._tickets)
                self._running[ticket] = self._clock()
                try:
                    yield
                finally:
                    self._durations.append(self._clock() - self._running.pop(ticket))
        finally:
            self._admitted -= 1

    def expected_wait_s(self) -> float:
        """Seconds until the answers admitted now are done, at the recent pace."""
        if self._durations:
            per_answer = sum(self._durations) / len(self._durations)
        else:
            now = self._clock()
            per_answer = max((now - started for started in self._running.values()), default=0.0)
        return self._admitted * per_answer / self.max_in_flight
