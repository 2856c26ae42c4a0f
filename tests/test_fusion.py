"""The joiners of the hybrid retriever, on scores given by hand: no store, no model."""

import pytest

from qa_service.core.schema import Passage
from qa_service.retrieval.fusion import ReciprocalRankFusion, ZScoreFusion, build_fusion


def candidate(name: str, dense: float, keyword: float) -> Passage:
    return Passage(
        f"{name}#v#0", name, None, name, 0, 1, 0.0, dense_score=dense, keyword_score=keyword
    )


# "a" is the embedding's favourite, "c" BM25's; "b" is second in both.
POOL = [candidate("a", 0.9, 1.0), candidate("b", 0.7, 6.0), candidate("c", 0.2, 9.0)]


def order(passages: list[Passage]) -> list[str]:
    return [p.doc_id for p in sorted(passages, key=lambda passage: -passage.score)]


def test_zscore_weight_picks_between_the_two_searches() -> None:
    assert order(ZScoreFusion(weight=1.0).run(POOL)) == ["a", "b", "c"]
    assert order(ZScoreFusion(weight=0.0).run(POOL)) == ["c", "b", "a"]
    # Standardised, neither scale dominates: BM25's large numbers do not outvote the cosine.
    balanced = ZScoreFusion(weight=0.5).run(POOL)
    assert [p.doc_id for p in balanced] == ["a", "b", "c"], "the pool keeps its order"
    assert sum(p.score for p in balanced) == pytest.approx(0.0)


def test_rrf_adds_the_reciprocal_ranks_of_both_searches() -> None:
    # Dense ranks a, b, c; BM25 ranks b, c, a: b is near the top of both.
    pool = [candidate("a", 0.9, 1.0), candidate("b", 0.7, 9.0), candidate("c", 0.2, 6.0)]
    fused = ReciprocalRankFusion(k=60).run(pool)
    scores = {p.doc_id: p.score for p in fused}
    assert scores == {
        "a": pytest.approx(1 / 61 + 1 / 63),
        "b": pytest.approx(1 / 62 + 1 / 61),
        "c": pytest.approx(1 / 63 + 1 / 62),
    }
    assert order(fused) == ["b", "a", "c"]


def test_rrf_gives_nothing_for_a_search_that_did_not_find_the_passage() -> None:
    unfound = [candidate("a", 0.9, 0.0), candidate("b", 0.5, 3.0)]
    scores = {p.doc_id: p.score for p in ReciprocalRankFusion(k=60).run(unfound)}
    assert scores == {"a": pytest.approx(1 / 61), "b": pytest.approx(1 / 62 + 1 / 61)}


def test_the_evidence_is_kept_beside_the_fused_score() -> None:
    for fused in ZScoreFusion().run(POOL):
        original = next(p for p in POOL if p.doc_id == fused.doc_id)
        assert (fused.dense_score, fused.keyword_score) == (
            original.dense_score,
            original.keyword_score,
        )


def test_settings_name_the_fusion() -> None:
    assert isinstance(build_fusion("rrf"), ReciprocalRankFusion)
    zscore = build_fusion("zscore", weight=0.3)
    assert isinstance(zscore, ZScoreFusion) and zscore.weight == 0.3
    assert ZScoreFusion().run([]) == [] and ReciprocalRankFusion().run([]) == []
