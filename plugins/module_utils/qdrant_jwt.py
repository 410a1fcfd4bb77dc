# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HS256 JSON Web Tokens for Qdrant JWT RBAC, with the Python standard library only.

Qdrant verifies tokens signed with its full ``api_key`` (HS256), checks ``exp`` with about 30 s leeway and reads
the ``access`` claim: ``"r"`` (global read), ``"m"`` (global manage) or a list of
``{"collection": <name>, "access": "r" | "rw"}``. A token without ``access`` has full manage rights, so the
helpers here always ask for an explicit one; a token without ``exp`` is not accepted by Qdrant, so one is
always set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import json
import time

GLOBAL_ACCESS = ("r", "m")
COLLECTION_ACCESS = ("r", "rw")


class QdrantJWTError(ValueError):
    """A token cannot be minted from the given arguments (message names the argument, never the secret)."""


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    text = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text.encode("ascii"))


def normalize_access(access):
    """Validate an ``access`` claim and return it in the form Qdrant expects."""
    if isinstance(access, str):
        if access not in GLOBAL_ACCESS:
            raise QdrantJWTError("access must be 'r' (global read), 'm' (global manage) or a list of "
                                 "{collection, access} items; got %r" % access)
        return access
    if isinstance(access, dict):
        access = [access]
    if not isinstance(access, (list, tuple)) or not access:
        raise QdrantJWTError("access must be 'r', 'm' or a non-empty list of {collection, access} items")
    result = []
    for index, item in enumerate(access):
        if not isinstance(item, dict):
            raise QdrantJWTError("access[%d] must be a dict with keys collection and access" % index)
        unknown = sorted(set(item) - set(("collection", "access")))
        if unknown:
            raise QdrantJWTError("access[%d] has unknown keys %s; only collection and access are allowed"
                                 % (index, ", ".join(unknown)))
        collection = item.get("collection")
        mode = item.get("access", "r")
        if not isinstance(collection, str) or not collection:
            raise QdrantJWTError("access[%d].collection must be a non-empty collection name" % index)
        if mode not in COLLECTION_ACCESS:
            raise QdrantJWTError("access[%d].access must be 'r' or 'rw'; got %r" % (index, mode))
        result.append({"collection": collection, "access": mode})
    return result


def mint_token(secret, access, ttl=None, expires_at=None, subject=None, now=None, extra_claims=None):
    """Return a compact HS256 JWT for Qdrant.

    :arg secret: Qdrant's full api_key (the signing secret).
    :arg access: ``"r"``, ``"m"`` or a list of ``{"collection": name, "access": "r"|"rw"}``.
    :kwarg ttl: seconds from ``now`` until the token expires (used when ``expires_at`` is not given).
    :kwarg expires_at: absolute expiry, unix seconds.
    :kwarg subject: optional ``sub`` claim (informational, e.g. the application's name).
    :kwarg now: current unix time (for tests).
    :kwarg extra_claims: more claims to add as they are (e.g. for tests minting unusual tokens).
    """
    if not isinstance(secret, str) or not secret:
        raise QdrantJWTError("the signing secret (Qdrant's full api_key) must be a non-empty string")
    claims = {"access": normalize_access(access)}
    now = int(time.time()) if now is None else int(now)
    if expires_at is not None:
        try:
            claims["exp"] = int(expires_at)
        except (TypeError, ValueError):
            raise QdrantJWTError("expires_at must be a unix timestamp in seconds")
    else:
        try:
            ttl = int(3600 if ttl is None else ttl)
        except (TypeError, ValueError):
            raise QdrantJWTError("ttl must be a whole number of seconds")
        claims["exp"] = now + ttl
    if subject is not None:
        if not isinstance(subject, str) or not subject:
            raise QdrantJWTError("subject must be a non-empty string")
        claims["sub"] = subject
    if extra_claims:
        claims.update(extra_claims)
    return encode(secret, claims)


def encode(secret, claims):
    """Sign ``claims`` (a dict) as an HS256 JWT with ``secret``; no validation of the claims."""
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = "%s.%s" % (_b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")),
                               _b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8")))
    signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return "%s.%s" % (signing_input, _b64url(signature))


def decode_claims(token):
    """Return the claims of a token WITHOUT verifying it (for tests and diagnostics)."""
    try:
        return json.loads(_b64url_decode(token.split(".")[1]).decode("utf-8"))
    except (IndexError, ValueError, UnicodeDecodeError):
        raise QdrantJWTError("not a JWT")


def verify(token, secret):
    """True when ``token`` carries a valid HS256 signature made with ``secret`` (expiry is not checked)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    expected = hmac.new(secret.encode("utf-8"), ("%s.%s" % (parts[0], parts[1])).encode("ascii"),
                        hashlib.sha256).digest()
    try:
        return hmac.compare_digest(expected, _b64url_decode(parts[2]))
    except ValueError:
        return False
