"""Offline question answering over an organisation's documents, with cited answers.

Data flows one way: ``qa_service.core`` (settings, offline set-up, embedder, chunk store)
<- ``ingest`` (load -> split -> embed -> write) <- ``qa_service.retrieve`` <- the entry points
``qa_service.cli`` and ``qa_service.api``.
"""
