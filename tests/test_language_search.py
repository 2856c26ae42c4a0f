"""A French or Arabic question is searched in English: its translation, with the names and
numbers of the question as asked that the translation lost; the draft answers the
translation (``AnswerService.search_query``). No model: a scripted one translates."""

from collections.abc import Iterator, Sequence

from langchain_core.messages import BaseMessage

from qa_service.answering.question import Question
from qa_service.answering.service import AnswerService
from qa_service.citations.checker import CitationChecker
from qa_service.core.schema import Filters, Passage
from qa_service.embedders.base import Embedder
from qa_service.generation.prompts import Prompts

TEXT = "Operation Trigger II ran in 2017."
PASSAGE = Passage("d.txt#v#0", "d.txt", "D", TEXT, 0, len(TEXT), 0.9, dense_score=0.9)


class Translator:
    """Replies with ``reply`` to every prompt, and keeps the prompts."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def run(self, messages: Sequence[BaseMessage]) -> str:
        self.prompts.append(messages[-1].text)
        return self.reply

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]:
        yield self.run(messages)

    def warm_up(self) -> None:
        pass


class Searches:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def run(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        self.queries.append(query)
        return [PASSAGE]


class Declines:
    """A composer that finds no answer, and keeps the question it was given."""

    name = "declines"

    def __init__(self) -> None:
        self.questions: list[str] = []

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        self.questions.append(question)
        yield "The documents don't say."

    def warm_up(self) -> None:
        pass


def service(embedder: Embedder, translation: str) -> tuple[AnswerService, Translator]:
    translator = Translator(translation)
    answerer = AnswerService(
        Searches(), Declines(), CitationChecker(embedder), Prompts(), assistant=translator
    )
    return answerer, translator


def test_the_search_adds_what_the_translation_lost(embedder: Embedder) -> None:
    answerer, translator = service(embedder, "How many officers took part in Operation Thriller?")
    search = answerer.search_query("كم عدد الضباط الذين شاركوا في عملية Trigger II عام ٢٠١٧؟")
    assert search.language == "ar"
    assert search.english == "How many officers took part in Operation Thriller?"
    assert search.text == "How many officers took part in Operation Thriller? Trigger II 2017"
    assert translator.prompts[0].startswith("Translate this Arabic question into English.")


def test_only_the_first_line_of_a_reply_is_the_translation(embedder: Embedder) -> None:
    answerer, _ = service(embedder, "Who leads the Dialogue?\nThe Dialogue is led by ...")
    search = answerer.search_query("Qui dirige le Dialogue ?")
    assert search.english == search.text == "Who leads the Dialogue?"


def test_an_english_question_is_searched_as_asked(embedder: Embedder) -> None:
    answerer, translator = service(embedder, "unused")
    search = answerer.search_query("Who leads the Dialogue?")
    assert search.english == search.text == "Who leads the Dialogue?"
    assert translator.prompts == []


def test_the_draft_answers_the_translation_and_the_search_has_the_names(
    embedder: Embedder,
) -> None:
    searches, declines = Searches(), Declines()
    translator = Translator("Where was the meeting held?")
    answerer = AnswerService(
        searches, declines, CitationChecker(embedder), Prompts(), assistant=translator
    )
    answer = answerer.run(Question("Où s'est tenu le Dialogue d'INTERPOL ?"))
    assert searches.queries == ["Where was the meeting held? Dialogue INTERPOL"]
    assert declines.questions == ["Where was the meeting held?"]
    assert answer.refused and answer.answer == "Les documents ne le disent pas."
