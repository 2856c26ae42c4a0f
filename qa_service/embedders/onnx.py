"""all-MiniLM-L6-v2 on onnxruntime: the vectors of sentence-transformers, without torch.

The ONNX file is exported once from the packaged safetensors into the cache folder, checked
against torch on the way, and exported again whenever the weights, the export recipe or the
file itself change. Running it needs neither torch nor sentence-transformers.
"""

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from qa_service.core.files import exclusive, sha256_file, write_atomically
from qa_service.core.offline import OfflineResourceError
from qa_service.embedders.base import Embedder, Vectors, minilm_model_path

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

# Bump when the export changes: a file made by an older recipe is then exported again.
EXPORT_RECIPE = 1
OPSET = 17
# How far the exported graph may be from torch before it is refused (measured: 3e-7).
EXPORT_TOLERANCE = 1e-5
# The files the graph is made from; the tokenizer and pooling settings are read at run time.
SOURCE_FILES = ("model.safetensors", "config.json")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts that check a fresh export against torch: padded, truncated and unicode rows.
_PROBES = (
    "Where is INTERPOL's headquarters?",
    "Le siège d'INTERPOL se trouve à Lyon, en France.",
    "يقع مقر الإنتربول في ليون",
    "word " * 300,
    "",
)

IntMatrix = NDArray[np.int64]


class OnnxExportError(OfflineResourceError):
    """The ONNX file could not be made from the packaged model, or differs from torch."""


@dataclass(frozen=True)
class ModelFolder:
    """What a sentence-transformers folder says about tokenising and pooling.

    Only folders that mean-pool and normalise are accepted: that is all ``OnnxEmbedder`` does,
    and its vectors must be the ones sentence-transformers gives.
    """

    path: Path
    max_seq_length: int
    dimension: int

    @classmethod
    def read(cls, path: Path) -> "ModelFolder":
        config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
        if kinds != ["Transformer", "Pooling", "Normalize"]:
            raise ValueError(f"{path}: expected Transformer, Pooling, Normalize; got {kinds}")
        pooling_file = path / modules[1]["path"] / "config.json"
        pooling = json.loads(pooling_file.read_text(encoding="utf-8"))
        modes = sorted(key for key, on in pooling.items() if key.startswith("pooling_mode") and on)
        if modes != ["pooling_mode_mean_tokens"] or config.get("do_lower_case"):
            raise ValueError(f"{path}: only plain mean pooling is supported, got {modes}")
        return cls(path, int(config["max_seq_length"]), int(pooling["word_embedding_dimension"]))

    def tokenizer(self) -> "Tokenizer":
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        # tokenizer.json says "truncate at 128, pad to 128"; sentence-transformers truncates at
        # max_seq_length (256 here) and pads each batch to its longest text.
        tokenizer.enable_truncation(self.max_seq_length)
        tokenizer.no_padding()
        return tokenizer


class OnnxEmbedder(Embedder):
    """A sentence-transformers folder run by onnxruntime, exported into ``cache_dir`` once
    (``tests/test_onnx_embedder.py`` shows it gives the torch model's vectors)."""

    def __init__(
        self,
        cache_dir: Path,
        model_path: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        self._folder = ModelFolder.read(model_path or minilm_model_path())
        # The torch embedder's name: the vectors are the same, so stores made by either fit both.
        self.name = self._folder.path.name if model_path else "all-MiniLM-L6-v2"
        self.dimension = self._folder.dimension
        self.onnx_path = cache_dir / "models" / f"{self.name}.onnx"
        self._batch_size = batch_size
        self.threads = threads or len(os.sched_getaffinity(0))

    @cached_property
    def _session(self) -> "onnxruntime.InferenceSession":
        # Made on first use: listing or deleting documents never needs the model.
        import onnxruntime

        ensure_exported(self._folder, self.onnx_path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: spinning kept a second core busy between
        # questions (which llama.cpp wants) and lost when the machine was loaded, for 1 ms a
        # query and 3% on passages when it was idle.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Every level gave the same vectors (2.4e-7 to 2.7e-7 from torch).
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        return onnxruntime.InferenceSession(
            str(self.onnx_path), options, providers=["CPUExecutionProvider"]
        )

    @cached_property
    def _tokenizer(self) -> "Tokenizer":
        return self._folder.tokenizer()

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        encodings = self._tokenizer.encode_batch(list(texts))
        # Longest first, as sentence-transformers does, so that each batch pads little.
        order = np.argsort([-len(encoding.ids) for encoding in encodings], kind="stable")
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            feed = _feed(*pad([encodings[row] for row in rows]))
            tokens = self._session.run(None, feed)[0]
            vectors[rows] = mean_pool(tokens, feed["attention_mask"])
        return vectors


def pad(encodings: Sequence["Encoding"]) -> tuple[IntMatrix, IntMatrix]:
    """Token ids and attention mask, right-padded with zeros to the longest encoding."""
    width = max(len(encoding.ids) for encoding in encodings)
    input_ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        input_ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return input_ids, mask


def mean_pool(tokens: Vectors, mask: IntMatrix) -> Vectors:
    """Mean of the unmasked token vectors, L2-normalised (with sentence-transformers' eps)."""
    weights = mask[:, :, None].astype(np.float32)
    means = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return np.asarray(means / np.maximum(norms, 1e-12), dtype=np.float32)


def ensure_exported(folder: ModelFolder, target: Path) -> Path:
    """``target`` exported from ``folder``, made only if no current, intact copy exists."""
    if is_current(folder.path, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(target.with_name(target.name + ".lock")):
        # Another process may have finished exporting while we waited for the lock.
        if not is_current(folder.path, target):
            _export(folder, target)
    return target


def is_current(source: Path, target: Path) -> bool:
    """Whether ``target`` was exported by this recipe from ``source`` as it is, and is intact.

    Files whose size and mtime are those the manifest recorded are trusted; others are hashed.
    """
    manifest_path = _manifest(target)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest["recipe"] != EXPORT_RECIPE:
            return False
        stamps = {name: _stamp(source / name) for name in SOURCE_FILES}
        stat = target.stat()
    except (OSError, ValueError, KeyError):
        return False
    source_moved = stamps != manifest["source_stamps"]
    target_moved = stat.st_mtime_ns != manifest["mtime_ns"]
    if source_moved and _source_sha256(source) != manifest["source"]:
        return False
    if stat.st_size != manifest["size"]:
        return False
    if target_moved and sha256_file(target) != manifest["sha256"]:
        return False
    if source_moved or target_moved:
        # The same content, touched or reinstalled: the next check needs no hashing.
        manifest.update(source_stamps=stamps, mtime_ns=stat.st_mtime_ns)
        write_atomically(manifest_path, json.dumps(manifest, indent=2).encode())
    return True


def _export(folder: ModelFolder, target: Path) -> None:
    try:
        import onnx  # noqa: F401 - torch's exporter needs it; failing here names it
        import onnxruntime
        import torch
        from transformers import AutoModel
    except ImportError as error:
        raise OnnxExportError(
            f"exporting {folder.path.name} to ONNX needs the {error.name} package,"
            " which is pinned in pyproject.toml: reinstall the project (make install)"
        ) from None
    # Eager attention traces to plain MatMul/Softmax; torch's SDPA path leaves NaN guards and
    # shape arithmetic in the graph that made it ~15% slower, for the same vectors.
    bert = AutoModel.from_pretrained(
        str(folder.path), local_files_only=True, attn_implementation="eager"
    )

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, *inputs: Any) -> Any:
            return self.bert(**dict(zip(_INPUTS, inputs, strict=True))).last_hidden_state

    model = TokenEmbeddings().eval()  # the exporter leaves it in the mode it found it
    encodings = folder.tokenizer().encode_batch(list(_PROBES))
    # Traced on all probes; checked on those and on a smaller batch padded to another width,
    # which would fail if the tracer had frozen a shape into the graph.
    probes = [_feed(*pad(encodings)), _feed(*pad([encodings[i] for i in (2, 0, 1)]))]
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
    ) as out:
        temp = Path(out.name)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer warns of branches fixed at trace time; none of them depends on the input.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                tuple(torch.from_numpy(array) for array in probes[0].values()),
                str(temp),
                dynamo=False,
                input_names=list(_INPUTS),
                output_names=["token_embeddings"],
                dynamic_axes={
                    name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "token_embeddings")
                },
                opset_version=OPSET,
            )
            session = onnxruntime.InferenceSession(str(temp), providers=["CPUExecutionProvider"])
            difference = 0.0
            for feed in probes:
                want = model(*(torch.from_numpy(array) for array in feed.values())).numpy()
                got = session.run(None, feed)[0]
                pooled = [mean_pool(tokens, feed["attention_mask"]) for tokens in (want, got)]
                difference = max(difference, float(np.abs(pooled[0] - pooled[1]).max()))
        if difference > EXPORT_TOLERANCE:
            raise OnnxExportError(
                f"the ONNX export of {folder.path.name} differs from torch by {difference:.2g}"
                f" (at most {EXPORT_TOLERANCE} allowed); {target} was not written"
            )
        with temp.open("rb") as written:
            os.fsync(written.fileno())
        # NamedTemporaryFile makes it 0600; the service may run as another user than the build.
        temp.chmod(0o644)
        _manifest(target).unlink(missing_ok=True)
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    stat = target.stat()
    manifest = {
        "recipe": EXPORT_RECIPE,
        "source": _source_sha256(folder.path),
        "source_stamps": {name: _stamp(folder.path / name) for name in SOURCE_FILES},
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": sha256_file(target),
        "max_difference_to_torch": difference,
    }
    write_atomically(_manifest(target), json.dumps(manifest, indent=2).encode())


def _feed(input_ids: IntMatrix, mask: IntMatrix) -> dict[str, IntMatrix]:
    return dict(zip(_INPUTS, (input_ids, mask, np.zeros_like(input_ids)), strict=True))


def _manifest(target: Path) -> Path:
    return target.with_name(target.name + ".json")


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _source_sha256(source: Path) -> str:
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        digest.update(f"{name}\0".encode())
        digest.update(bytes.fromhex(sha256_file(source / name)))
    return digest.hexdigest()
