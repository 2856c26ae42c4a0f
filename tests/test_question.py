"""What every answerer checks of a question before any work, and how it times the work."""

import pytest

from qa_service.answering.question import Question, QuestionError, question_text
from qa_service.answering.timing import Stopwatch


def test_a_question_is_tidied_to_one_line() -> None:
    assert question_text(Question("  Who chaired\n the\tdelegation? "), 100) == (
        "Who chaired the delegation?"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), (" \n\t ", "empty"), ("x" * 101, r"too long \(101 characters, at most 100\)")],
)
def test_a_question_that_cannot_be_asked_says_why(text: str, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        question_text(Question(text), 100)


def test_a_stopwatch_times_each_step_and_the_whole() -> None:
    clock = Stopwatch()
    clock.lap("retrieve")
    clock.lap("generate")
    clock.since_start("total")
    timings = clock.timings
    assert list(timings) == ["retrieve", "generate", "total"]
    assert all(value >= 0 for value in timings.values())
    assert timings["total"] >= timings["retrieve"] + timings["generate"] - 0.2
