"""Recorded HTTP exchanges with a real Qdrant: how a recorded request is rebuilt and sent, and how an answer is
normalized so that a recording, a replay against the stand-in and a fresh run against a real server compare.

Used by ``scripts/record_qdrant.py`` (which makes the recordings under ``tests/fixtures/qdrant-<version>/``) and by
``tests/pytest/test_qdrant_recordings.py`` (which replays them). Standard library only.

A step (what to send) is a dict::

    {"step": "no_credential", "peer": 0, "method": "GET", "path": "/collections",
     "auth": None | {"header": "api-key" | "bearer", "credential": ROLE} | {"header": ..., "jwt": CLAIMS,
                                                                          "secret": ROLE},
     "json": <request body> (optional),
     "upload": {"source": "download:<collection>" | "base64:<bytes>"} (optional, multipart field "snapshot")}

ROLE is one of ``<api_key>``, ``<read_only_api_key>``, ``<wrong_key>``, ``<other_secret>``: secrets never appear in
a recording. In a JWT's claims ``exp`` may be ``"<now+300>"`` or ``"<now-3600>"`` (seconds from the moment it is
sent). In a path, ``<snapshot:C>`` is the name of the last snapshot created of collection C on that peer,
``<checksum:C>`` the SHA-256 of the last snapshot downloaded of C from that peer and ``<checksum:upload>`` the
SHA-256 of the step's own upload. In a request body, ``<snapshots_path>`` is the server's snapshots directory.

A recorded exchange is the step plus the answer: ``status``, ``content_type`` (None when the header is absent),
``body_kind`` (``empty``, ``text``, ``json``, ``binary``), ``body`` (text, JSON, or for binary ``{"size": n}``) and
``normalized`` (the JSON paths whose values were replaced: ids, timings, sizes and checksums of archives).
"""
import base64
import hashlib
import hmac
import http.client
import json
import re
import socket
import time
import uuid

ROLES = ("<api_key>", "<read_only_api_key>", "<wrong_key>", "<other_secret>")

SNAPSHOT_NAME = re.compile(r"^(?P<coll>.+)-(?P<peer>\d+)-(?P<stamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)\.snapshot$")
SHA256_HEX = re.compile(r"\b[0-9a-f]{64}\b")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?$")
# Keys whose values differ from run to run (or between Qdrant and the stand-in) and are replaced by a marker.
VOLATILE_KEYS = {
    "time": 0.0,
    "term": "<term>",
    "commit": "<commit>",
    "last_update": "<timestamp>",
    "latest_error_timestamp": "<timestamp>",
    "creation_time": "<timestamp>",
    "operation_id": "<operation_id>",
    "segments_count": "<segments_count>",
}
# Keys of a SnapshotDescription (a dict whose "name" is a snapshot file name): archives differ byte for byte.
SNAPSHOT_KEYS = {"checksum": "<sha256>", "size": "<size>"}


class Secrets:
    """The secrets behind the role names (made up per run)."""

    def __init__(self, api_key=None, read_only_api_key=None):
        self.values = {
            "<api_key>": api_key or "rec-full-%s" % uuid.uuid4().hex,
            "<read_only_api_key>": read_only_api_key or "rec-ro-%s" % uuid.uuid4().hex,
            "<wrong_key>": "rec-wrong-%s" % uuid.uuid4().hex,
            "<other_secret>": "rec-other-%s" % uuid.uuid4().hex,
        }

    def __getitem__(self, role):
        return self.values[role]


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(secret, claims):
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    sig = hmac.new(secret.encode(), ("%s.%s" % (header, body)).encode("ascii"), hashlib.sha256).digest()
    return "%s.%s.%s" % (header, body, _b64url(sig))


def _resolve_claims(claims, now):
    out = {}
    for k, v in claims.items():
        m = re.match(r"^<now([+-]\d+)>$", v) if isinstance(v, str) else None
        out[k] = int(now) + int(m.group(1)) if m else v
    return out


class Context:
    """What a sequence of steps learned so far: snapshot names created and bytes downloaded, per (peer, collection),
    and the peer ids of a cluster (peer id -> index) for normalization."""

    def __init__(self, secrets):
        self.secrets = secrets
        self.snapshots = {}
        self.downloads = {}
        self.peer_ids = {}
        self.snapshots_paths = {}  # peer -> the server's snapshots directory (for file:// locations)
        self.peer_uris = {}  # a peer's p2p URI as /cluster reports it -> its index
        self.replacements = []  # (text, marker) replaced in every answer, e.g. a machine path

    def credential_headers(self, auth, now=None):
        if not auth:
            return {}
        if "jwt" in auth:
            value = mint(self.secrets[auth.get("secret", "<api_key>")],
                         _resolve_claims(auth["jwt"], time.time() if now is None else now))
        else:
            value = self.secrets[auth["credential"]]
        if auth["header"] == "bearer":
            return {"Authorization": "Bearer %s" % value}
        return {"api-key": value}

    def path(self, step, text=None):
        peer = step.get("peer", 0)
        text = step["path"] if text is None else text
        text = text.replace("<snapshots_path>", self.snapshots_paths.get(peer, "/qdrant/snapshots"))

        def sub(m):
            kind, coll = m.group(1), m.group(2)
            if kind == "snapshot":
                return self.snapshots.get((peer, coll), "missing-snapshot")
            if coll == "upload":
                return hashlib.sha256(self.upload_bytes(step)).hexdigest()
            return hashlib.sha256(self.downloads.get((peer, coll), b"")).hexdigest()
        return re.sub(r"<(snapshot|checksum):([^>]+)>", sub, text)

    def upload_bytes(self, step):
        source = step["upload"]["source"]
        if source.startswith("download:"):
            spec = source[len("download:"):]
            coll, _sep, peer = spec.partition("@")
            return self.downloads[(int(peer) if peer else step.get("peer", 0), coll)]
        if source.startswith("base64:"):
            return base64.b64decode(source[len("base64:"):])
        raise ValueError(source)

    def learn(self, step, status, content_type, body):
        """Remember snapshot names, downloaded archives and peer ids from an answer."""
        peer = step.get("peer", 0)
        path = step["path"].split("?")[0]
        if status != 200:
            return
        if step["method"] == "POST" and re.match(r"^/collections/[^/]+/snapshots$", path):
            doc = json.loads(body)
            self.snapshots[(peer, path.split("/")[2])] = doc["result"]["name"]
        elif step["method"] == "GET" and re.match(r"^/collections/[^/]+/snapshots/<snapshot:[^>]+>$", path):
            self.downloads[(peer, path.split("/")[2])] = body
        elif step["method"] == "GET" and path == "/cluster":
            result = json.loads(body).get("result") or {}
            if result.get("status") == "enabled" and "peer_id" in result:
                self.peer_ids.setdefault(result["peer_id"], peer)
                for pid, info in (result.get("peers") or {}).items():
                    index = self.peer_uris.get((info or {}).get("uri", "").rstrip("/"))
                    if index is not None:
                        self.peer_ids.setdefault(int(pid), index)

    def build(self, step, now=None):
        """(method, path, headers, body bytes) of a step."""
        headers = self.credential_headers(step.get("auth"), now=now)
        body = None
        if "json" in step:
            body = self.path(step, json.dumps(step["json"])).encode()
            headers["Content-Type"] = "application/json"
        elif "upload" in step:
            data = self.upload_bytes(step)
            boundary = "recorder-%s" % uuid.uuid4().hex
            body = (('--%s\r\nContent-Disposition: form-data; name="snapshot"; filename="upload.snapshot"\r\n'
                     'Content-Type: application/octet-stream\r\n\r\n' % boundary).encode() + data
                    + ("\r\n--%s--\r\n" % boundary).encode())
            headers["Content-Type"] = "multipart/form-data; boundary=%s" % boundary
        return step["method"], self.path(step), headers, body

    # -- normalization
    def _peer_marker(self, value):
        try:
            index = self.peer_ids.get(int(value))
        except (TypeError, ValueError):
            index = None
        return "<peer-%d>" % index if index is not None else "<peer_id>"

    def _snapshot_name(self, name):
        m = SNAPSHOT_NAME.match(name) if isinstance(name, str) else None
        if not m:
            return name
        return "%s-%s-<timestamp>.snapshot" % (m.group("coll"), self._peer_marker(m.group("peer")))

    def normalize_json(self, doc):
        """(normalized copy, [paths replaced])."""
        marked = []

        def walk(node, where):
            if isinstance(node, dict):
                out = {}
                is_snapshot = isinstance(node.get("name"), str) and SNAPSHOT_NAME.match(node["name"])
                for k, v in node.items():
                    here = "%s.%s" % (where, k) if where else k
                    key = k
                    if where.endswith("peers") or where.endswith("message_send_failures"):
                        key = self._peer_marker(k) if k.isdigit() else _uri_marker(k, self)
                        if key != k:
                            marked.append(here)
                    volatile = dict(VOLATILE_KEYS, **SNAPSHOT_KEYS) if is_snapshot else VOLATILE_KEYS
                    if k in volatile and v is not None and not isinstance(v, (dict, list)):
                        if v != volatile[k]:
                            marked.append(here)
                        out[key] = volatile[k]
                    elif k in ("peer_id", "leader") and isinstance(v, int):
                        out[key] = self._peer_marker(v)
                        marked.append(here)
                    elif k == "uri" and isinstance(v, str):
                        out[key] = _uri_marker(v, self)
                        marked.append(here)
                    elif k == "name" and isinstance(v, str) and SNAPSHOT_NAME.match(v):
                        out[key] = self._snapshot_name(v)
                        marked.append(here)
                    else:
                        out[key] = walk(v, here)
                return out
            if isinstance(node, list):
                return [walk(v, "%s[%d]" % (where, i)) for i, v in enumerate(node)]
            if isinstance(node, str):
                text = self.normalize_text(node)
                if text != node:
                    marked.append(where)
                return text
            return node
        return walk(doc, ""), sorted(set(marked))

    def normalize_text(self, text):
        for value, marker in self.replacements:
            text = text.replace(value, marker)
        text = SHA256_HEX.sub("<sha256>", text)
        text = re.sub(r"[^\s'`\"]+\.snapshot\b", lambda m: self._snapshot_name(m.group(0)), text)
        return text

    def answer(self, step, status, content_type, body):
        """The recorded form of an answer: dict with status, content_type, body_kind, body, normalized."""
        self.learn(step, status, content_type, body)
        out = {"status": status, "content_type": content_type}
        ctype = (content_type or "").split(";")[0].strip().lower()
        if not body:
            out.update(body_kind="empty", body="", normalized=[])
        elif ctype == "application/json":
            doc, marked = self.normalize_json(json.loads(body))
            out.update(body_kind="json", body=doc, normalized=marked)
        else:
            try:
                text = body.decode("utf-8")
                if ctype == "application/octet-stream" or "\x00" in text:
                    raise UnicodeDecodeError("utf-8", body, 0, 1, "binary")
                norm = self.normalize_text(text)
                out.update(body_kind="text", body=norm, normalized=["body"] if norm != text else [])
            except UnicodeDecodeError:
                out.update(body_kind="binary", body={"size": "<size>"}, normalized=["body"])
        return out


def _uri_marker(uri, ctx):
    """http://127.0.0.1:<port>/ of a peer -> <uri>."""
    return "<uri>" if re.match(r"^https?://", uri or "") else uri


def send(host, port, method, path, headers, body, timeout=60.0):
    """(status, content type or None, body bytes). Raises OSError (refused, reset) and socket.timeout."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers, **{"User-Agent": "peekoff.qdrant-recorder"}))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheader("Content-Type"), data
    finally:
        conn.close()


def exchange(ctx, host, port, step, timeout=60.0):
    """Send one step and return the recorded exchange (step fields + answer), or the step with ``error`` for a
    failure below HTTP."""
    method, path, headers, body = ctx.build(step)
    record = dict(step)
    try:
        status, ctype, data = send(host, port, method, path, headers, body, timeout=timeout)
    except (OSError, socket.timeout, http.client.HTTPException) as e:
        record["error"] = type(e).__name__
        return record
    record.update(ctx.answer(step, status, ctype, data))
    return record
