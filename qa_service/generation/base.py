"""The one interface every generator backend implements, and its langchain adapter."""

from collections.abc import Iterator, Sequence
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage


class GenerationError(RuntimeError):
    """The language model could not produce an answer (server down, model missing, ...)."""


class Generator(Protocol):
    """Writes a reply to chat messages. Sampling settings are fixed in the constructor."""

    name: str

    def run(self, messages: Sequence[BaseMessage]) -> str: ...

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]: ...

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for."""


class ChatModelGenerator:
    """Any langchain chat model as a ``Generator``."""

    def __init__(self, chat_model: BaseChatModel, name: str) -> None:
        self.chat_model = chat_model
        self.name = name

    def run(self, messages: Sequence[BaseMessage]) -> str:
        try:
            return str(self.chat_model.invoke(list(messages)).text)
        except Exception as error:
            raise GenerationError(f"{self.name} model failed: {error}") from error

    def warm_up(self) -> None:
        load = getattr(self.chat_model, "load", None)  # an in-process model: read it now
        if callable(load):
            load()

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]:
        try:
            for chunk in self.chat_model.stream(list(messages)):
                if chunk.text:
                    yield str(chunk.text)
        except Exception as error:
            raise GenerationError(f"{self.name} model failed: {error}") from error
