"""Whitespace normalisation that remembers where every character came from.

Chunks are cut and embedded on the normalised text, but their offsets must point into the
document's own text, because citations quote that text exactly.
"""

import re
from bisect import bisect_right
from dataclasses import dataclass

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class NormalizedText:
    """``text`` with each whitespace run collapsed, and a table back to the original.

    ``text`` is a sequence of segments: copied runs of text (which map one to one) and
    whitespace replacements (which map to the start of the run they replaced).
    """

    text: str
    segment_starts: tuple[int, ...]
    segment_origins: tuple[int, ...]
    segment_copied: tuple[bool, ...]

    def source_index(self, index: int) -> int:
        """Where ``text[index]`` came from in the original text."""
        segment = bisect_right(self.segment_starts, index) - 1
        offset = index - self.segment_starts[segment] if self.segment_copied[segment] else 0
        return self.segment_origins[segment] + offset

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` was made from."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span {start}:{end} is outside the normalised text")
        return self.source_index(start), self.source_index(end - 1) + 1


def normalize_whitespace(text: str) -> NormalizedText:
    """Collapse whitespace: a blank line stays a paragraph break, a line break stays a line break,
    any other run becomes one space; leading and trailing whitespace goes.

    >>> normalize_whitespace("  Lyon,\\r\\n\\r\\n  France ").text
    'Lyon,\\n\\nFrance'
    """
    pieces: list[str] = []
    starts: list[int] = []
    origins: list[int] = []
    copied: list[bool] = []
    length = 0

    def add(piece: str, origin: int, is_copy: bool) -> None:
        nonlocal length
        pieces.append(piece)
        starts.append(length)
        origins.append(origin)
        copied.append(is_copy)
        length += len(piece)

    position = 0
    for run in _WHITESPACE.finditer(text):
        if run.start() > position:
            add(text[position : run.start()], position, True)
        position = run.end()
        if run.start() == 0 or run.end() == len(text):
            continue
        newlines = run.group().count("\n") or run.group().count("\r")
        add("\n\n" if newlines >= 2 else "\n" if newlines == 1 else " ", run.start(), False)
    if position < len(text):
        add(text[position:], position, True)
    return NormalizedText("".join(pieces), tuple(starts), tuple(origins), tuple(copied))
