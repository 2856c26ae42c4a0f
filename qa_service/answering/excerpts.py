"""Evidence first: the passage sentences most likely to answer, ranked, and the excerpts of the
passages a language model is shown.

A 1.5B model on two cores reads a prompt at ~120-150 tokens a second, so five whole passages
(~1,000 tokens) cost seconds before the first word; and the less it is shown, the less it can
confuse. ``Excerpter`` keeps, within a token budget, the sentences that score best against the
question (as the citation checker scores support), each with its neighbours for context.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from qa_service.citations.scoring import share_found, support_score
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder
from qa_service.text.sentences import Sentence, content_terms, split_sentences
from qa_service.text.tokens import count_tokens

# Between two sentences of a passage that are not next to each other in it.
GAP = " … "


@dataclass(frozen=True)
class RankedSentence:
    score: float
    passage: int  # index into the passages
    index: int  # the sentence's place in its passage
    sentence: Sentence


def passage_sentences(passages: Sequence[Passage]) -> list[list[Sentence]]:
    return [split_sentences(passage.text) for passage in passages]


def rank_sentences(
    question: str,
    by_passage: Sequence[Sequence[Sentence]],
    embedder: Embedder,
    lexical_weight: float = 0.5,
) -> list[RankedSentence]:
    """Every sentence of the passages (``by_passage``: each passage's sentences), best first:
    the share of the question's content words it holds blended with its embedding similarity
    to the question (``citations.scoring``)."""
    sentences = [
        (p, i, sentence)
        for p, in_passage in enumerate(by_passage)
        for i, sentence in enumerate(in_passage)
    ]
    if not sentences:
        return []
    vectors = embedder.embed([question] + [sentence.text for _, _, sentence in sentences])
    similarity = vectors[1:] @ vectors[0]
    terms = content_terms(question)
    ranked = [
        RankedSentence(
            support_score(
                share_found(terms, content_terms(sentence.text)), float(semantic), lexical_weight
            ),
            p,
            i,
            sentence,
        )
        for (p, i, sentence), semantic in zip(sentences, similarity, strict=True)
    ]
    # Ties keep the retrieval order: the better passage, the earlier sentence.
    ranked.sort(key=lambda item: (-item.score, item.passage, item.index))
    return ranked


@dataclass(frozen=True)
class Excerpts:
    """The passages as the model is shown them, in retrieval order and as many as were
    retrieved (``[n]`` markers keep their meaning): each cut to its chosen sentences, and
    empty where none was chosen. ``tokens``: the passage text shown, in tiktoken tokens."""

    passages: list[Passage]
    tokens: int


class Excerpter:
    """Cuts passages down to the sentences that best answer the question, within a budget.

    Sentences are taken best first, each with ``context`` sentences on either side (a name or a
    date is often in the sentence before), until ``budget_tokens`` of passage text is shown; the
    best sentence is always shown, even alone over the budget.
    """

    def __init__(
        self,
        embedder: Embedder,
        budget_tokens: int = 400,
        context: int = 1,
        lexical_weight: float = 0.5,
    ) -> None:
        if budget_tokens < 1 or context < 0:
            raise ValueError("budget_tokens must be at least 1 and context at least 0")
        self.embedder = embedder
        self.budget_tokens = budget_tokens
        self.context = context
        self.lexical_weight = lexical_weight

    def run(self, question: str, passages: Sequence[Passage]) -> Excerpts:
        sentences = passage_sentences(passages)
        ranked = rank_sentences(question, sentences, self.embedder, self.lexical_weight)
        chosen: list[set[int]] = [set() for _ in passages]
        used = 0
        for item in ranked:
            if used >= self.budget_tokens:
                break
            in_passage = sentences[item.passage]
            window = range(
                max(0, item.index - self.context),
                min(len(in_passage), item.index + self.context + 1),
            )
            # With its neighbours if they fit, else alone; the best sentence even over budget.
            alone_anyway = [[item.index]] if used == 0 else []
            for candidate in (list(window), [item.index], *alone_anyway):
                new = [i for i in candidate if i not in chosen[item.passage]]
                cost = sum(count_tokens(in_passage[i].text) for i in new)
                if used + cost <= self.budget_tokens or candidate in alone_anyway:
                    chosen[item.passage].update(new)
                    used += cost
                    break

        shown = [
            replace(passage, text=_joined(in_passage, chosen_here))
            for passage, in_passage, chosen_here in zip(passages, sentences, chosen, strict=True)
        ]
        return Excerpts(shown, used)


def _joined(sentences: Sequence[Sentence], chosen: set[int]) -> str:
    """The chosen sentences in their order, ``GAP`` where the passage skips some."""
    parts: list[str] = []
    previous: int | None = None
    for index in sorted(chosen):
        if previous is not None:
            parts.append(" " if index == previous + 1 else GAP)
        parts.append(sentences[index].text)
        previous = index
    return "".join(parts)
