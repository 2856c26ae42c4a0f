"""An answer read as claims: its sentences, each with the ``[n]`` markers that follow it."""

import re
from dataclasses import dataclass

from qa_service.text.sentences import split_sentences

_MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_END_PUNCTUATION = re.compile(r"[.!?؟。]+$")


@dataclass(frozen=True)
class Claim:
    text: str
    cited: tuple[int, ...]  # 1-based passage numbers, as written by the generator


def parse_claims(answer: str) -> list[Claim]:
    """Sentences of ``answer`` with the ``[n]`` markers that follow them.

    A line break ends a sentence here: in a document it may only wrap a line, but a model that
    breaks a line has ended what it was saying (a list item, a sentence without its stop)."""
    claims: list[Claim] = []
    sentences = [sentence for line in answer.split("\n") for sentence in split_sentences(line)]
    for sentence in sentences:
        text = sentence.text
        # A marker that opens a sentence ("... Lyon. [2] Next") belongs to the previous one.
        leading = re.match(r"^(\s*\[\d+(?:\s*,\s*\d+)*\])+", text)
        if leading and claims:
            previous = claims[-1]
            claims[-1] = Claim(previous.text, previous.cited + _marker_numbers(leading.group()))
            text = text[leading.end() :]
        cited = _marker_numbers(text)
        claim = _MARKERS.sub("", text).strip()
        if claim and re.search(r"\w", claim):
            claims.append(Claim(claim, cited))
    return claims


def _marker_numbers(text: str) -> tuple[int, ...]:
    found = (int(n) for group in _MARKERS.findall(text) for n in group.split(","))
    return tuple(dict.fromkeys(found))


def with_markers(claim: str, markers: list[int]) -> str:
    """``claim`` with its markers put back before its closing punctuation."""
    tags = "".join(f"[{n}]" for n in markers)
    punctuation = _END_PUNCTUATION.search(claim)
    if punctuation:
        return f"{claim[: punctuation.start()].rstrip()} {tags}{punctuation.group()}"
    return f"{claim} {tags}"
