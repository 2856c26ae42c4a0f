"""What is asked: the question, the conversation before it, and how far to look."""

from dataclasses import dataclass
from typing import Literal

from qa_service.core.schema import Filters


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long, malformed history)."""


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Question:
    text: str
    history: tuple[Turn, ...] = ()
    filters: Filters | None = None
    top_k: int | None = None


def question_text(question: Question, max_chars: int) -> str:
    """The question's text, tidied; ``QuestionError`` when it cannot be asked."""
    text = " ".join(question.text.split())
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is too long ({len(text)} characters, at most {max_chars})"
        )
    return text
