"""Country names: what "which country" asks for."""

from qa_service.text.places import countries


def test_countries_are_found_whole_and_with_a_capital() -> None:
    text = "Lebanon, Qatar and the United Arab Emirates signed; South Sudan did not; a chad did."
    assert countries(text) == {"Lebanon", "Qatar", "United Arab Emirates", "South Sudan"}
