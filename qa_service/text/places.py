"""Country names (ISO 3166, from pycountry): what "which country" asks for, and names that are
no one's ("Croatia" does not answer "who")."""

import re
from collections.abc import Set
from functools import cache

import pycountry

from qa_service.text.sentences import mentions


@cache
def _spellings() -> tuple[str, ...]:
    """Each country's name and common name, longest first (so that "South Sudan" is found
    whole rather than as "Sudan")."""
    spellings: set[str] = set()
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "common_name", None)):
            if name:
                # "Korea, Republic of" is written "Korea"; "Iran, Islamic Republic of", "Iran".
                spellings.add(name.split(",")[0].strip())
    return tuple(sorted(spellings, key=len, reverse=True))


@cache
def _country_pattern() -> re.Pattern[str]:
    # Case-sensitive: "Chad" and "Jordan" the countries are written with a capital, and so is
    # everything else this is meant to find.
    return re.compile(r"\b(?:" + "|".join(re.escape(name) for name in _spellings()) + r")\b")


@cache
def _one_word_countries() -> frozenset[str]:
    # Only one-word names: the words of "Cook Islands" or "Saint Lucia" are people's names too
    # (a sentence that names the country whole is found by countries()).
    return frozenset(name.lower() for name in _spellings() if re.fullmatch(r"\w+", name))


def countries(text: str) -> set[str]:
    """The countries ``text`` names, lowercased."""
    return {match.group().lower() for match in _country_pattern().finditer(text)}


def is_place(name: str) -> bool:
    """Whether a lowercased name is a one-word country's name or its adjective: the country's
    name less at most its last two letters, then at most four letters ("moroccan", "austrian",
    "italian"; also a capital that starts like its country, "tunis")."""
    return any(
        len(root) >= 4 and name.startswith(root) and len(name) - len(root) <= 4
        for country in _one_word_countries()
        for root in {country[:-2], country[:-1], country}
    )


def unasked(found: Set[str], asked_words: Set[str]) -> set[str]:
    """The countries of ``found`` the question does not already name (in any inflection:
    "Austria" is asked by "the Austrian police")."""
    return {
        country
        for country in found
        if not all(mentions(asked_words, word) for word in country.split())
    }
