"""HS256 minting in module_utils/qdrant_jwt, checked independently and against the stand-in's verifier."""
import base64
import hashlib
import hmac
import json
import time

import pytest

from ansible_collections.peekoff.qdrant.plugins.module_utils import qdrant_jwt as J

from qdrant_standin import server as standin_server


def _parts(token):
    def dec(p):
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    h, c, s = token.split(".")
    return dec(h), dec(c), s


def test_token_is_standard_hs256():
    token = J.mint_token("secret", "r", ttl=60, now=1000, subject="app")
    header, claims, sig = _parts(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    # subject is the audit-log name (claims.rs Claims.subject); sub (a subject id) is not set
    assert claims == {"access": "r", "exp": 1060, "subject": "app"}
    signing_input = token.rsplit(".", 1)[0].encode()
    expected = base64.urlsafe_b64encode(hmac.new(b"secret", signing_input, hashlib.sha256).digest()).rstrip(b"=")
    assert sig == expected.decode()
    assert "=" not in token
    assert J.verify(token, "secret") and not J.verify(token, "other")


def test_per_collection_access_is_normalized():
    token = J.mint_token("s", [{"collection": "products"}, {"collection": "orders", "access": "rw"}], ttl=10)
    assert J.decode_claims(token)["access"] == [{"collection": "products", "access": "r"},
                                                {"collection": "orders", "access": "rw"}]
    assert J.decode_claims(J.mint_token("s", {"collection": "a", "access": "r"}))["access"] == \
        [{"collection": "a", "access": "r"}]


def test_expires_at_and_default_ttl():
    assert J.decode_claims(J.mint_token("s", "m", expires_at=1893456000))["exp"] == 1893456000
    exp = J.decode_claims(J.mint_token("s", "m"))["exp"]
    assert abs(exp - (time.time() + 3600)) < 5


@pytest.mark.parametrize("access,fragment", [
    ("x", "access must be"),
    ("rw", "access must be"),
    ([], "non-empty"),
    (None, "non-empty"),
    (["products"], "access[0] must be a dict"),
    ([{"collection": ""}], "access[0].collection"),
    ([{"collection": "a", "access": "m"}], "access[0].access must be 'r' (read), 'rw' (read-write) or 'prw'"),
    ([{"collection": "a", "payload": {}}], "access[0] has a payload constraint"),
    ([{"collection": "a", "access": "r"}, {"collection": "a", "access": "rw"}], "names collection 'a' twice"),
])
def test_bad_access_is_refused(access, fragment):
    with pytest.raises(J.QdrantJWTError, match=None) as e:
        J.mint_token("s", access)
    assert fragment in str(e.value)


def test_bad_secret_ttl_subject():
    with pytest.raises(J.QdrantJWTError, match="secret"):
        J.mint_token("", "r")
    with pytest.raises(J.QdrantJWTError, match="ttl"):
        J.mint_token("s", "r", ttl="soon")
    with pytest.raises(J.QdrantJWTError, match="expires_at"):
        J.mint_token("s", "r", expires_at="never")
    with pytest.raises(J.QdrantJWTError, match="subject"):
        J.mint_token("s", "r", subject="")


def test_stand_in_accepts_minted_tokens_like_qdrant():
    token = J.mint_token("full-key", [{"collection": "products", "access": "r"}], ttl=60)
    claims = standin_server._decode_jwt(token, "full-key")
    access = standin_server._access_from_claims(claims)
    assert access.kind == "collections" and access.rights == {"products": "r"}
    with pytest.raises(standin_server.AuthFailure) as e:
        standin_server._decode_jwt(token, "other-key")
    assert e.value.status == 403
    expired = J.mint_token("full-key", "r", ttl=-120)
    with pytest.raises(standin_server.AuthFailure):
        standin_server._decode_jwt(expired, "full-key")


def test_decode_claims_of_garbage():
    with pytest.raises(J.QdrantJWTError):
        J.decode_claims("garbage")
    assert not J.verify("a.b", "s")


def test_prw_access_is_accepted():
    token = J.mint_token("s", [{"collection": "notes", "access": "prw"}], ttl=10)
    assert J.decode_claims(token)["access"] == [{"collection": "notes", "access": "prw"}]


def test_exp_is_always_set_unless_the_caller_opts_out():
    assert "exp" in J.decode_claims(J.mint_token("s", "r", ttl=10))
    assert "exp" not in J.decode_claims(J.mint_token("s", "r", expires=False))


def test_value_exists_claim():
    ve = {"collection": "users", "matches": [{"key": "user", "value": "alice"}, {"key": "active", "value": True}]}
    assert J.decode_claims(J.mint_token("s", "r", value_exists=ve))["value_exists"] == ve


@pytest.mark.parametrize("value_exists,fragment", [
    ("users", "must be a dict"),
    ({"collection": "users"}, "matches must be a non-empty list"),
    ({"collection": "", "matches": [{"key": "k", "value": 1}]}, "collection must be"),
    ({"collection": "u", "matches": [{"key": "k"}]}, "exactly the keys key and value"),
    ({"collection": "u", "matches": [{"key": "k", "value": 1.5}]}, "string, an integer or a boolean"),
    ({"collection": "u", "matches": [{"key": "k", "value": 1}], "x": 1}, "unknown keys x"),
])
def test_bad_value_exists_is_refused(value_exists, fragment):
    with pytest.raises(J.QdrantJWTError) as e:
        J.mint_token("s", "r", value_exists=value_exists)
    assert fragment in str(e.value)
