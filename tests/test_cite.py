"""The citation checker on hand-made passages: wrong numbers, unsupported claims, exact quotes."""

import pytest

from qa_service.citations.checker import CitationChecker
from qa_service.citations.claims import parse_claims
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder

DOCUMENT = (
    "The 8th Chiefs of Police Meeting took place in Lyon on 3 and 4 September. "
    "It brought together police leaders from 17 countries. "
    "Delegates discussed cryptocurrency fraud and drone threats.\n\n"
    "Operation Sandstorm led to 41 arrests in three countries. "
    "Investigators seized 3 vehicles and 12 kilograms of cannabis."
)


def passage(n: int, start: int, end: int) -> Passage:
    return Passage(
        chunk_id=f"report.txt#v#{n}",
        doc_id="report.txt",
        title="Report",
        text=DOCUMENT[start:end],
        start=start,
        end=end,
        score=0.5,
    )


def whole(doc_id: str, title: str, text: str) -> Passage:
    """A one-chunk document as a passage."""
    return Passage(f"{doc_id}#v#0", doc_id, title, text, 0, len(text), 0.5)


SPLIT = DOCUMENT.index("Operation")
PASSAGES = [passage(0, 0, SPLIT - 2), passage(1, SPLIT, len(DOCUMENT))]


@pytest.fixture(scope="module")
def checker(embedder: Embedder) -> CitationChecker:
    return CitationChecker(embedder)


def test_a_right_citation_is_kept_with_an_exact_quote(checker: CitationChecker) -> None:
    checked = checker.run("The meeting was held in Lyon [1].", PASSAGES)
    assert checked.answer == "The meeting was held in Lyon [1]."
    (citation,) = checked.citations
    assert (
        citation.quote
        == "The 8th Chiefs of Police Meeting took place in Lyon on 3 and 4 September."
    )
    assert DOCUMENT[citation.start : citation.end] == citation.quote
    assert citation.doc_id == "report.txt" and citation.n == 1 and not checked.corrected


def test_a_wrong_number_is_moved_to_the_supporting_passage(checker: CitationChecker) -> None:
    checked = checker.run("Operation Sandstorm resulted in 41 arrests [1].", PASSAGES)
    assert checked.answer == "Operation Sandstorm resulted in 41 arrests [1]."
    assert checked.citations[0].chunk_id == "report.txt#v#1" and checked.corrected == 1
    assert DOCUMENT[checked.citations[0].start : checked.citations[0].end].startswith("Operation")


def test_numbers_outside_the_passages_are_repaired(checker: CitationChecker) -> None:
    checked = checker.run("Police leaders from 17 countries attended [7].", PASSAGES)
    assert checked.citations[0].chunk_id == "report.txt#v#0"
    assert "17 countries" in checked.citations[0].quote


def test_an_unsupported_sentence_is_dropped(checker: CitationChecker) -> None:
    answer = "The meeting was in Lyon [1]. The INTERPOL president opened it with a speech [1]."
    checked = checker.run(answer, PASSAGES)
    assert checked.answer == "The meeting was in Lyon [1]."
    assert checked.unsupported == ["The INTERPOL president opened it with a speech."]


def test_a_changed_number_is_not_supported(checker: CitationChecker) -> None:
    checked = checker.run("Operation Sandstorm led to 14 arrests [2].", PASSAGES)
    assert not checked.supported and checked.answer == ""


def test_citations_are_numbered_in_order_of_appearance(checker: CitationChecker) -> None:
    answer = (
        "Investigators seized 12 kilograms of cannabis [2]. The meeting was in Lyon [1]. "
        "They also seized 3 vehicles [2]."
    )
    checked = checker.run(answer, PASSAGES)
    assert checked.answer == (
        "Investigators seized 12 kilograms of cannabis [1]. The meeting was in Lyon [2]. "
        "They also seized 3 vehicles [1]."
    )
    assert [c.n for c in checked.citations] == [1, 2]
    for citation in checked.citations:
        assert DOCUMENT[citation.start : citation.end] == citation.quote


def test_the_same_span_gets_the_same_number(checker: CitationChecker) -> None:
    checked = checker.run("The meeting was in Lyon [1]. It took place in Lyon [1].", PASSAGES)
    assert len(checked.citations) == 1 and checked.answer.count("[1]") == 2


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    claims = parse_claims("It was in Lyon. [2] Delegates discussed drones [1, 2]. Thanks.")
    assert [(c.text, c.cited) for c in claims] == [
        ("It was in Lyon.", (2,)),
        ("Delegates discussed drones.", (1, 2)),
        ("Thanks.", ()),
    ]


def test_a_line_break_in_an_answer_ends_its_sentence() -> None:
    # Unlike a document's wrapped line: a model breaking a line has finished saying something.
    claims = parse_claims("The meeting was held in Lyon [1]\nDelegates came from 12 countries [2]")
    assert [(c.text, c.cited) for c in claims] == [
        ("The meeting was held in Lyon", (1,)),
        ("Delegates came from 12 countries", (2,)),
    ]


def test_nothing_to_check(checker: CitationChecker) -> None:
    assert not checker.run("", PASSAGES).supported
    assert not checker.run("The meeting was in Lyon [1].", []).supported


def test_an_invented_name_is_not_supported(checker: CitationChecker) -> None:
    checked = checker.run("Operation Sandstorm was led by Inspector Moreau [2].", PASSAGES)
    assert not checked.supported and checked.unsupported


def test_names_in_the_source_are_supported(checker: CitationChecker) -> None:
    checked = checker.run("Operation Sandstorm led to arrests in three countries [2].", PASSAGES)
    assert checked.answer == "Operation Sandstorm led to arrests in three countries [1]."


def test_restating_the_question_is_not_an_answer(checker: CitationChecker) -> None:
    question = "Which threats did delegates discuss at the Lyon meeting?"
    restated = "Delegates discussed threats at the Lyon meeting [1]."
    assert not checker.run(restated, PASSAGES, question).supported
    answered = checker.run("Delegates discussed drone threats [1].", PASSAGES, question)
    assert answered.supported and "drone threats" in answered.citations[0].quote


def test_names_from_the_question_need_not_be_in_the_quote(checker: CitationChecker) -> None:
    # "Sandstorm" is in the question, not in the sentence that holds the answer.
    question = "What did investigators seize in Operation Sandstorm?"
    checked = checker.run(
        "In Operation Sandstorm, investigators seized 12 kilograms of cannabis [2].",
        PASSAGES,
        question,
    )
    assert checked.supported
    assert "seized 3 vehicles and 12 kilograms of cannabis" in checked.citations[0].quote


def test_a_count_of_something_else_does_not_answer_how_many(checker: CitationChecker) -> None:
    question = "How many vehicles were seized in Operation Sandstorm?"
    assert checker.run("3 vehicles were seized [2].", PASSAGES, question).supported
    wrong_count = checker.run("41 vehicles were seized [2].", PASSAGES, question)
    assert not wrong_count.supported
    other_thing = checker.run("Investigators seized 12 kilograms [2].", PASSAGES, question)
    assert not other_thing.supported


def test_a_year_question_needs_a_year(checker: CitationChecker) -> None:
    question = "In which year did the 8th Chiefs of Police Meeting take place?"
    checked = checker.run("It took place on 3 and 4 September [1].", PASSAGES, question)
    assert not checked.supported


def test_a_bare_word_from_an_unrelated_sentence_is_not_an_answer(
    checker: CitationChecker,
) -> None:
    # "three" is in the passages, but in a sentence about arrests, not about the meeting.
    question = "On how many days did police leaders meet in Lyon?"
    assert not checker.run("Three [2].", PASSAGES, question).supported


def test_a_count_may_be_spelled_out_and_its_noun_qualified(checker: CitationChecker) -> None:
    text = "The Paris Call sets out nine fundamental cybersecurity principles."
    call = whole("call.txt", "The Paris Call", text)
    question = "How many core cybersecurity principles does the Paris Call set out?"
    answer = "The Paris Call sets out nine fundamental cybersecurity principles [1]."
    assert checker.run(answer, [call], question).supported
    assert not checker.run("The Paris Call sets out principles [1].", [call], question).supported


def test_a_when_question_needs_a_date(checker: CitationChecker) -> None:
    question = "When did the 8th Chiefs of Police Meeting take place?"
    assert checker.run("It took place on 3 and 4 September [1].", PASSAGES, question).supported
    assert not checker.run("It took place in Lyon [1].", PASSAGES, question).supported


def test_a_sentence_joining_two_passages_cites_both(checker: CitationChecker) -> None:
    ports = "Operation Neptune II checked ships in Mediterranean ports for foreign fighters."
    guns = "Operation Trigger II targeted illicit firearms in Latin America."
    found = [
        whole("ports.txt", "Ports", ports),
        whole("guns.txt", "Firearms", guns),
    ]
    question = "Name the operation at Mediterranean ports and the one targeting illicit firearms."
    checked = checker.run("Operation Neptune II and Operation Trigger II [1].", found, question)
    assert checked.answer == "Operation Neptune II and Operation Trigger II [1][2]."
    assert [c.quote for c in checked.citations] == [ports, guns]
    # A name neither passage gives is not made up by reading them together.
    invented = checker.run("Operation Neptune II and Operation Sandstorm [1].", found, question)
    assert not invented.supported


def test_two_passages_are_joined_only_for_a_question_about_two_things(
    checker: CitationChecker,
) -> None:
    # The counts of one meeting at the dates of another: each fact is in a passage, the
    # sentence is false.
    lyon = "More than 800 delegates from 179 countries attended the General Assembly."
    rome = "The regional conference ran for three days, from 16 to 18 May 2017."
    found = [
        whole("ga.txt", "General Assembly", lyon),
        whole("rc.txt", "Regional conference", rome),
    ]
    question = "How many delegates attended the General Assembly?"
    draft = "More than 800 delegates attended the three-day conference from 16 to 18 May 2017 [1]."
    assert not checker.run(draft, found, question).supported


LYON = whole(
    "lyon.txt",
    "Police chiefs meet in Lyon",
    "The 8th Chiefs of Police Meeting took place in Lyon. Delegates came from 17 countries.",
)
TUNIS = whole(
    "tunis.txt",
    "Regional dialogue",
    "The INTERPOL Dialogue met in Tunis. It focused on cybercrime.",
)


def test_an_answer_from_a_document_about_something_else_is_refused(
    checker: CitationChecker,
) -> None:
    # The Lyon article counts delegates, but the question is about the meeting in Tunis.
    question = "How many countries sent delegates to the INTERPOL Dialogue in Tunis?"
    checked = checker.run("Delegates came from 17 countries [1].", [LYON, TUNIS], question)
    assert not checked.supported
    assert checked.unsupported == ["Delegates came from 17 countries."]
    asked_of_lyon = "How many countries sent delegates to the Lyon meeting?"
    assert checker.run("Delegates came from 17 countries [1].", [LYON], asked_of_lyon).supported


def test_the_whole_cited_document_may_name_the_subject(embedder: Embedder) -> None:
    # The chunk that answers does not say "Lyon"; the document it comes from does.
    text = (
        "Police chiefs met in Lyon. "
        + "They talked for hours. " * 3
        + "Delegates came from 17 countries."
    )
    start = text.index("Delegates")
    chunk = Passage("lyon.txt#v#1", "lyon.txt", "Meeting", text[start:], start, len(text), 0.5)
    question = "How many countries sent delegates to the Lyon meeting?"
    answer = "Delegates came from 17 countries [1]."
    assert not CitationChecker(embedder).run(answer, [chunk], question).supported
    reading = CitationChecker(embedder, document_text=lambda passage: text)
    assert reading.run(answer, [chunk], question).supported


def test_names_in_a_translated_question_are_held_only_as_the_asker_wrote_them(
    checker: CitationChecker,
) -> None:
    # The model's translation spells a name its own way ("Lyons"): not held against the passage.
    translated = "How many countries sent delegates to the meeting in Lyons?"
    answer = "Delegates came from 17 countries [1]."
    assert not checker.run(answer, [LYON], translated).supported
    original = "كم عدد الدول التي أرسلت مندوبين إلى الاجتماع؟"
    assert checker.run(answer, [LYON], translated, original).supported


def test_a_how_much_question_needs_an_amount(checker: CitationChecker) -> None:
    text = "The attackers demanded a ransom in bitcoin. They asked for 300 dollars per computer."
    ransom = whole("ransom.txt", "Ransomware", text)
    question = "How much ransom did the attackers demand?"
    assert not checker.run("The attackers demanded a ransom [1].", [ransom], question).supported
    assert checker.run("They asked for 300 dollars per computer [1].", [ransom], question).supported


def test_a_place_is_not_a_date(checker: CitationChecker) -> None:
    # "Marrakesh" starts like "March" but is no date.
    text = "The meeting was held in Marrakesh. It took place in March 2019."
    meeting = whole("marrakesh.txt", "Meeting", text)
    question = "On what date was the meeting held?"
    assert not checker.run("The meeting was held in Marrakesh [1].", [meeting], question).supported
    assert checker.run("It took place in March 2019 [1].", [meeting], question).supported


def test_a_count_must_name_the_asked_thing_as_fully_as_the_passages_do(
    checker: CitationChecker,
) -> None:
    text = "INTERPOL has 196 member countries. Delegates from 179 countries attended the meeting."
    members = whole("members.txt", "INTERPOL", text)
    question = "How many member countries does INTERPOL have?"
    assert checker.run("INTERPOL has 196 member countries [1].", [members], question).supported
    wrong = checker.run("INTERPOL has 179 member countries [1].", [members], question)
    assert not wrong.supported
    # Nor where no passage counts member countries: the claim names its count more fully than
    # the passage it cites.
    delegates = whole("delegates.txt", "INTERPOL", text[text.index("Delegates") :])
    assert not checker.run(
        "INTERPOL has 179 member countries [1].", [delegates], question
    ).supported


def test_how_many_people_needs_a_number(checker: CitationChecker) -> None:
    # Any count answers "how many people" ("17 delegates"), but some count it must be.
    question = "How many people attended the 8th Chiefs of Police Meeting?"
    no_count = checker.run(
        "Police leaders took part in the meeting in Lyon [1].", PASSAGES, question
    )
    assert not no_count.supported
    text = "The 8th Chiefs of Police Meeting took place in Lyon. More than 800 delegates attended."
    meeting = whole("meeting.txt", "Chiefs of Police Meeting", text)
    assert checker.run("More than 800 delegates attended [1].", [meeting], question).supported


def test_how_many_people_needs_the_asked_event_beside_the_count(checker: CitationChecker) -> None:
    # "170 officials attending" is a count of people, but not of the people killed.
    text = (
        "More than 170 officials attending the conference will discuss the attacks in London. "
        "The attacks in London killed 32 people."
    )
    attacks = whole("attacks.txt", "Conference", text)
    question = "How many people were killed in the London attacks?"
    attending = checker.run(
        "More than 170 officials attending the conference will discuss the attacks in London [1].",
        [attacks],
        question,
    )
    assert not attending.supported
    assert checker.run("The attacks in London killed 32 people [1].", [attacks], question).supported


def test_a_day_or_a_year_is_not_a_count(checker: CitationChecker) -> None:
    text = "The conference runs from May 16 to 18, 2017 and will discuss the attacks in London."
    dates = whole("dates.txt", "Conference", text)
    question = "How many people were killed in the attacks discussed at the conference?"
    assert not checker.run(text + " [1]", [dates], question).supported


def test_a_who_question_needs_a_name_the_question_lacks(checker: CitationChecker) -> None:
    text = (
        "The French-led Paris Call was launched in November 2018. "
        "The Paris Call was launched by Emmanuel Macron."
    )
    call = whole("call.txt", "Paris Call", text)
    question = "Which French president launched the Paris Call?"
    in_november = checker.run(
        "The French-led Paris Call was launched in November 2018 [1].", [call], question
    )
    assert not in_november.supported  # a month names no one
    assert checker.run(
        "The Paris Call was launched by Emmanuel Macron [1].", [call], question
    ).supported


def test_a_country_or_an_acronym_names_no_one(checker: CitationChecker) -> None:
    text = (
        "Austrian police arrested a fugitive wanted by Croatia after a check against INTERPOL's "
        "databases. The fugitive, Marko Horvat, was handed over a week later."
    )
    arrest = whole("arrest.txt", "Arrest", text)
    question = "What is the name of the fugitive arrested by the Austrian police?"
    wanted = checker.run(
        "Austrian police arrested a fugitive wanted by Croatia after a check against INTERPOL's "
        "databases [1].",
        [arrest],
        question,
    )
    assert not wanted.supported
    named = checker.run("The fugitive was Marko Horvat [1].", [arrest], question)
    assert named.supported


def test_a_which_country_question_needs_a_country_it_does_not_name(
    checker: CitationChecker,
) -> None:
    text = (
        "Austria's Director General of Public Security spoke first. "
        "Austrian police arrested a fugitive wanted by Croatia."
    )
    arrest = whole("arrest.txt", "Arrest", text)
    question = "Which country wanted the fugitive arrested by the Austrian police?"
    # Austria is the country the question names, not its answer.
    speaker = checker.run(
        "Austria's Director General of Public Security spoke first [1].", [arrest], question
    )
    assert not speaker.supported
    wanted = "Austrian police arrested a fugitive wanted by Croatia [1]."
    assert checker.run(wanted, [arrest], question).supported
    six = whole("six.txt", "Operation", "The operation ran with six countries across ports.")
    restated = checker.run(
        "The operation ran with six countries across ports [1].",
        [six],
        "Which six countries took part in the operation?",
    )
    assert not restated.supported


def test_a_wrong_place_added_to_a_right_sentence_is_cut(checker: CitationChecker) -> None:
    conference = whole(
        "conference.txt",
        "European Regional Conference",
        "The European Regional Conference was held from May 16 to 18, 2017.",
    )
    morocco = whole("morocco.txt", "MENA meeting", "Police chiefs met in Morocco last year.")
    question = "When was the European Regional Conference held?"
    draft = "The conference was held in Morocco from May 16 to 18, 2017 [2]."
    checked = checker.run(draft, [conference, morocco], question)
    assert checked.answer == "The conference was held from May 16 to 18, 2017 [1]."
    assert checked.citations[0].doc_id == "conference.txt"
    assert checked.unsupported == ["in Morocco"]
    # Where the place is what is asked, it is the answer, not an extra to cut.
    where = checker.run(
        "The conference was held in Morocco [1].",
        [conference, morocco],
        "Where was the European Regional Conference held?",
    )
    assert not where.supported
