"""Which language a question is in decides the language of its answer."""

import pytest

from qa_service.language import detect_language


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
