"""A Qdrant stand-in for tests: an HTTP(S) server on 127.0.0.1 that answers like Qdrant v1.19.0.

It follows ``../shared/qdrant-facts.md`` and the Qdrant v1.19.0 source it cites (src/actix/auth.rs,
src/common/auth/*, lib/storage/src/rbac/*): which paths are open, the 401/403 texts (the auth middleware's bare
bodies without Content-Type, the 403 JSON ``Forbidden: ...``), the read-only key rules, JWT RBAC (HS256 signed
with the full api_key; ``exp`` optional, 30 s leeway; ``access`` r/m or per-collection r/rw/prw; duplicate
collections and ``payload`` refused; ``value_exists`` against the stored points), and enough of the collections
API that per-collection tokens can be checked meaningfully.

Startup as Qdrant's: the port is closed while it "loads" (``startup_delay``); ``/readyz`` answers 503 only in
``cluster_mode``. Things in front of Qdrant: a proxy answering 503 first (``proxy_503_for`` /
``proxy_503_requests``), a Gateway checking keys itself with Qdrant open behind it (``gateway_keys``), a proxy
dropping ``Authorization`` (``strip_authorization``). With ``tls`` and ``client_ca`` it requires client
certificates (``verify_https_client_certificate``).

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
