"""Which language a question is written in: English, French or Arabic.

Three languages with clear signals (Arabic script; French function words and accents) do not
need a statistical detector, which would also be unstable on short questions.
"""

import re

from qa_service.text.sentences import MONTH, ascii_digits, mentions, names, numbers, words

NAMES = {"en": "English", "fr": "French", "ar": "Arabic"}

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_LATIN_OR_ARABIC_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u0600-\u06ff]")
_FRENCH_WORDS = frozenset({
    "le", "la", "les", "des", "du", "un", "une", "est", "sont", "qui", "que", "quel", "quelle",
    "quels", "quelles", "où", "quand", "comment", "pourquoi", "combien", "lors", "dans", "avec",
    "pour", "par", "sur", "au", "aux", "été", "ont", "qu'est-ce", "ce", "cette", "ces", "de",
    "et", "il", "elle", "ils", "elles", "sa", "son", "ses", "leur", "leurs", "pays",
})  # fmt: skip
_ELISION = re.compile(r"^(?:l|d|qu|s|n|j|c)'\w")


def detect_language(text: str) -> str:
    letters = _LATIN_OR_ARABIC_LETTER.findall(text)
    if letters and sum(bool(_ARABIC.match(char)) for char in letters) > len(letters) / 3:
        return "ar"
    words = re.findall(r"[\w'\u2019-]+", text.lower())
    words = [word.replace("\u2019", "'") for word in words]
    french = sum(word in _FRENCH_WORDS or bool(_ELISION.match(word)) for word in words)
    # French typography puts a space before "?", "!", ":" and ";".
    french += bool(re.search(r"\w \?\s*$", text))
    accents = len(re.findall(r"[éèêàùçôîâû]", text.lower()))
    if french >= 2 or (french >= 1 and accents >= 1):
        return "fr"
    return "en"


# Digits as any script writes them (Arabic-Indic ones included), and the separators a
# translation may change ("20,000" in English is "20 000" in French).
_DIGITS = re.compile(r"\d+(?:[.,\u066b\u066c\u00a0\u202f ]\d{3}(?!\d))*(?:[.,\u066b]\d+)?")
_MARKER = re.compile(r"\[\d+\]")


def keeps_facts(source: str, translation: str, language: str) -> bool:
    """Whether a translation of ``source`` keeps its citation markers, its numbers and, into a
    language written in Latin letters, its names. A small model's translation sometimes drops
    the place that answers the question ("... organisé à l'INTERPOL" for "... in Lyon")."""
    if sorted(_MARKER.findall(translation)) != sorted(_MARKER.findall(source)):
        return False
    if not _numbers(_MARKER.sub(" ", source)) <= _numbers(_MARKER.sub(" ", translation)):
        return False
    if language == "ar":
        return True  # names are written in Arabic letters there
    written = words(translation)
    return all(mentions(written, name) for name in names(_MARKER.sub(" ", source)))


def nothing_to_translate(answer: str) -> bool:
    """Whether an answer is only names and numbers ("Mohammed Dkhissi [2]."): a translation
    would only respell the name ("محمد دخسي"), and the asker needs it as the documents write it.
    A month is a word, not a name ("May 16" is "16 mai")."""
    tokens = re.findall(r"[^\W\d_][\w'\u2019-]*|\d+", _MARKER.sub(" ", answer))
    return bool(tokens) and all(
        token[0].isdigit() or (token[0].isupper() and not MONTH.fullmatch(token))
        for token in tokens
    )


def _numbers(text: str) -> set[str]:
    return {
        "".join(str(int(char)) for char in match if char.isdigit())
        for match in _DIGITS.findall(text)
    }


_TOKEN = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def untranslated_terms(original: str, translation: str) -> list[str]:
    """The names and numbers of a question as it was asked that its English translation lacks:
    written in Latin letters, or in digits, they are searched for as they are. A small model's
    translation respells or drops the very names a keyword search needs ("Dialogue d'INTERPOL"
    becomes "the INTERPOL meeting", "عملية Trigger II" "Operation Thriller").

    A name, in a question written in Latin letters, is an acronym, a Roman numeral, or a
    capitalised word past the first; in an Arabic question, any word in Latin letters.

    >>> untranslated_terms("Où s'est tenu le Dialogue d'INTERPOL de 2021 ?",
    ...                    "Where did the INTERPOL meeting take place?")
    ['Dialogue', '2021']
    >>> untranslated_terms("كم عدد الدول التي شاركت في عملية Trigger II عام ٢٠١٧؟",
    ...                    "How many countries took part in Operation Thriller in 2017?")
    ['Trigger', 'II']
    """
    tokens = _TOKEN.findall(ascii_digits(original))
    arabic = detect_language(original) == "ar"
    written = words(translation)
    found = numbers(translation)
    terms: list[str] = []
    for index, token in enumerate(tokens):
        if token[0].isdigit():
            if not numbers(token) <= found:
                terms.append(token)
            continue
        if not all(_LATIN.match(char) or not char.isalpha() for char in token):
            continue
        name = arabic or token.isupper() or (index > 0 and token[0].isupper())
        if name and len(token) > 1 and not mentions(written, token.lower()):
            terms.append(token)
    return list(dict.fromkeys(terms))
