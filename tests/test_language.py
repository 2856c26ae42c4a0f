"""Which language a question is in decides the language of its answer."""

import pytest

from qa_service.text.language import (
    detect_language,
    keeps_facts,
    nothing_to_translate,
    untranslated_terms,
)
from qa_service.text.sentences import ascii_digits, numbers


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Who heads Morocco's judicial police?", "en"),
        ("What is the role of Europol and de facto partners?", "en"),
        ("How many countries signed it ?", "en"),
        ("Combien de pays membres compte INTERPOL ?", "fr"),
        ("Quel est le budget annuel d'INTERPOL ?", "fr"),
        ("Où s'est tenue la 8e réunion des chefs de police ?", "fr"),
        ("من هو رئيس الشرطة القضائية في المغرب؟", "ar"),
        ("كم عدد الدول التي شاركت في عملية Trigger II؟", "ar"),
    ],
)
def test_the_language_of_a_question(question: str, language: str) -> None:
    assert detect_language(question) == language


@pytest.mark.parametrize(
    ("translation", "language", "kept"),
    [
        ("La réunion s'est tenue à Lyon le 3 septembre [1].", "fr", True),
        # The place that answers the question is gone.
        ("La réunion s'est tenue au siège d'INTERPOL le 3 septembre [1].", "fr", False),
        ("La réunion s'est tenue à Lyon en septembre [1].", "fr", False),
        ("La réunion s'est tenue à Lyon le 3 septembre.", "fr", False),
        # Names are written in Arabic letters; numbers may be in Arabic-Indic digits.
        ("عقد الاجتماع في ليون في ٣ سبتمبر [1].", "ar", True),
        ("عقد الاجتماع في ليون في سبتمبر [1].", "ar", False),
    ],
)
def test_a_translation_must_keep_markers_numbers_and_names(
    translation: str, language: str, kept: bool
) -> None:
    source = "The meeting was held in Lyon on 3 September [1]."
    assert keeps_facts(source, translation, language) is kept


def test_number_separators_may_change_in_translation() -> None:
    source = "Investigators seized 20,000 rounds and 2.5 tonnes of cannabis [1]."
    translation = "Les enquêteurs ont saisi 20 000 munitions et 2,5 tonnes de cannabis [1]."
    assert keeps_facts(source, translation, "fr")


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ("Mohammed Dkhissi [2].", True),
        ("Tunis, Tunisia [1].", True),
        ("196 [1].", True),
        ("May 16-18, 2017 [1].", False),  # "16-18 mai 2017"
        ("The meeting was held in Lyon [1].", False),
        ("[1]", False),
    ],
)
def test_an_answer_of_names_and_numbers_only_is_not_translated(answer: str, kept: bool) -> None:
    assert nothing_to_translate(answer) is kept


def test_numbers_read_alike_in_any_digits() -> None:
    assert numbers("عام ٢٠١٧ و ١٢٬٥٤٣ ضابط") == {"2017", "12543"} == numbers("2017, 12,543")
    assert ascii_digits("من ٣ إلى ٤ سبتمبر") == "من 3 إلى 4 سبتمبر"


@pytest.mark.parametrize(
    ("original", "translation", "terms"),
    [
        # Names in Latin letters the translation dropped or respelt, and its missing numbers.
        (
            "Combien de policiers ont participé à l'opération Trigger II en 2017 ?",
            "How many police officers took part in Operation Thriller?",
            ["Trigger", "II", "2017"],
        ),
        # Acronyms and capitalised words past the first; not the question word, not a common
        # word, not what the translation already has (in any case, or inflected).
        (
            "Qui dirige le Dialogue d'INTERPOL au Maroc ?",
            "Who leads the Interpol dialogue in Morocco?",
            ["Maroc"],
        ),
        # Arabic names are in Arabic letters: only words in Latin letters and digits are taken.
        (
            "كم عدد الدول التي شاركت في عملية Trigger II عام ٢٠١٧؟",
            "How many states took part in the Trigger II operation in 2017?",
            [],
        ),
        ("أين عُقد حوار ٢٠٢١؟", "Where was the dialogue held?", ["2021"]),
    ],
)
def test_the_search_keeps_the_names_and_numbers_a_translation_lost(
    original: str, translation: str, terms: list[str]
) -> None:
    assert untranslated_terms(original, translation) == terms
