"""Candidate evaluation cases from feedback on answers (``qa feedback export``): a ``qa.jsonl``
line for each (``eval.dataset``'s format), for a person to correct and add to a dataset.

What a rating says is kept as far as it goes. An answer rated up was right as given: its text
(without the ``[n]`` markers) is an acceptable answer and the documents it cites hold it; a
refusal rated up was right to refuse. An answer rated down says only that it was wrong: the case
is answerable, with its answers and sources left for the person to write (a refusal rated down
says the documents do answer). Beside the case, ``feedback`` holds what the person needs to do
that: the comment, the answer given, the quotes it cited and the documents it was shown. The
dataset loader reads only the case's fields, so the file loads as it is.
"""

import re
from dataclasses import asdict
from typing import Any

from qa_service.answering.feedback import Feedback

_MARKER = re.compile(r"\s*\[\d+\]")


def plain(answer: str) -> str:
    """An answer without its citation markers.

    >>> plain("It met in Lyon [1] and Rabat [2].")
    'It met in Lyon and Rabat.'
    """
    return _MARKER.sub("", answer)


def candidate_case(feedback: Feedback) -> dict[str, Any]:
    """The ``qa.jsonl`` line ``feedback`` suggests, with its ``feedback`` beside it."""
    record = feedback.record
    question = record.question if record is not None else feedback.question
    answer = record.answer if record is not None else feedback.answer
    refused = record.refused if record is not None else False
    citations = list(record.citations) if record is not None else []
    right = feedback.rating == "up"
    answers = [plain(answer)] if right and not refused else []
    sources = list(dict.fromkeys(citation.doc_id for citation in citations)) if answers else []
    return {
        "id": f"feedback-{feedback.id}",
        "question": question,
        "answers": answers,
        "sources": sources,
        "answerable": not (right and refused),
        "feedback": {
            "rating": feedback.rating,
            "comment": feedback.comment,
            "given_answer": answer,
            "refused": refused,
            "refusal_reason": record.refusal_reason if record is not None else None,
            "standalone_question": record.standalone_question if record is not None else None,
            "quotes": [
                {key: asdict(citation)[key] for key in ("n", "doc_id", "title", "quote")}
                for citation in citations
            ],
            "documents_shown": record.documents_shown if record is not None else [],
            "answer_id": feedback.answer_id,
            "at": feedback.at.isoformat(),
        },
    }
