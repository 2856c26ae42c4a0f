"""A blocking iterator consumed from async code, in worker threads."""

from collections.abc import AsyncGenerator, Iterator
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.concurrency import iterate_in_threadpool

T = TypeVar("T")


async def iterate_closing(iterator: Iterator[T]) -> AsyncGenerator[T, None]:
    """``iterate_in_threadpool`` that closes a generator as soon as its consumer stops (a
    client gone mid-answer, a cancelled task) rather than whenever it is garbage collected: a
    suspended generator keeps what it holds, the local model and its lock among them.

    Use it under ``contextlib.aclosing`` so that stopping at a ``yield`` closes it too.
    """
    try:
        async for item in iterate_in_threadpool(iterator):
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            # Shielded, so a cancelled consumer still closes it; in a thread, as the
            # generator's cleanup may block. No step is running then: a cancelled step
            # is waited for (anyio does not abandon a thread).
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)
