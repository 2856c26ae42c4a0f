"""The onnxruntime embedder against sentence-transformers, with the real model and a real export."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa_service.core.config import Settings
from qa_service.embedders.base import Embedder, minilm_model_path
from qa_service.embedders.factory import build_embedder
from qa_service.embedders.onnx import ModelFolder, OnnxEmbedder, is_current
from qa_service.embedders.sentence_transformer import SentenceTransformerEmbedder
from tests.conftest import INTERPOL_NEWS

QUERIES = [
    "Where is INTERPOL's headquarters?",
    "red notice",
    "x",
    "",
    "   ",
    "Où se trouve le siège d'INTERPOL ?",
    "Qu'est-ce qu'une notice rouge ? Élément clé, coopération policière, 195 pays.",
    "أين يقع مقر الإنتربول؟",
    "Ünïcödé ✓ 😀 — «quotes» and ﬁ ligatures\ttabs\nnewlines",
    "東京で会議が開かれた。",
]


def long_passages() -> list[str]:
    """Documents far beyond MiniLM's 256 word pieces, whose text after 128 pieces differs."""
    documents = sorted(INTERPOL_NEWS.glob("*.txt"))[:4]
    texts = [path.read_text(encoding="utf-8") for path in documents]
    french = "La coopération policière internationale repose sur des échanges rapides. " * 40
    return [*texts, french, "word " * 600, texts[0][:300] + " tail " * 300]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export for the whole session; tests that damage it work on a copy."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    OnnxEmbedder(cache).embed(["export it once"])
    return cache


@pytest.fixture(scope="session")
def onnx(onnx_cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(onnx_cache)


def copy_cache(onnx_cache: Path, tmp_path: Path) -> Path:
    # copy2 keeps the mtimes, so the copy is as trusted as the original.
    shutil.copytree(onnx_cache, tmp_path / "cache", copy_function=shutil.copy2)
    return tmp_path / "cache"


def assert_same_vectors(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert got.dtype == np.float32
    assert float(np.abs(got - want).max()) <= 1e-5
    assert float((got * want).sum(axis=1).min()) >= 0.99999


def test_vectors_are_those_of_sentence_transformers(onnx: OnnxEmbedder, embedder: Embedder) -> None:
    texts = QUERIES + long_passages()
    vectors = onnx.embed(texts)
    assert_same_vectors(vectors, embedder.embed(texts))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert (onnx.name, onnx.dimension) == (embedder.name, embedder.dimension)


def test_truncation_follows_sentence_bert_config_not_tokenizer_json() -> None:
    folder = ModelFolder.read(minilm_model_path())
    assert folder.max_seq_length == 256  # tokenizer.json itself says 128
    encodings = folder.tokenizer().encode_batch(["short", "word " * 600])
    assert [len(encoding.ids) for encoding in encodings] == [3, 256]


def test_an_empty_batch_gives_an_empty_matrix(onnx: OnnxEmbedder) -> None:
    vectors = onnx.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32
    assert onnx.embed_documents([]) == []


def test_order_is_kept_across_batches_of_mixed_lengths(onnx_cache: Path) -> None:
    small_batches = OnnxEmbedder(onnx_cache, batch_size=3)
    texts = [text for pair in zip(QUERIES, long_passages(), strict=False) for text in pair]
    together = small_batches.embed(texts)
    one_by_one = np.vstack([small_batches.embed([text]) for text in texts])
    assert_same_vectors(together, one_by_one)
    assert small_batches.embed_query(texts[1]) == pytest.approx(together[1].tolist(), abs=1e-5)


def test_the_export_is_reused_not_redone(onnx_cache: Path, onnx: OnnxEmbedder) -> None:
    before = onnx.onnx_path.stat()
    OnnxEmbedder(onnx_cache).embed(["again"])
    after = onnx.onnx_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    manifest = json.loads(onnx.onnx_path.with_name(onnx.onnx_path.name + ".json").read_text())
    assert manifest["max_difference_to_torch"] <= 1e-5


def test_a_touched_file_is_rehashed_and_kept(onnx_cache: Path, tmp_path: Path) -> None:
    cache = copy_cache(onnx_cache, tmp_path)
    embedder = OnnxEmbedder(cache)
    os.utime(embedder.onnx_path, ns=(1_000_000_000, 1_000_000_000))
    inode = embedder.onnx_path.stat().st_ino
    embedder.embed(["still the same file"])
    assert embedder.onnx_path.stat().st_ino == inode


def damage(target: Path, how: str) -> None:
    size = target.stat().st_size
    with target.open("r+b") as file:
        if how == "truncated":
            file.truncate(size // 2)
        else:
            file.seek(size // 2)
            file.write(b"\0" * 4096)


@pytest.mark.parametrize("how", ["truncated", "same size, other bytes"])
def test_a_damaged_file_is_no_longer_current(onnx_cache: Path, tmp_path: Path, how: str) -> None:
    target = OnnxEmbedder(copy_cache(onnx_cache, tmp_path)).onnx_path
    assert is_current(minilm_model_path(), target)
    damage(target, how)
    assert not is_current(minilm_model_path(), target)


def test_a_damaged_file_is_exported_again(
    onnx_cache: Path, tmp_path: Path, embedder: Embedder
) -> None:
    cache = copy_cache(onnx_cache, tmp_path)
    target = OnnxEmbedder(cache).onnx_path
    size = target.stat().st_size
    damage(target, "truncated")
    assert_same_vectors(OnnxEmbedder(cache).embed(QUERIES), embedder.embed(QUERIES))
    assert target.stat().st_size == size
    assert is_current(minilm_model_path(), target)


def test_changed_weights_make_the_export_stale(onnx_cache: Path, tmp_path: Path) -> None:
    # A model folder like the packaged one, but for a config.json with other content.
    source = minilm_model_path()
    folder = tmp_path / "all-MiniLM-L6-v2"
    shutil.copytree(source, folder, copy_function=os.symlink)
    (folder / "config.json").unlink()
    config = json.loads((source / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "note": "changed"}))
    target = OnnxEmbedder(onnx_cache).onnx_path
    assert not is_current(folder, target)
    assert is_current(source, target)


def test_a_folder_that_does_not_mean_pool_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cls-model"
    shutil.copytree(minilm_model_path(), folder, copy_function=os.symlink)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.unlink()
    pooling.write_text(
        json.dumps({**config, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    with pytest.raises(ValueError, match="only plain mean pooling"):
        OnnxEmbedder(tmp_path / "cache", model_path=folder)


def test_the_setting_chooses_the_embedder(tmp_path: Path) -> None:
    assert isinstance(build_embedder(Settings(data_dir=tmp_path, embedder="onnx")), OnnxEmbedder)
    torch = build_embedder(Settings(data_dir=tmp_path, embedder="torch"))
    assert isinstance(torch, SentenceTransformerEmbedder)
