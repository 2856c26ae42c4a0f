"""The service's components, loaded in the background so the process answers /healthz at once."""

import threading

from qa_service.core.config import Settings
from qa_service.services import Services


class ServiceState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: Services | None = None
        self.error: str | None = None
        self._loaded = threading.Event()

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self._load, name="qa-load", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        try:
            services = Services(self.settings)
            services.store.count()  # touches the embedder and the store
            services.retriever  # noqa: B018 - build it now, not on the first question
            services.answerer.warm_up()  # the language model too: the first question waits for none
            self.services = services
        except Exception as error:  # reported by /readyz, never raised into a request
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self._loaded.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)
