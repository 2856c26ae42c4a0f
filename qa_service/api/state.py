"""The service's components, loaded in the background so the process answers /healthz at once."""

import logging
import threading

from qa_service.api.admission import Admission
from qa_service.api.errors import unavailable
from qa_service.core.config import Settings
from qa_service.services import Services

logger = logging.getLogger(__name__)


class ServiceState:
    """What the routes share: the services once loaded (or why they are not), and the
    admission control of answers.

    ``services`` may come built (tests pass theirs, sharing one embedding model); otherwise
    they are built from ``settings``.
    """

    def __init__(self, settings: Settings, services: Services | None = None) -> None:
        self.settings = settings
        self.services: Services | None = None
        self.error: str | None = None
        self.admission = Admission(settings.max_answers_in_flight, settings.max_answers_queued)
        self._given = services
        self._loaded = threading.Event()

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self._load, name="qa-load", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        try:
            services = self._given or Services(self.settings)
            services.store.count()  # touches the embedder and the store
            services.retriever  # noqa: B018 - build it now, not on the first question
            services.answerer.warm_up()  # the language model too: the first question waits for none
            self.services = services
        except Exception as error:  # reported by /readyz, never raised into a request
            logger.exception("the service could not load")
            self.error = unavailable(error)
        finally:
            self._loaded.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)
