"""Sentences with exact character spans, and the content words used to compare them."""

import itertools
import re
from collections.abc import Set
from dataclasses import dataclass
from functools import partial

import pysbd
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from qa_service.core.threads import PerThread

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STOPWORDS = frozenset(STOPWORDS_EN) | {
    "also", "has", "have", "had", "its", "their", "his", "her", "which", "who", "what", "when",
    "where", "how", "did", "does", "do", "from", "about", "according", "documents", "document",
    "was", "were", "been", "being", "would", "could", "should", "can", "may", "than", "so",
    "there", "these", "those", "them", "they", "he", "she", "we", "our", "you", "said",
}  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


# pysbd's segmenter keeps the text it is splitting in itself: each thread needs its own.
_SEGMENTERS = {
    language: PerThread(partial(pysbd.Segmenter, language=language, clean=False, char_span=True))
    for language in ("en", "fr", "ar")
}


def split_sentences(text: str, language: str = "en") -> list[Sentence]:
    """Sentences of ``text``, trimmed, each with ``text[start:end] == sentence.text``.

    A blank line always ends a sentence: a heading or title has no full stop, and pysbd would
    glue it to the sentence after it ("Ex on the Beach Ex on the Beach is a ...").
    A single line break does not (``soft_line_breaks``)."""
    segmenter = _SEGMENTERS.get(language, _SEGMENTERS["en"]).get()
    sentences = []
    offset = 0
    for paragraph in _PARAGRAPH_BREAK.split(text):
        begin = text.index(paragraph, offset)
        offset = begin + len(paragraph)
        if not paragraph.strip():
            continue
        for span in segmenter.segment(soft_line_breaks(paragraph)):
            raw = paragraph[span.start : span.end]
            start = begin + span.start + len(raw) - len(raw.lstrip())
            end = begin + span.start + len(raw.rstrip())
            if end > start:
                sentences.append(Sentence(text[start:end], start, end))
    return sentences


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# A line that starts a block of its own: a list item, a heading, a table row, a quote, a fence.
_BLOCK_LINE = re.compile(r"[ \t]*(?:[-*+\u2022][ \t]|\d{1,3}[.)][ \t]|#|\||>|```)")


def soft_line_breaks(paragraph: str) -> str:
    r"""``paragraph`` with each line break inside running text turned into a space (the same
    length, so offsets hold).

    Hand-wrapped text (Markdown, plain-text mail, the lines a PDF page is extracted as) breaks
    lines mid-sentence, and pysbd ends a sentence at every line break: "the keyword index of\n
    every replica" became two sentences that each say nothing. A break stays where the next
    line starts a block (a list item, a heading, a table row) or the line before is a heading
    or a table row, as Markdown reads them.

    >>> soft_line_breaks("is found by every\nreplica.\n- one\n- two")
    'is found by every replica.\n- one\n- two'
    """
    lines = paragraph.split("\n")
    pieces = [lines[0]]
    for before, line in itertools.pairwise(lines):
        hard = _BLOCK_LINE.match(line) or before.lstrip().startswith(("#", "|"))
        pieces += ("\n" if hard else " ", line)
    return "".join(pieces)


# A month's name or abbreviation, in any case.
MONTH = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b",
    re.IGNORECASE,
)

_stemmer = Stemmer.Stemmer("english")


def content_terms(text: str) -> set[str]:
    """Stemmed words that carry meaning: no stopwords, no one-letter words (numbers count)."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())]
    return set(_stemmer.stemWords(kept))


def names(text: str) -> set[str]:
    """Capitalised words past the first of each sentence (people, places, bodies), lowercased."""
    found: set[str] = set()
    for sentence in split_sentences(text):
        words = _WORD.findall(sentence.text)
        found.update(
            word.lower()
            for word in words[1:]
            if word[0].isupper() and word.lower() not in _STOPWORDS and len(word) > 1
        )
    return found


def numbers(text: str) -> set[str]:
    """The numbers of ``text`` in ASCII digits, without thousands separators: "٢٠١٧" is
    "2017", as a translation writes it."""
    return {number.replace(",", "") for number in _NUMBER.findall(ascii_digits(text))}


# Arabic-Indic and Persian digits, and the Arabic decimal and thousands separators.
_DIGITS = str.maketrans(
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9\u066b\u066c",
    "01234567890123456789.,",
)


def ascii_digits(text: str) -> str:
    """``text`` with its numbers in ASCII digits ("عام ٢٠١٧" -> "عام 2017")."""
    return text.translate(_DIGITS)


def words(text: str) -> frozenset[str]:
    """Every word of ``text``, lowercased."""
    return frozenset(word.lower() for word in _WORD.findall(text))


def mentions(words: Set[str], name: str) -> bool:
    """Whether ``words`` name ``name``, allowing for inflection ("Moroccan" for "Morocco",
    "Presidents" for "President"): a shared start of five letters or more that leaves at most two
    letters over in the shorter word."""
    if name in words:
        return True
    for word in words:
        shorter = min(len(word), len(name))
        shared = next(
            (i for i, (a, b) in enumerate(zip(word, name, strict=False)) if a != b), shorter
        )
        if shared >= 5 and shorter - shared <= 2:
            return True
    return False
