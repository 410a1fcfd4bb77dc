"""The peekoff.qdrant.qdrant_jwt filter."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_jwt import FilterModule, qdrant_jwt
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_jwt import decode_claims, verify


def test_filter_is_registered():
    assert FilterModule().filters()["qdrant_jwt"] is qdrant_jwt


def test_per_collection_read_token():
    token = qdrant_jwt("full-key", access=[{"collection": "products", "access": "r"}], ttl=86400, subject="search-api")
    claims = decode_claims(token)
    assert claims["access"] == [{"collection": "products", "access": "r"}]
    assert claims["subject"] == "search-api"  # the audit-log name in Qdrant (claims.rs), not sub
    assert "sub" not in claims
    assert claims["exp"] > 0  # our policy: always an expiry
    assert verify(token, "full-key")


def test_access_is_required():
    with pytest.raises(AnsibleFilterError, match="access is required"):
        qdrant_jwt("full-key")


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(access="r", ttl=0), "ttl must be a positive"),
    (dict(access="r", ttl="x"), "ttl must be a positive"),
    (dict(access="w"), "access must be"),
    (dict(access=[{"collection": "a"}, {"collection": "a", "access": "rw"}]), "twice"),
    (dict(access=[{"collection": "a", "payload": {"k": "v"}}]), "payload constraint"),
    (dict(access="r", value_exists={"collection": "users"}), "value_exists.matches"),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(AnsibleFilterError, match=fragment):
        qdrant_jwt("full-key", **kwargs)


def test_secret_never_in_error():
    with pytest.raises(AnsibleFilterError) as e:
        qdrant_jwt("super-secret-key", access="w")
    assert "super-secret-key" not in str(e.value)


def test_empty_key_refused():
    with pytest.raises(AnsibleFilterError, match="api_key"):
        qdrant_jwt("", access="r")


def test_prw_and_value_exists():
    ve = {"collection": "users", "matches": [{"key": "user", "value": "alice"}]}
    token = qdrant_jwt("full-key", access=[{"collection": "notes", "access": "prw"}], value_exists=ve, subject="alice")
    claims = decode_claims(token)
    assert claims["access"] == [{"collection": "notes", "access": "prw"}]
    assert claims["value_exists"] == ve
    assert claims["subject"] == "alice"
