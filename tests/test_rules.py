"""Each rule of the citation check on its own: the question, a claim and a span, no embedding
model (``qa_service.citations.rules``)."""

from pathlib import Path

import pytest

from qa_service.citations.evidence import Asked, ClaimFacts, SpanFacts, Title
from qa_service.citations.rules import (
    CITED_DOCUMENTS_ABOUT_QUESTION,
    CUT_UNASKED_PLACES,
    JOIN_TWO_PASSAGES,
    RULES,
    SPAN_RULES,
    RuleSet,
    SpanRule,
    Verdict,
)
from qa_service.text.sentences import numbers, words

RULE = {rule.name: rule for rule in SPAN_RULES}


def judge(rule: str, question: str, claim: str, span: str, title: str = "") -> Verdict | None:
    """The rule's verdict on the claim and span, or None where it does not apply."""
    found = SpanFacts(0, 0, len(span), span, Title(title))
    asked = Asked(question, [found])
    checked: SpanRule = RULE[rule]
    if not checked.applies(asked):
        return None
    return checked.check(asked, ClaimFacts(claim, asked), found)


def test_every_rule_has_a_name_and_a_reason() -> None:
    assert len(RULES) == len(set(RULES)) >= 10
    for name, rule in RULES.items():
        assert rule.name == name and len(rule.why) > 20


def test_numbers_in_span_refuses_an_invented_number() -> None:
    span = "Police chiefs from 12 countries met in Lyon."
    kept = judge("numbers_in_span", "Where did they meet?", "Chiefs of 12 countries met.", span)
    assert kept == Verdict(True)
    invented = judge("numbers_in_span", "Where did they meet?", "Chiefs of 45 countries met.", span)
    assert invented == Verdict(False, 'the span lacks "45"')
    # A number the question already gives is context, not a claim.
    asked = judge("numbers_in_span", "What did the 45 chiefs do?", "The 45 chiefs met.", span)
    assert asked is not None and asked.ok


def test_names_in_span_accepts_a_name_from_the_title() -> None:
    span = "He led the delegation to the meeting."
    title = "Abdellatif Hammouchi in Lyon"
    claim = "Abdellatif Hammouchi led the delegation."
    assert judge("names_in_span", "Who led it?", claim, span, title) == Verdict(True)
    verdict = judge("names_in_span", "Who led it?", claim, span)
    assert verdict is not None and not verdict.ok and "hammouchi" in verdict.reason


@pytest.mark.parametrize(
    ("rule", "question", "answers", "does_not"),
    [
        ("year_for_which_year", "In which year was it founded?", "It was founded in 1923.",
         "It was founded in Vienna."),
        ("date_for_when", "When was the meeting held?", "It was held on 16 May.",
         "It was held in Morocco."),
        ("number_for_how_many", "How many officers took part?", "Nine officers took part.",
         "Officers took part."),
        ("person_for_who", "Who is the Secretary General?", "Valdecy Urquiza is Secretary General.",
         "The Secretary General spoke."),
        ("country_for_which_country", "Which country hosted it?", "Morocco hosted it.",
         "The ministry hosted it."),
    ],
)  # fmt: skip
def test_answer_type_rules(rule: str, question: str, answers: str, does_not: str) -> None:
    span = f"{answers} {does_not}"
    assert judge(rule, question, answers, span) == Verdict(True)
    verdict = judge(rule, question, does_not, span)
    assert verdict is not None and not verdict.ok and verdict.reason.startswith("the question asks")
    # Where the question does not ask for that type, the rule does not apply.
    assert judge(rule, "What was discussed?", does_not, span) is None


def test_person_for_who_reads_people_from_the_parse_not_from_capitals() -> None:
    span = "Croatia sent its delegation in November. George Stone led it in Lyon."
    for claim in ("Croatia sent it.", "It came in November.", "It was led in Lyon."):
        verdict = judge("person_for_who", "Who is the delegate?", claim, span)
        assert verdict is not None and not verdict.ok, claim
    # A first name that starts like a country's ("George", "Georgia") is still someone's.
    assert judge("person_for_who", "Who is the delegate?", "George Stone led it.", span) == (
        Verdict(True)
    )


def test_country_for_which_country_takes_a_country_opening_a_sentence() -> None:
    # spaCy's small model reads "Morocco" here as an organisation; the ISO list does not.
    span = "Morocco hosted the meeting in Rabat."
    verdict = judge(
        "country_for_which_country", "Which country hosted it?", "Morocco hosted it.", span
    )
    assert verdict == Verdict(True)


def test_count_of_the_asked_thing_wants_the_asked_noun_beside_the_number() -> None:
    span = "The operation led to 320 firearms seized and 45 arrests."
    question = "How many arrests were made?"
    assert judge("count_of_the_asked_thing", question, "There were 45 arrests.", span) == Verdict(
        True
    )
    wrong = judge("count_of_the_asked_thing", question, "320 were made.", span)
    assert wrong is not None and not wrong.ok and '"arrest"' in wrong.reason


def test_count_of_the_asked_thing_wants_the_noun_named_as_fully_as_the_passages_do() -> None:
    span = "INTERPOL has 196 member countries; 179 countries attended."
    question = "How many member countries does INTERPOL have?"
    full = judge("count_of_the_asked_thing", question, "It has 196 member countries.", span)
    assert full == Verdict(True)
    partial = judge("count_of_the_asked_thing", question, "179 countries attended.", span)
    assert partial is not None and not partial.ok


def test_event_beside_count_wants_the_asked_event_beside_the_number() -> None:
    span = "The attack killed 12 people; 170 officials attending the summit condemned it."
    question = "How many people were killed in the attack?"
    assert judge("event_beside_count", question, "12 people were killed.", span) == Verdict(True)
    wrong = judge("event_beside_count", question, "170 people.", span)
    assert wrong is not None and not wrong.ok
    assert judge("event_beside_count", "How many people?", "170.", span) is None


def test_second_chances_apply_only_where_their_question_is() -> None:
    assert CUT_UNASKED_PLACES.applies(Asked("When was the meeting held?", []))
    assert not CUT_UNASKED_PLACES.applies(Asked("Where was the meeting held?", []))
    assert JOIN_TWO_PASSAGES.applies(Asked("What did Neptune and Trigger seize?", []))
    assert not JOIN_TWO_PASSAGES.applies(Asked("What did Neptune seize?", []))


def test_cited_documents_must_mention_the_question_names_and_numbers() -> None:
    asked = Asked("Who opened the 2016 conference in Tunis?", [])
    rule = CITED_DOCUMENTS_ABOUT_QUESTION
    assert rule.applies(asked)
    lyon = "The conference in Lyon was opened in 2016 by the Secretary General."
    tunis = "In 2016 the Tunis conference was opened by the minister."
    assert not rule.check(asked, words(lyon), numbers(lyon)).ok
    assert rule.check(asked, words(tunis), numbers(tunis)).ok
    assert not rule.applies(Asked("Who opened the conference?", []))


def applying(asked: Asked) -> set[str]:
    return {name for name, rule in RULES.items() if RuleSet().applies(rule, asked)}


@pytest.mark.parametrize(
    ("english", "translation", "original"),
    [
        # The translation lost "which year".
        (
            "In which year was the Dialogue held in Tunis?",
            "When was the Dialogue held in Tunis?",
            "En quelle année le Dialogue s'est-il tenu à Tunis ?",
        ),
        # It added an "and" the question did not have: one thing is asked, from one document.
        (
            "Which MENA countries signed the Paris Call?",
            "Which countries of the Middle East and North Africa signed the Paris Call?",
            "ما دول منطقة الشرق الأوسط وشمال أفريقيا التي وقعت على نداء Paris؟",
        ),
    ],
)
def test_a_translated_question_gets_the_rules_of_what_was_asked(
    english: str, translation: str, original: str
) -> None:
    assert applying(Asked(translation, [], original)) == applying(Asked(english, []))
    assert applying(Asked(translation, [])) != applying(Asked(english, []))


def test_a_translation_that_lost_how_many_still_wants_a_number() -> None:
    original = "كم عدد الضباط الذين حضروا إحاطة Trigger II؟"
    asked = Asked("What officers attended the Trigger II briefing?", [], original)
    assert "number_for_how_many" in applying(asked)
    # What is counted is read from the English words, which no longer say it.
    assert "count_of_the_asked_thing" not in applying(asked)


def test_a_translated_question_still_counts_what_its_translation_names() -> None:
    asked = Asked("How many police officers were mobilised?", [], "Combien de policiers ?")
    assert asked.wants_count and asked.counted_noun == "officer"
    # "Combien de temps" is how long: the translation's "how many" does not make it a count.
    asked = Asked("How many hours later?", [], "Combien de temps après ?")
    assert not asked.wants_count and not asked.counted_noun


def test_numbers_in_arabic_indic_digits_anchor_a_translated_question() -> None:
    asked = Asked("Where was the 2021 Dialogue held?", [], "أين عُقد حوار عام ٢٠٢١؟")
    assert asked.anchor_numbers == {"2021"}
    rule = CITED_DOCUMENTS_ABOUT_QUESTION
    assert not rule.check(asked, words("The Dialogue"), numbers("in 2016")).ok
    assert rule.check(asked, words("The Dialogue"), numbers("in 2021")).ok


def test_a_rule_set_turns_rules_off_by_name_and_refuses_unknown_names() -> None:
    asked = Asked("When was the meeting held?", [])
    assert "date_for_when" in {rule.name for rule in RuleSet().span_rules(asked)}
    off = RuleSet(off=["date_for_when"])
    assert "date_for_when" not in {rule.name for rule in off.span_rules(asked)}
    assert not off.on("date_for_when") and off.on("numbers_in_span")
    with pytest.raises(ValueError, match="unknown rule nope"):
        RuleSet(off=["nope"])


def test_docs_list_every_rule() -> None:
    listed = (Path(__file__).resolve().parents[1] / "docs" / "citations.md").read_text()
    assert [name for name in RULES if f"| `{name}` |" not in listed] == []
