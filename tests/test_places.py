"""Country names: what "which country" asks for, and names that are no one's."""

from qa_service.text.places import countries, is_place, unasked


def test_countries_are_found_whole_and_with_a_capital() -> None:
    text = "Lebanon, Qatar and the United Arab Emirates signed; South Sudan did not; a chad did."
    assert countries(text) == {"lebanon", "qatar", "united arab emirates", "south sudan"}


def test_a_country_and_its_adjective_are_places_a_surname_is_not() -> None:
    assert all(is_place(word) for word in ("croatia", "moroccan", "austrian", "italian"))
    assert not any(is_place(word) for word in ("stock", "dkhissi", "martin", "solomon"))


def test_a_country_the_question_names_in_any_form_is_not_new() -> None:
    asked = {"which", "country", "wanted", "the", "austrian", "police", "arrest"}
    assert unasked({"austria", "croatia"}, asked) == {"croatia"}
