"""What kind of answer a question asks for, read from its wording in English, French or Arabic:
a year, a date, a count, an amount, a person, a country, a place, or two things at once.

A translated question is checked in English, but a small model's translation often loses the
question's form ("En quelle année…" becomes "When…", "في أي عام" "When…"), or adds one ("Middle
East and North Africa" asks for two things where "MENA" did not): the forms are read from the
question as it was asked, with each language's own words for them. The patterns of the three
languages say the same things: a French or Arabic question gets the checks its English
original would.

>>> sorted(question_forms("In which year was the Dialogue held?"))
['date', 'year']
>>> sorted(question_forms("En quelle année le Dialogue s'est-il tenu ?", "fr"))
['date', 'year']
>>> sorted(question_forms("في أي عام عُقد الحوار؟", "ar"))
['date', 'year']
>>> sorted(question_forms("Combien de temps a duré la réunion ?", "fr"))  # how long: no count
[]
"""

# Arabic letters here are Arabic, not look-alike Latin ones.
# ruff: noqa: RUF001

import re
from collections.abc import Mapping
from typing import Literal

Form = Literal["year", "date", "count", "amount", "person", "country", "place", "two"]

# The nouns of "which president", "the name of the fugitive": someone is asked for.
_PERSON_EN = (
    r"president|secretary|director|minister|chief|head|commissioner|officer|leader|"
    r"spokesperson|spokesman|spokeswoman|chairman|chairwoman|person|man|woman|fugitive|"
    r"suspect|victim"
)
_PERSON_FR = (
    r"président|présidente|secrétaire|directeur|directrice|ministre|chef|commissaire|"
    r"officier|dirigeant|dirigeante|porte-parole|personne|homme|femme|fugitif|fugitive|suspect|"
    r"suspecte|victime"
)
# Arabic is matched without its short vowels and with every alef written bare (``_arabic``).
_PERSON_AR = (
    r"رئيس|رئيسة|امين|امينة|مدير|مديرة|وزير|وزيرة|قائد|مفوض|ضابط|زعيم|متحدث|شخص|رجل|امراة|"
    r"هارب|مشتبه|ضحية"
)
_PLACE_EN = (
    r"city|town|country|place|venue|region|location|state|province|continent|headquarters|"
    r"capital|port"
)
_PLACE_FR = (
    r"ville|pays|lieu|endroit|région|emplacement|état|province|continent|siège|capitale|port"
)
_PLACE_AR = r"مدينة|بلدة|دولة|بلد|مكان|موقع|منطقة|ولاية|مقاطعة|قارة|مقر|عاصمة|ميناء"

_FR_WHICH = r"(?:quel|quelle|quels|quelles)"
_AR_WHICH = r"(?:اي|ما|ما هي|ما هو)"

_PATTERNS: Mapping[str, Mapping[Form, str]] = {
    "en": {
        "year": r"\b(?:what|which) year\b",
        "date": r"^\W*when\b|\b(?:what|which) (?:date|day|month)\b",
        "count": r"\bhow\s+many\b",
        "amount": r"\bhow much\b",
        "person": (
            r"^\W*who (?:is|was|are|were|will be|has been|heads|headed|leads|led|chairs|"
            rf"chaired)\b|\b(?:which|what|name of(?: the| a| an)?) (?:[\w-]+ )?(?:{_PERSON_EN})\b"
        ),
        # "which country", "which six countries", "what nation".
        "country": r"\b(?:which|what) (?:[\w-]+ ){0,2}?(?:country|countries|nation|nations)\b",
        "place": rf"\bwhere\b|\b(?:which|what) (?:[\w-]+ )?(?:{_PLACE_EN})\b",
        "two": r"\b(?:and|both|respectively|each)\b",
    },
    "fr": {
        "year": rf"\b{_FR_WHICH} (?:année|an)\b",
        "date": rf"^\W*quand\b|\b{_FR_WHICH} (?:date|jour|mois)\b",
        # "combien de temps" is how long, which English does not count.
        "count": r"\bcombien\b(?! de temps)(?! d'argent)(?! co[uû]t)",
        "amount": r"\bcombien (?:d'argent|co[uû]t)",
        "person": (
            r"^\W*qui (?:est|était|sont|étaient|sera|a été|dirige|dirigeait|a dirigé|préside|"
            rf"présidait|a présidé)\b|\b(?:{_FR_WHICH}|nom d[eu](?: la| l'|s)?) ?"
            rf"(?:[\w-]+ )?(?:{_PERSON_FR})\b"
        ),
        "country": (
            rf"\b{_FR_WHICH} (?:(?:est|sont) (?:le|la|les) )?(?:[\w-]+ ){{0,2}}?"
            r"(?:pays|nation|nations)\b"
        ),
        "place": rf"\boù\b|\b{_FR_WHICH} (?:[\w-]+ )?(?:{_PLACE_FR})\b",
        "two": r"\b(?:et|à la fois|tous les deux|toutes les deux|respectivement|chacun|chacune)\b",
    },
    "ar": {
        "year": r"(?:^|\s)(?:في )?اي (?:عام|سنة)\b|\bما (?:العام|السنة)\b",
        "date": (
            r"(?:^|\s)متى\b|(?:^|\s)(?:في )?اي (?:تاريخ|يوم|شهر)\b|\bما (?:تاريخ|التاريخ|اليوم)\b"
        ),
        # "كم من الوقت" is how long, "كم عمر" how old: neither is a count in English.
        "count": r"(?:^|\s)(?:و|ب)?كم(?! من الوقت)(?! عمر)(?! سعر)(?! تكلفة)(?! بلغت قيمة)\b",
        "amount": r"(?:^|\s)كم (?:سعر|تكلفة|بلغت قيمة)\b",
        "person": (
            r"^\W*من (?:هو|هي|هم|كان|كانت|سيكون|يراس|تراس|راس|يقود|قاد|يدير|ادار|انتخب)\b|"
            rf"(?:^|\s)(?:{_AR_WHICH}|اسم) (?:ال)?(?:{_PERSON_AR})\b"
        ),
        "country": rf"(?:^|\s){_AR_WHICH} (?:ال)?(?:دولة|دول|بلد|بلدان|امة|امم)\b",
        "place": rf"(?:^|\s)اين\b|(?:^|\s)(?:في )?{_AR_WHICH} (?:ال)?(?:{_PLACE_AR})\b",
        # "كلا من", "كل من" (both), "على التوالي" (respectively), a second question after "و".
        "two": r"\bكلا من\b|\bكل من\b|\bعلى التوالي\b|(?:^|\s)و(?:كم|ما|من|متى|اين|اي)\b",
    },
}
_COMPILED = {
    language: {form: re.compile(pattern, re.IGNORECASE) for form, pattern in patterns.items()}
    for language, patterns in _PATTERNS.items()
}
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # short vowels, tatweel
_ALEFS = str.maketrans("أإآ", "ااا")


def question_forms(question: str, language: str = "en") -> frozenset[Form]:
    """The kinds of answer ``question``, written in ``language``, asks for. A year is a date;
    a country is a place."""
    text = " ".join(question.replace("\u2019", "'").split())
    if language == "ar":
        text = _ARABIC_MARKS.sub("", text).translate(_ALEFS)
    patterns = _COMPILED.get(language, _COMPILED["en"])
    found: set[Form] = {form for form, pattern in patterns.items() if pattern.search(text)}
    if "year" in found:
        found.add("date")
    if "country" in found:
        found.add("place")
    return frozenset(found)
