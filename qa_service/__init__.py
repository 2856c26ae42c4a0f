"""Offline question answering over an organisation's documents, with cited answers.

The folders follow the data, and imports only point down this list (``pyproject.toml``'s
import-linter contracts, checked by ``make test``):

- ``cli`` and ``services`` (the composition root) on top;
- ``api`` and ``eval`` (a sibling package), which never import each other;
- ``answering`` (question -> retrieve -> compose -> check -> answer);
- ``citations`` (the checker of every sentence against a quoted span);
- ``retrieval`` (search -> fuse -> select, reranking) and ``ingest`` (load -> split -> embed ->
  write, a sibling package);
- ``stores`` (the chunk store protocol, Chroma, the keyword index) and ``generation`` (language
  model backends, prompts);
- ``embedders``; ``text`` (sentences, languages, places); ``core`` (schema, settings, the service's
  database, keys, offline set-up, file helpers, the log's format and the metrics, which any
  layer may write to).
"""
