"""The ``openai`` backend: any OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenAI)."""

from langchain_openai.chat_models.base import BaseChatOpenAI
from pydantic import SecretStr

from qa_service.core.config import Settings
from qa_service.generation.base import ChatModelGenerator, GenerationError


def openai_generator(
    settings: Settings, *, max_tokens: int = 512, timeout: float = 120.0, max_retries: int = 1
) -> ChatModelGenerator:
    """The ``openai`` backend for ``settings.llm_base_url`` and ``settings.llm_model``.

    ``timeout`` is generous because a CPU server takes tens of seconds for a long answer;
    retries stay few so that a dead server fails the request quickly.
    """
    if not settings.llm_base_url:
        raise GenerationError(
            "the openai backend needs QA_LLM_BASE_URL, the server's API root"
            " (e.g. http://127.0.0.1:8080/v1)"
        )
    if not settings.llm_model:
        raise GenerationError("the openai backend needs QA_LLM_MODEL, the model's name there")
    # BaseChatOpenAI rather than ChatOpenAI: ChatOpenAI renames max_tokens to OpenAI's newer
    # max_completion_tokens, which llama-cpp-python's server ignores, generating until the
    # context is full. Every compatible server, and OpenAI for non-reasoning models, reads
    # max_tokens.
    chat_model = BaseChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        # Local servers ignore the key, but the client refuses to start without one.
        api_key=SecretStr(settings.llm_api_key or "not-needed"),
        # Sent explicitly: servers' defaults differ (llama.cpp samples at 0.8 otherwise).
        temperature=0.0,
        top_p=1.0,
        max_tokens=max_tokens,
        timeout=timeout,
        max_retries=max_retries,
        extra_body=settings.llm_extra_body or None,
    )
    return ChatModelGenerator(chat_model, name="openai")
