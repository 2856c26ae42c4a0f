"""What spaCy's small English pipeline reads in a text (``qa_service.text.analysis``)."""

from qa_service.text.analysis import analyse, how_many


def test_a_number_counts_the_noun_it_modifies_with_its_compounds() -> None:
    found = analyse("Police seized 320 firearms and INTERPOL has 196 member countries.")
    counts = {count.number: count for count in found.counts}
    assert counts["320"].noun == "firearm" and counts["320"].verb == "seize"
    assert counts["196"].naming == {"member", "country"}


def test_dates_are_not_counts_and_a_number_phrase_is_one_count() -> None:
    found = analyse("On 16 May 2023 it cost 2 million euros; 1,200 officers took part.")
    assert [count.number for count in found.counts] == ["2 million", "1200"]
    assert [entity.label for entity in found.labelled(["DATE"])] == ["DATE"]


def test_the_event_of_a_count_is_its_own_verb_not_a_neighbouring_clause() -> None:
    found = analyse("The attack killed 12 people; 170 officials attending the summit condemned it.")
    killed, attending = found.counts
    assert "kill" in killed.event and "kill" not in attending.event


def test_names_are_capitalised_proper_names_not_opening_words_or_dates() -> None:
    english = analyse("Abdellatif Hammouchi chaired it in May. Delegates met in Lyon.")
    assert english.name_words == {"abdellatif", "hammouchi", "lyon"}
    # The opening word of a question in another language is no name; a lower-case question
    # names nothing for certain.
    french = analyse("Quelle tendance a été identifiée lors du Dialogue de Tunis ?")
    assert french.name_words == {"dialogue", "tunis"}
    assert analyse("who won the world cup in france").name_words == set()


def test_within_keeps_what_lies_inside_a_span() -> None:
    text = "Morocco sent 12 officers. Jürgen Stock spoke."
    second = analyse(text).within(text.index("Jürgen"), len(text))
    assert second.counts == () and second.name_words == {"jürgen", "stock"}


def test_how_many_finds_what_is_counted_and_the_event() -> None:
    asked = how_many("How many people were killed in the London attacks?")
    assert asked is not None and asked.noun == "people" and asked.verb == "kill"
    assert how_many("How much did it cost?") is None
    assert how_many("Where did they meet?") is None
