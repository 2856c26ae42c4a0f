"""Picks the generator backend named by ``settings.llm``."""

from qa_service.core.config import Settings
from qa_service.generation.base import Generator


def build_generator(settings: Settings) -> Generator:
    """The configured backend; ``local`` first assembles the Qwen file if it is not cached."""
    # Imports are local so that a backend's dependencies load only when it is chosen.
    if settings.llm == "local":
        from qa_service.generation.local import local_generator
        from qa_service.generation.model_files import qwen_gguf

        return local_generator(qwen_gguf(settings.cache_dir), max_tokens=settings.llm_max_tokens)
    if settings.llm == "openai":
        from qa_service.generation.openai_compatible import openai_generator

        return openai_generator(settings, max_tokens=settings.llm_max_tokens)
    # Extractive mode quotes passages without a model (answering.compose.ExtractiveComposer).
    raise ValueError("QA_LLM=extractive uses no generator")
