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
    assert claims == {"access": "r", "exp": 1060, "sub": "app"}
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
    ([{"collection": "a", "access": "m"}], "access[0].access must be 'r' or 'rw'"),
    ([{"collection": "a", "payload": {}}], "unknown keys payload"),
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
