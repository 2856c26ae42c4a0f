"""Where an answer's time went, in milliseconds, as ``Answer.timings_ms`` reports it."""

import time


class Stopwatch:
    """``lap`` times a step since the previous one; ``since_start`` since the question came."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._started = self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = _ms(now - self._last)
        self._last = now

    def since_start(self, name: str) -> None:
        self.timings[name] = _ms(time.perf_counter() - self._started)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
