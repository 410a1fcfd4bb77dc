# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HS256 JSON Web Tokens for Qdrant JWT RBAC, with the Python standard library only.

Qdrant v1.19 (src/common/auth/claims.rs, jwt_parser.rs, lib/storage/src/rbac/mod.rs) verifies tokens signed
with its full ``api_key`` (HS256), checks ``exp`` with 30 s leeway when the token has one, and reads the
``access`` claim: ``"r"`` (global read), ``"m"`` (global manage) or a list of
``{"collection": <name>, "access": "r" | "rw" | "prw"}`` (``prw``: points read-write). It refuses (401) a
list naming a collection twice or carrying the deprecated ``payload`` constraint. ``subject`` is the name
written to Qdrant's audit log (``sub`` is a subject id, not the audit name); ``value_exists`` makes a token
valid only while a matching point exists.

Our policy, not Qdrant's rule: a token without ``access`` has full manage rights, so the helpers here always
ask for an explicit one; a token without ``exp`` never expires (Qdrant accepts it), so one is always set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import json
import time

GLOBAL_ACCESS = ("r", "m")
COLLECTION_ACCESS = ("r", "rw", "prw")


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
    seen = set()
    for index, item in enumerate(access):
        if not isinstance(item, dict):
            raise QdrantJWTError("access[%d] must be a dict with keys collection and access" % index)
        if "payload" in item:
            raise QdrantJWTError("access[%d] has a payload constraint: deprecated since Qdrant 1.15, and Qdrant "
                                 "refuses (401) every token carrying one" % index)
        unknown = sorted(set(item) - set(("collection", "access")))
        if unknown:
            raise QdrantJWTError("access[%d] has unknown keys %s; only collection and access are allowed"
                                 % (index, ", ".join(unknown)))
        collection = item.get("collection")
        mode = item.get("access", "r")
        if not isinstance(collection, str) or not collection:
            raise QdrantJWTError("access[%d].collection must be a non-empty collection name" % index)
        if mode not in COLLECTION_ACCESS:
            raise QdrantJWTError("access[%d].access must be 'r' (read), 'rw' (read-write) or 'prw' (points "
                                 "read-write); got %r" % (index, mode))
        if collection in seen:
            raise QdrantJWTError("access names collection %r twice; Qdrant refuses (401) such a token: give each "
                                 "collection once" % collection)
        seen.add(collection)
        result.append({"collection": collection, "access": mode})
    return result


def normalize_value_exists(value_exists):
    """Validate a ``value_exists`` claim: ``{collection: name, matches: [{key: path, value: str|int|bool}]}``."""
    if not isinstance(value_exists, dict):
        raise QdrantJWTError("value_exists must be a dict with keys collection and matches")
    unknown = sorted(set(value_exists) - set(("collection", "matches")))
    if unknown:
        raise QdrantJWTError("value_exists has unknown keys %s; only collection and matches are allowed"
                             % ", ".join(unknown))
    collection = value_exists.get("collection")
    matches = value_exists.get("matches")
    if not isinstance(collection, str) or not collection:
        raise QdrantJWTError("value_exists.collection must be a non-empty collection name")
    if not isinstance(matches, (list, tuple)) or not matches:
        raise QdrantJWTError("value_exists.matches must be a non-empty list of {key, value} items")
    result = []
    for index, item in enumerate(matches):
        if not isinstance(item, dict) or set(item) != set(("key", "value")):
            raise QdrantJWTError("value_exists.matches[%d] must be a dict with exactly the keys key and value" % index)
        if not isinstance(item["key"], str) or not item["key"]:
            raise QdrantJWTError("value_exists.matches[%d].key must be a non-empty payload key" % index)
        if not isinstance(item["value"], (str, int, bool)):
            raise QdrantJWTError("value_exists.matches[%d].value must be a string, an integer or a boolean" % index)
        result.append({"key": item["key"], "value": item["value"]})
    return {"collection": collection, "matches": result}


def mint_token(secret, access, ttl=None, expires_at=None, subject=None, now=None, extra_claims=None,
               value_exists=None, expires=True):
    """Return a compact HS256 JWT for Qdrant.

    :arg secret: Qdrant's full api_key (the signing secret).
    :arg access: ``"r"``, ``"m"`` or a list of ``{"collection": name, "access": "r"|"rw"|"prw"}``.
    :kwarg ttl: seconds from ``now`` until the token expires (used when ``expires_at`` is not given).
    :kwarg expires_at: absolute expiry, unix seconds.
    :kwarg subject: optional ``subject`` claim, the name Qdrant writes to its audit log (e.g. the application).
    :kwarg now: current unix time (for tests).
    :kwarg extra_claims: more claims to add as they are (e.g. for tests minting unusual tokens).
    :kwarg value_exists: optional ``{collection, matches: [{key, value}]}``: the token is valid only while a point
        with those payload values exists in that collection.
    :kwarg expires: ``False`` leaves ``exp`` out (only qdrant_check, to show that Qdrant accepts such a token).
    """
    if not isinstance(secret, str) or not secret:
        raise QdrantJWTError("the signing secret (Qdrant's full api_key) must be a non-empty string")
    claims = {"access": normalize_access(access)}
    if value_exists is not None:
        claims["value_exists"] = normalize_value_exists(value_exists)
    now = int(time.time()) if now is None else int(now)
    if not expires:
        pass
    elif expires_at is not None:
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
        claims["subject"] = subject
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
