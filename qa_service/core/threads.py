"""Objects that keep state between calls, one for each thread that uses them."""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerThread(Generic[T]):
    """``factory()``, made once in each thread that calls ``get``.

    For objects that are cheap to make but keep the work in hand in themselves (pysbd's
    segmenter holds the text it is splitting), so that one shared by concurrent requests would
    hand one request another's result.

    >>> words = PerThread(list)
    >>> words.get() is words.get()
    True
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._local = threading.local()

    def get(self) -> T:
        try:
            value: T = self._local.value
        except AttributeError:
            value = self._local.value = self._factory()
        return value
