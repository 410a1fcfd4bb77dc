"""A Qdrant stand-in for tests: an HTTP(S) server on 127.0.0.1 that answers like Qdrant v1.19.0.

It follows ``../shared/qdrant-facts.md``: which paths are open, the 401/403 texts and bodies, the read-only key
rules, JWT RBAC (HS256 signed with the full api_key, ``exp`` with 30 s leeway, ``access`` claim), and enough of
the collections API that per-collection tokens can be checked meaningfully.

Usage::

    from qdrant_standin import QdrantStandin, StandinConfig
    s = QdrantStandin(config=StandinConfig(api_key="k", read_only_api_key="ro", jwt_rbac=True), tls=None)
    s.start(); ... s.url ...; s.stop()

``s.config_provider`` may be set to a callable returning a StandinConfig; it is consulted on every request
(e.g. to read keys from a Kubernetes Secret held by an emulator). ``s.requests`` is a list of
``(method, path, status)`` tuples; header values (keys, tokens) are never recorded.
"""
from .server import QdrantStandin, StandinConfig, mint_jwt, standin_factory

__all__ = ["QdrantStandin", "StandinConfig", "mint_jwt", "standin_factory"]
