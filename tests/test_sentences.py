"""Sentence splitting with exact offsets."""

from qa_service.text.sentences import split_sentences


def test_a_title_line_is_a_sentence_of_its_own() -> None:
    # pysbd alone glues a heading without a full stop to the sentence after it.
    text = "Ex on the Beach\n\nEx on the Beach is a reality series. It is broadcast on MTV.\n"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Ex on the Beach",
        "Ex on the Beach is a reality series.",
        "It is broadcast on MTV.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences("\n \n\n") == []
