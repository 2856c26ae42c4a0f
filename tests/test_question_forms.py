"""What kind of answer a question asks for, read alike in English, French and Arabic
(``qa_service.text.question_forms``): a French or Arabic question gets the checks its English
original would."""

import pytest

from qa_service.text.question_forms import question_forms


@pytest.mark.parametrize(
    ("english", "french", "arabic", "forms"),
    [
        (
            "In which year did the WHO open its office in Cairo?",
            "En quelle année l'OMS a-t-elle ouvert son bureau au Caire ?",
            "في أيّ عام افتتحت منظمة الصحة العالمية مكتبها في القاهرة؟",
            {"year", "date"},
        ),
        (
            "When did the summit take place?",
            "Quand le sommet a-t-il eu lieu ?",
            "متى عُقدت القمة؟",
            {"date"},
        ),
        (
            "How many officers were trained?",
            "Combien d'agents ont été formés ?",
            "كم عدد الضباط الذين تم تدريبهم؟",
            {"count"},
        ),
        (
            "Who heads the customs service?",
            "Qui dirige le service des douanes ?",
            "من يرأس مصلحة الجمارك؟",
            {"person"},
        ),
        (
            "Which minister opened the conference?",
            "Quel ministre a ouvert la conférence ?",
            "أي وزير افتتح المؤتمر؟",
            {"person"},
        ),
        (
            "Which three countries signed the treaty?",
            "Quels sont les trois pays qui ont signé le traité ?",
            "ما الدول الثلاث التي وقعت المعاهدة؟",
            {"country", "place"},
        ),
        (
            "Where was the photo taken?",
            "Où la photo a-t-elle été prise ?",
            "أين التُقطت الصورة؟",
            {"place"},
        ),
        (
            "In which city did the workshop open?",
            "Dans quelle ville l'atelier s'est-il ouvert ?",
            "في أي مدينة افتتحت الورشة؟",
            {"place"},
        ),
        (
            "How many arrests were made in May, and how many in June?",
            "Combien d'arrestations en mai, et combien en juin ?",
            "كم عدد الاعتقالات في مايو، وكم عددها في يونيو؟",
            {"count", "two"},
        ),
        (
            "Which body hosted the meeting?",
            "Quel organisme a accueilli la réunion ?",
            "ما الهيئة التي استضافت الاجتماع؟",
            set(),
        ),
    ],
)
def test_the_three_languages_ask_alike(
    english: str, french: str, arabic: str, forms: set[str]
) -> None:
    assert question_forms(english, "en") == forms
    assert question_forms(french, "fr") == forms
    assert question_forms(arabic, "ar") == forms


@pytest.mark.parametrize(
    ("question", "language"),
    [
        # How long and how old are not counts, in English either.
        ("Combien de temps après sa connexion la police a-t-elle arrêté le fugitif ?", "fr"),
        ("بعد كم من الوقت ألقت الشرطة القبض على الهارب؟", "ar"),
        ("كم عمر الأمين العام؟", "ar"),
        ("How soon after connecting did the police catch the fugitive?", "en"),
    ],
)
def test_how_long_is_not_a_count(question: str, language: str) -> None:
    assert "count" not in question_forms(question, language)


def test_the_question_word_counts_not_the_same_letters_inside_a_word() -> None:
    # "حكم" (a ruling) holds the letters of "كم" (how many).
    assert question_forms("ما الحكم الذي صدر في القضية؟", "ar") == frozenset()
