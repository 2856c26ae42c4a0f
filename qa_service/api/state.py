"""The service's components, loaded in the background so the process answers /healthz at once."""

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from ingest.library import DocumentLibrary
from qa_service.answering.feedback import FeedbackLog
from qa_service.answering.records import AnswerRecords
from qa_service.answering.service import AnswerService
from qa_service.api.admission import Admission
from qa_service.api.auth import Access
from qa_service.api.errors import unavailable
from qa_service.api.proxy import TrustedProxy
from qa_service.core.config import Settings
from qa_service.core.database import Database
from qa_service.stores.protocol import ChunkStore

logger = logging.getLogger(__name__)


class AppServices(Protocol):
    """What the routes use of the composition root (``qa_service.services.Services``)."""

    @property
    def collection(self) -> str: ...
    @property
    def store(self) -> ChunkStore: ...
    @property
    def answerer(self) -> AnswerService: ...
    @property
    def library(self) -> DocumentLibrary: ...
    def warm_up(self) -> None: ...


class ServiceState:
    """What the routes share: the services once loaded (or why they are not), who may call,
    the admission control of answers, and the service's database with what is kept in it.

    ``load`` builds the services (or hands over ones already built: tests pass theirs, sharing
    one embedding model); it runs in the background, once.
    """

    def __init__(self, settings: Settings, load: Callable[[], AppServices]) -> None:
        self.settings = settings
        self.services: AppServices | None = None
        self.error: str | None = None
        self.access = Access(settings.api_keys_file, TrustedProxy.from_settings(settings))
        self.admission = Admission(settings.max_answers_in_flight, settings.max_answers_queued)
        # Connected on first use: a database that is down fails the requests that need it,
        # never the service's start.
        self.database = Database.from_settings(settings)
        self.answers = AnswerRecords(self.database)
        self.feedback = FeedbackLog(self.database, self.answers)
        self._load_services = load
        self._loaded = threading.Event()

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self._load, name="qa-load", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        try:
            services = self._load_services()
            # The store, the retriever and the models now: the first question waits for none.
            services.warm_up()
            self.services = services
        except Exception as error:  # reported by /readyz, never raised into a request
            logger.exception("the service could not load")
            self.error = unavailable(error)
        finally:
            self._loaded.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)
