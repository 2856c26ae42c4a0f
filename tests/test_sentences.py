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


def test_a_line_break_inside_running_text_does_not_end_a_sentence() -> None:
    # Hand-wrapped Markdown, as the project's own docs are written; pysbd alone ends a sentence
    # at every line break, so the second sentence came out as three pieces.
    text = (
        "Each replica compares the change mark with its\n"
        "own index every two seconds. So a document ingested on one machine is found by\n"
        "every replica's dense search at once and by its keyword search\n"
        "within a few seconds.\n"
    )
    sentences = split_sentences(text)
    assert [" ".join(s.text.split()) for s in sentences] == [
        "Each replica compares the change mark with its own index every two seconds.",
        "So a document ingested on one machine is found by every replica's dense search at once"
        " and by its keyword search within a few seconds.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_list_items_headings_and_table_rows_stay_apart() -> None:
    text = (
        "## Limits\n"
        "Options:\n"
        "- `--sample N` runs N questions of each kind\n"
        "- `--limit N` runs the first N\n"
        "1. first step\n"
        "| setting | default |\n"
        "| QA_TOP_K | 5 |\n"
        "> a quoted line"
    )
    texts = [s.text for s in split_sentences(text)]
    assert texts == [
        "## Limits",
        "Options:",
        "- `--sample N` runs N questions of each kind",
        "- `--limit N` runs the first N",
        "1. first step",
        "| setting | default |",
        "| QA_TOP_K | 5 |",
        "> a quoted line",
    ]
