"""The ``local`` backend: a GGUF model run in this process by llama.cpp."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from llama_cpp import Llama
from pydantic import Field, field_validator

from qa_service.generation.base import ChatModelGenerator, GenerationError

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


@dataclass
class _Loaded:
    llama: Llama
    # A llama.cpp context holds one KV cache: concurrent calls would corrupt each other.
    lock: threading.Lock = field(default_factory=threading.Lock)


# One copy of each model per process (Qwen 1.5B is 2 GB resident), shared by every chat
# model that asks for the same file and context settings.
_loaded: dict[tuple[str, int, int, int, int], _Loaded] = {}
_loading = threading.Lock()


class LlamaCppChatModel(BaseChatModel):
    """A chat model over ``llama_cpp.Llama.create_chat_completion``, loaded on first use.

    Written instead of langchain-community's ``ChatLlamaCpp``, which loads the model in its
    constructor (another 2 GB copy for each instance), has no lock, and would bring in
    langchain-community with SQLAlchemy and langchain-classic for this one class.
    """

    model_path: Path
    n_ctx: int = Field(default=4096, ge=4096)
    n_batch: int = Field(default=512, ge=1)
    n_threads: int = Field(default=2, ge=1)
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    # Not 1.1 (llama.cpp's server, langchain's wrappers): a penalty pushes the model away
    # from the passage's own words, which a grounded answer has to repeat.
    repeat_penalty: float = 1.0
    seed: int = 0

    @field_validator("model_path")
    @classmethod
    def _exists(cls, path: Path) -> Path:
        if not path.is_file():
            raise ValueError(f"model file {path} does not exist")
        return path

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": str(self.model_path), **self._sampling()}

    def load(self) -> Llama:
        """The model, loading it now if this process has not yet: call it to warm up."""
        return self._model().llama

    def _model(self) -> _Loaded:
        key = (str(self.model_path.resolve()), self.n_ctx, self.n_batch, self.n_threads, self.seed)
        with _loading:
            if key not in _loaded:
                _loaded[key] = _Loaded(
                    Llama(
                        model_path=str(self.model_path),
                        n_ctx=self.n_ctx,
                        n_batch=self.n_batch,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        rope_freq_base=0,  # 0: the frequency stored in the GGUF
                        seed=self.seed,
                        verbose=False,
                    )
                )
            return _loaded[key]

    def _sampling(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
            # Per call, so a reply does not depend on which replies came before it.
            "seed": self.seed,
        }

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any
    ) -> dict[str, Any]:
        chat = []
        for message in messages:
            if message.type not in _ROLES:
                raise GenerationError(f"local model cannot take a {message.type} message")
            chat.append({"role": _ROLES[message.type], "content": message.text})
        return {"messages": chat, "stop": stop or [], **self._sampling(), **kwargs}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model = self._model()
        with model.lock:
            response = cast(
                "dict[str, Any]",
                model.llama.create_chat_completion(**self._request(messages, stop, **kwargs)),
            )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        )
        info = {"finish_reason": choice.get("finish_reason")}
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        model = self._model()
        request = self._request(messages, stop, stream=True, **kwargs)
        # Held until the stream ends or its consumer closes it (a dropped client included).
        with model.lock:
            chunks = cast("Iterator[dict[str, Any]]", model.llama.create_chat_completion(**request))
            for chunk in chunks:
                text = chunk["choices"][0]["delta"].get("content")
                if not text:
                    continue
                generation = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager is not None:
                    run_manager.on_llm_new_token(text, chunk=generation)
                yield generation


def local_generator(
    model_path: Path, *, n_ctx: int = 4096, max_tokens: int = 512, temperature: float = 0.0
) -> ChatModelGenerator:
    """The ``local`` backend over a GGUF file; the model loads on the first request."""
    try:
        chat_model = LlamaCppChatModel(
            model_path=model_path, n_ctx=n_ctx, max_tokens=max_tokens, temperature=temperature
        )
    except ValueError as error:
        raise GenerationError(f"local model: {error}") from error
    return ChatModelGenerator(chat_model, name="local")
