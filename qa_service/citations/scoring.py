"""How well a text gives what a claim or a question asks for: one scoring for the citation
checker (a span against a sentence) and the extractive composer (a sentence against a question).

``support = lexical_weight * lexical + (1 - lexical_weight) * semantic``: the lexical part is
explainable (which words were found), the semantic part (a cosine) catches paraphrase.
"""

from collections.abc import Set


def share_found(wanted: Set[str], found: Set[str], *, if_nothing_wanted: float = 0.0) -> float:
    """The share of ``wanted`` that ``found`` holds."""
    return len(wanted & found) / len(wanted) if wanted else if_nothing_wanted


def support_score(lexical: float, semantic: float, lexical_weight: float) -> float:
    return lexical_weight * lexical + (1 - lexical_weight) * semantic
