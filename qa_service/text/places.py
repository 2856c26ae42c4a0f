"""Country names (ISO 3166, from pycountry): what "which country" asks for. spaCy's small model
reads "North Africa" as a country-like place and "Morocco" opening a sentence as an
organisation; the list does neither."""

import re
from functools import cache

import pycountry


@cache
def _country_pattern() -> re.Pattern[str]:
    spellings: set[str] = set()
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "common_name", None)):
            if name:
                # "Korea, Republic of" is written "Korea"; "Iran, Islamic Republic of", "Iran".
                spellings.add(name.split(",")[0].strip())
    # Longest first, so that "South Sudan" is found whole rather than as "Sudan"; case-sensitive:
    # "Chad" and "Jordan" the countries are written with a capital.
    ordered = sorted(spellings, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(name) for name in ordered) + r")\b")


def countries(text: str) -> set[str]:
    """The countries ``text`` names, as written.

    >>> sorted(countries("Morocco hosted it; South Sudan and the chad of a ballot did not."))
    ['Morocco', 'South Sudan']
    """
    return {match.group() for match in _country_pattern().finditer(text)}
