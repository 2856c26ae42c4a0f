"""Whitespace normalisation that remembers where every character came from.

Chunks are cut and embedded on the normalised text, but their offsets must point into the
document's own text, because citations quote that text exactly.
"""

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class NormalizedText:
    """``text`` with each whitespace run collapsed; ``origin[i]`` is where ``text[i]`` came from."""

    text: str
    origin: NDArray[np.int64]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` was made from."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span {start}:{end} is outside the normalised text")
        return int(self.origin[start]), int(self.origin[end - 1]) + 1


def normalize_whitespace(text: str) -> NormalizedText:
    """Collapse whitespace: a blank line stays a paragraph break, a line break stays a line break,
    any other run becomes one space; leading and trailing whitespace goes.

    >>> normalize_whitespace("  Lyon,\\r\\n\\r\\n  France ").text
    'Lyon,\\n\\nFrance'
    """
    pieces: list[str] = []
    origins: list[NDArray[np.int64]] = []
    position = 0
    for run in _WHITESPACE.finditer(text):
        if run.start() > position:
            pieces.append(text[position : run.start()])
            origins.append(np.arange(position, run.start(), dtype=np.int64))
        position = run.end()
        if run.start() == 0 or run.end() == len(text):
            continue
        newlines = run.group().count("\n") or run.group().count("\r")
        replacement = "\n\n" if newlines >= 2 else "\n" if newlines == 1 else " "
        pieces.append(replacement)
        origins.append(np.full(len(replacement), run.start(), dtype=np.int64))
    if position < len(text):
        pieces.append(text[position:])
        origins.append(np.arange(position, len(text), dtype=np.int64))
    origin = np.concatenate(origins) if origins else np.zeros(0, dtype=np.int64)
    return NormalizedText("".join(pieces), origin)
