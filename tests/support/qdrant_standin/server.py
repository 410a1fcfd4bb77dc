"""Implementation of the Qdrant stand-in (see the package docstring and ../shared/qdrant-facts.md)."""
import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import math
import re
import struct
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from email import policy as email_policy
from email.parser import BytesParser
from urllib.parse import parse_qs, urlsplit

from loopback import LoopbackService

JWT_LEEWAY = 30  # seconds, as Qdrant's JwtParser::new (src/common/auth/jwt_parser.rs: validation.leeway = 30)

# Qdrant v1.19.0 src/common/auth/mod.rs AuthKeys::validate_request; sent by src/actix/auth.rs AuthMiddleware::call
# as HttpResponse::Unauthorized().body(String) / HttpResponse::Forbidden().body(String): plain text, NO Content-Type.
TEXT_NO_CREDENTIAL = "Must provide an API key or an Authorization bearer token"
TEXT_WRONG_CREDENTIAL = "Invalid API key or JWT"
# jsonwebtoken's error kinds, as JwtParser::decode turns them into AuthError::Forbidden(e.to_string())
TEXT_EXPIRED = "ExpiredSignature"
TEXT_BAD_SIGNATURE = "InvalidSignature"
# AuthKeys::validate_value_exists: collection missing -> Forbidden, no matching point -> Unauthorized
TEXT_STATEFUL_FAILED = "Invalid JWT, stateful validation failed"
# Claims::validate -> Access::validate (lib/storage/src/rbac/mod.rs), answered with 401; the validator crate names
# the item: recorded from Qdrant 1.19.0 (tests/fixtures/qdrant-1.19.0/single-keyed.json, jwt_payload_constraint and
# jwt_duplicate_collection): "access[0].payload: ..." and, for the second entry naming a collection again,
# "access[1].collection: ...".
TEXT_PAYLOAD_DEPRECATED = "access[{0}].payload: The 'payload' constraint is deprecated and should not be used"
TEXT_DUPLICATE_COLLECTION = "access[{0}].collection: Collection name should be unique"
# StorageError::Forbidden (lib/storage/src/rbac/mod.rs), answered as JSON {"status": {"error": ...}} with 403
MSG_GLOBAL_MANAGE = "Forbidden: Global manage access is required"  # GlobalAccessMode::Read on a manage operation
MSG_GLOBAL_ACCESS = "Forbidden: Global access is required"  # Access::Collection on a global operation

# What a Gateway (Kong's key-auth plugin) answers when it checks the key itself ("gateway_keys" mode).
GATEWAY_NO_KEY = '{"message":"No API key found in request"}'
GATEWAY_BAD_KEY = '{"message":"Invalid authentication credentials"}'
GATEWAY_SERVER = "kong/3.9.0"
# What Envoy (e.g. a Gateway API implementation) answers while its backend is not up ("proxy_503_*" modes).
PROXY_NOT_UP = "no healthy upstream"
GATEWAY_OPEN_PATHS = ("/", "/livez", "/healthz", "/readyz")


@dataclasses.dataclass
class StandinConfig:
    """How the stand-in is configured, plus switches that make it misbehave for tests."""

    api_key: Optional[str] = None
    read_only_api_key: Optional[str] = None
    # service.alt_api_key (QDRANT__SERVICE__ALT_API_KEY): "works the same as api_key. Intended for rolling key
    # updates" (Qdrant v1.19.0 lib/collection/src/shards/channel_service.rs, src/settings.rs ServiceConfig). As
    # src/common/auth/mod.rs AuthKeys: can_write accepts api_key or alt_api_key, and with jwt_rbac a token signed
    # with either validates (jwt_parser, then alt_jwt_parser; the first decode error is answered if neither does).
    alt_api_key: Optional[str] = None
    jwt_rbac: bool = False
    version: str = "1.19.0"
    commit: str = "0000000000000000000000000000000000000000"
    # --- startup, as src/main.rs of Qdrant: a single node loads every collection before it binds its ports ---
    startup_delay: float = 0.0           # seconds after start() during which the port is closed (connection refused)
    cluster_mode: bool = False           # /readyz answers 503 only in cluster mode, until consensus caught up:
    ready: bool = True                   # cluster mode: False -> /readyz answers 503 ...
    ready_after: Optional[float] = None  # ... until this many seconds after start() ...
    ready_after_requests: Optional[int] = None  # ... or until this many /readyz requests were answered 503
    # --- cluster mode: GET /cluster as Qdrant v1.19.0 answers it (lib/storage/src/types.rs ClusterStatus) ---
    cluster_peers: int = 3               # peers in the raft membership (PeerInfo map); this one is peer 0
    cluster_missing_peers: int = 0       # this many peers (the highest) never joined: absent from `peers`
    cluster_no_leader: bool = False      # raft_info.leader is null (election in progress, no quorum)
    cluster_consensus: str = "working"   # consensus_thread_status: working | stopped | stopped_with_err
    cluster_pending_operations: int = 0  # raft_info.pending_operations (operations not yet applied here)
    cluster_send_failures: tuple = ()    # indexes of peers this peer cannot reach (message_send_failures)
    # --- things in front of Qdrant (a Gateway, a proxy) ---
    proxy_503_for: float = 0.0           # a proxy in front answers 503 "no healthy upstream" for this many seconds
    proxy_503_requests: int = 0          # ... or for this many requests
    strip_authorization: bool = False    # a proxy in front drops the Authorization header (Bearer never arrives)
    gateway_keys: tuple = ()             # a Gateway in front checks api-key / Bearer against these keys itself and
    #                                      Qdrant behind it runs WITHOUT keys (health paths pass the Gateway)
    # --- misbehaviour switches (a real, correctly configured Qdrant never does these) ---
    auth_disabled: bool = False          # keys configured but nothing is checked: every request is allowed
    accept_any_key: bool = False         # any non-empty credential is taken as the full key
    read_only_can_write: bool = False    # the read-only key gets manage rights
    delay: float = 0.0                   # seconds to wait before answering any request
    redirect_to: Optional[str] = None    # answer every request with a redirect to this base URL + path
    redirect_status: int = 302
    non_json: bool = False               # endpoints that answer JSON answer an HTML page instead
    jwt_leeway: int = JWT_LEEWAY         # seconds of grace after exp (a huge value accepts expired tokens)
    jwt_ignore_signature: bool = False   # accept tokens whatever secret signed them
    jwt_ignore_access: bool = False      # every valid token gets manage rights, whatever its access claim
    corrupt_snapshot_downloads: bool = False  # snapshot downloads arrive with a flipped bit (checksum mismatch)
    cluster_status_error: Optional[int] = None  # a proxy in front answers GET /cluster with this status (e.g. 502)
    cluster_status_errors: Optional[int] = None  # ... for this many requests (None: always)
    # --- snapshot recovery faults, as Qdrant v1.19.0 lib/storage/src/content_manager/snapshots/recover.rs can fail
    #     AFTER the local shards were switched to recovery and cleared (replica_set/snapshots.rs
    #     restore_local_replica_from): the old data is gone, the shard is dead ---
    recovery_load_failures: int = 0      # the next N recoveries fail loading the shard (500), leaving it empty
    lossy_recoveries: int = 0            # the next N recoveries load all but the last point (a restore that lies)
    # cluster mode: seconds until the Raft proposals of a recovery (activate the recovered replica, remove the other
    # replicas with priority=snapshot) are applied; until then reads see the replica set as it was
    # (lib/storage/src/content_manager/toc/snapshots.rs, send_set_replica_state_proposal / request_remove_replica)
    replica_settle_seconds: float = 0.5

    def __post_init__(self):
        if not self.cluster_mode and (not self.ready or self.ready_after is not None
                                      or self.ready_after_requests is not None):
            raise ValueError("a single-node Qdrant answers /readyz 200 as soon as its port is open: model a slow "
                             "start with startup_delay, or set cluster_mode=True for a peer catching up")
        if self.cluster_consensus not in ("working", "stopped", "stopped_with_err"):
            raise ValueError("cluster_consensus is one of working, stopped, stopped_with_err "
                             "(ConsensusThreadStatus in lib/storage/src/types.rs)")


# ----------------------------------------------------------------------------------------------- JWT

def _b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    text = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text.encode("ascii"))


def mint_jwt(secret, claims, alg="HS256"):
    """Mint an HS256 token (test helper, independent of the collection's own code)."""
    header = {"alg": alg, "typ": "JWT"}
    signing_input = (_b64url_encode(json.dumps(header, separators=(",", ":")).encode())
                     + "." + _b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))
    sig = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url_encode(sig)


class AuthFailure(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


class Access:
    """What a credential may do: kind is 'manage', 'read' or 'collections' (rights {name: 'r'|'rw'|'prw'})."""

    def __init__(self, kind, rights=None):
        self.kind = kind
        self.rights = rights or {}

    def can_read_collection(self, name):
        return self.kind in ("manage", "read") or name in self.rights

    def can_write_collection(self, name):
        return self.kind == "manage" or self.rights.get(name) in ("rw", "prw")


def _decode_jwt(token, secret, leeway=JWT_LEEWAY, check_signature=True):
    """Return the claims, None when the token is not usable as a JWT (-> 401), or raise AuthFailure.

    As JwtParser::decode (src/common/auth/jwt_parser.rs): jsonwebtoken checks the signature, then ``exp`` if the
    token has one (``required_spec_claims`` is empty: every claim is optional); ExpiredSignature and
    InvalidSignature are 403 with the bare error name; anything else that does not decode is "not a JWT"."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        sig = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return None
    expected = hmac.new(secret.encode(), (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256).digest()
    if check_signature and not hmac.compare_digest(expected, sig):
        raise AuthFailure(403, TEXT_BAD_SIGNATURE)
    if "exp" in claims:
        exp = claims["exp"]
        if not isinstance(exp, int) or isinstance(exp, bool) or exp < 0:
            return None  # Claims.exp is Option<u64>: anything else fails to deserialize
        if time.time() > exp + leeway:
            raise AuthFailure(403, TEXT_EXPIRED)
    for name in ("sub", "subject"):
        if claims.get(name) is not None and not isinstance(claims[name], str):
            return None
    return claims


def _access_from_claims(claims):
    """Access for the claims (Claims in src/common/auth/claims.rs, Access in lib/storage/src/rbac/mod.rs), None
    when they do not deserialize (-> 401 Invalid API key or JWT), AuthFailure(401) when Claims::validate fails."""
    if "access" not in claims:
        return Access("manage")  # claims.rs default_access(): full access when the field is not present
    access = claims["access"]
    if access == "m":
        return Access("manage")
    if access == "r":
        return Access("read")
    if isinstance(access, list):
        rights = {}
        for index, item in enumerate(access):
            if (not isinstance(item, dict) or not isinstance(item.get("collection"), str)
                    or item.get("access") not in ("r", "rw", "prw")):
                return None
            if item.get("payload") is not None:
                raise AuthFailure(401, TEXT_PAYLOAD_DEPRECATED.format(index))  # validate_payload_empty
            if item["collection"] in rights:
                raise AuthFailure(401, TEXT_DUPLICATE_COLLECTION.format(index))  # validate_unique_collections
            rights[item["collection"]] = item["access"]
        return Access("collections", rights)
    return None


def _value_exists_parts(value_exists):
    """(collection, [(key, value)]) of a ValueExists claim, or None when it does not deserialize."""
    if not isinstance(value_exists, dict) or not isinstance(value_exists.get("collection"), str) \
            or not isinstance(value_exists.get("matches"), list):
        return None
    pairs = []
    for m in value_exists["matches"]:
        if not isinstance(m, dict) or not isinstance(m.get("key"), str) or "value" not in m \
                or not isinstance(m["value"], (str, int, bool)):
            return None
        pairs.append((m["key"], m["value"]))
    return value_exists["collection"], pairs


def _payload_value(payload, key):
    node = payload
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# ------------------------------------------------------------------------------------------- routing

OPEN = "open"                    # no key needed
AUTHENTICATED = "authenticated"  # any valid credential (answers are filtered by access)
GLOBAL_READ = "global_read"
GLOBAL_MANAGE = "global_manage"
COLLECTION_READ = "collection_read"
COLLECTION_WRITE = "collection_write"
COLLECTION_EXTRAS_WRITE = "collection_extras_write"  # payload index: write().extras() (ops_checks.rs)
COLLECTION_EXTRAS_READ = "collection_extras_read"  # list/download snapshots: extras() (src/common/collections.rs)


@dataclasses.dataclass
class Route:
    method: str
    pattern: str        # e.g. /collections/{name}/points/search ; {name} matches one segment
    requirement: str
    handler: str        # name of a method of _Handler
    prefix: bool = False

    def __post_init__(self):
        rx = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.pattern))
        self.regex = re.compile("^" + rx + ("(?:/.*)?$" if self.prefix else "$"))


READ_POSTS = [
    "points", "points/search", "points/search/batch", "points/search/groups",
    "points/search/matrix/pairs", "points/search/matrix/offsets",
    "points/scroll", "points/count", "points/query", "points/query/batch", "points/query/groups",
    "points/recommend", "points/recommend/batch", "points/recommend/groups",
    "points/discover", "points/discover/batch", "facet",
]

ROUTES = [
    Route("GET", "/", OPEN, "h_root"),
    Route("GET", "/healthz", OPEN, "h_health"),
    Route("GET", "/livez", OPEN, "h_health"),
    Route("GET", "/readyz", OPEN, "h_readyz"),
    Route("GET", "/dashboard", OPEN, "h_dashboard", prefix=True),
    Route("GET", "/metrics", GLOBAL_READ, "h_metrics"),
    Route("GET", "/telemetry", GLOBAL_READ, "h_telemetry"),
    # src/actix/api/cluster_api.rs cluster_status: auth.check_global_access(AccessRequirements::new())
    Route("GET", "/cluster", GLOBAL_READ, "h_cluster"),
    Route("GET", "/collections", AUTHENTICATED, "h_list_collections"),
    Route("GET", "/collections/{name}", COLLECTION_READ, "h_get_collection"),
    Route("GET", "/collections/{name}/exists", COLLECTION_READ, "h_collection_exists"),
    Route("PUT", "/collections/{name}", GLOBAL_MANAGE, "h_create_collection"),
    Route("PATCH", "/collections/{name}", GLOBAL_MANAGE, "h_update_collection"),
    Route("DELETE", "/collections/{name}", GLOBAL_MANAGE, "h_delete_collection"),
    Route("GET", "/collections/{name}/points/{id}", COLLECTION_READ, "h_get_point"),
    Route("PUT", "/collections/{name}/points", COLLECTION_WRITE, "h_upsert_points"),
    Route("POST", "/collections/{name}/points/delete", COLLECTION_WRITE, "h_delete_points"),
    Route("POST", "/collections/{name}/points/payload", COLLECTION_WRITE, "h_write_ack"),
    Route("PUT", "/collections/{name}/points/payload", COLLECTION_WRITE, "h_write_ack"),
    Route("POST", "/collections/{name}/points/payload/delete", COLLECTION_WRITE, "h_write_ack"),
    Route("POST", "/collections/{name}/points/payload/clear", COLLECTION_WRITE, "h_write_ack"),
    Route("PUT", "/collections/{name}/points/vectors", COLLECTION_WRITE, "h_write_ack"),
    Route("POST", "/collections/{name}/points/vectors/delete", COLLECTION_WRITE, "h_write_ack"),
    Route("POST", "/collections/{name}/points/batch", COLLECTION_WRITE, "h_write_ack"),
    Route("PUT", "/collections/{name}/index", COLLECTION_EXTRAS_WRITE, "h_write_ack"),
    # Snapshots, Qdrant v1.19.0 src/actix/api/snapshot_api.rs; access as src/common/collections.rs
    # do_list_snapshots / do_get_snapshot (extras), do_create_snapshot (write + extras), upload_snapshot
    # (ActixAccessManage: global manage, checked before the multipart body is read).
    Route("GET", "/collections/{name}/snapshots", COLLECTION_EXTRAS_READ, "h_list_snapshots"),
    Route("POST", "/collections/{name}/snapshots", COLLECTION_EXTRAS_WRITE, "h_create_snapshot"),
    Route("POST", "/collections/{name}/snapshots/upload", GLOBAL_MANAGE, "h_upload_snapshot"),
    # recover_from_snapshot: a location (file:// in the snapshots directory here); recorded 403 JSON for a read-only
    # key (tests/fixtures/qdrant-1.19.0/single-keyed.json recover_read_only_key)
    Route("PUT", "/collections/{name}/snapshots/recover", GLOBAL_MANAGE, "h_recover_snapshot"),
    Route("GET", "/collections/{name}/snapshots/{snapshot}", COLLECTION_EXTRAS_READ, "h_get_snapshot"),
    Route("DELETE", "/collections/{name}/snapshots/{snapshot}", COLLECTION_EXTRAS_WRITE, "h_delete_snapshot"),
] + [Route("POST", "/collections/{name}/" + p, COLLECTION_READ, "h_read_points") for p in READ_POSTS]


def _match(method, path):
    """Return (route, params) or (None, None) when no route has that path, or ('method', None)."""
    path_known = False
    for route in ROUTES:
        m = route.regex.match(path)
        if not m:
            continue
        path_known = True
        if route.method == method:
            return route, m.groupdict()
    return ("method" if path_known else None), None


# ------------------------------------------------------------------------------------------- server

class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.collections = {}
        self.started = time.monotonic()
        self.readyz_503 = 0
        self.proxy_503 = 0
        self.operation_id = 0
        self.snapshots = {}  # collection -> {snapshot name: (SnapshotDescription, bytes)}
        self.restores = []   # (collection, priority) of each upload-restore
        self.pending = []    # cluster mode: (due monotonic time, callable) Raft proposals not applied yet
        self.recovery_faults = {"load": 0, "lossy": 0}  # faults already injected
        self.cluster_errors = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "qdrant-standin"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass  # never print anything (header values included) to stderr

    def send_response(self, code, message=None):
        # Qdrant (actix-web) sends no Server header; a Gateway in front names itself.
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
        if getattr(self, "_server_header", None):
            self.send_header("Server", self._server_header)

    # -- plumbing
    @property
    def standin(self):
        return self.server.standin

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _send(self, status, body, content_type, extra_headers=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        # Logged before the answer goes out: a client holding the answer must find its request in the log.
        self.standin._log(self.command, self._path, status)
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _text(self, status, text):
        self._send(status, text, "text/plain; charset=utf-8")

    def _bare(self, status, text):
        """Qdrant's auth middleware answers: HttpResponse::...().body(String), no Content-Type header."""
        self._send(status, text, None)

    def _json(self, status, obj):
        if self.cfg.non_json:
            page = "<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works</h1></body></html>"
            self._send(status, page, "text/html; charset=utf-8")
            return
        self._send(status, json.dumps(obj), "application/json")

    def _ok(self, result):
        self._json(200, {"result": result, "status": "ok", "time": 0.000123})

    def _error(self, status, message):
        self._json(status, {"status": {"error": message}, "time": 0.0})

    # -- auth
    def _credential(self):
        key = self.headers.get("api-key")
        if key is not None:
            return key
        authz = None if self.cfg.strip_authorization else self.headers.get("Authorization")
        if authz is not None and authz.startswith("Bearer "):
            return authz[len("Bearer "):]
        return None

    def _authenticate(self):
        """Return an Access, or None when auth is off; raise AuthFailure."""
        cfg = self.cfg
        api_key = cfg.api_key or None
        alt_key = cfg.alt_api_key or None  # AuthKeys::try_create: an empty key counts as unset
        ro_key = cfg.read_only_api_key or None
        full_keys = [k for k in (api_key, alt_key) if k is not None]
        if cfg.auth_disabled or (not full_keys and ro_key is None):
            return None
        key = self._credential()
        if key is None:
            raise AuthFailure(401, TEXT_NO_CREDENTIAL)
        if cfg.accept_any_key and key:
            return Access("manage")
        if any(hmac.compare_digest(key.encode(), k.encode()) for k in full_keys):  # AuthKeys::can_write
            return Access("manage")
        if ro_key is not None and hmac.compare_digest(key.encode(), ro_key.encode()):
            return Access("manage" if cfg.read_only_can_write else "read")
        if cfg.jwt_rbac and full_keys:
            claims, first_error = None, None
            for secret in full_keys:  # [jwt_parser, alt_jwt_parser]; first claims win, else the first error
                try:
                    claims = _decode_jwt(key, secret, leeway=cfg.jwt_leeway,
                                         check_signature=not cfg.jwt_ignore_signature)
                except AuthFailure as e:
                    first_error = first_error or e
                    continue
                if claims is not None:
                    break
            if claims is None and first_error is not None:
                raise first_error
            access = _access_from_claims(claims) if claims is not None else None
            value_exists = None
            if access is not None and claims.get("value_exists") is not None:
                value_exists = _value_exists_parts(claims["value_exists"])
                if value_exists is None:
                    access = None  # ValueExists does not deserialize: not a JWT
            if access is not None:
                if value_exists is not None:
                    self._validate_value_exists(*value_exists)
                return Access("manage") if cfg.jwt_ignore_access else access
        raise AuthFailure(401, TEXT_WRONG_CREDENTIAL)

    def _validate_value_exists(self, collection, pairs):
        """AuthKeys::validate_value_exists: scroll one point matching every pair (must) in the collection."""
        state = self.standin._state
        with state.lock:
            coll = state.collections.get(collection)
            if coll is None:
                raise AuthFailure(403, TEXT_STATEFUL_FAILED)
            for point in coll["points"].values():
                payload = point.get("payload") or {}
                if all(_payload_value(payload, k) == v and type(_payload_value(payload, k)) is type(v)
                       for k, v in pairs):
                    return
        raise AuthFailure(401, TEXT_STATEFUL_FAILED)

    def _authorize(self, access, requirement, params):
        """Return None when allowed, else the 403 message."""
        if access is None or requirement in (OPEN, AUTHENTICATED):
            return None
        name = params.get("name")
        if requirement in (GLOBAL_MANAGE, GLOBAL_READ):
            # Access::check_global_access: a collection token never meets a global requirement
            if access.kind == "collections":
                return MSG_GLOBAL_ACCESS
            return MSG_GLOBAL_MANAGE if requirement == GLOBAL_MANAGE and access.kind != "manage" else None
        if requirement == COLLECTION_READ:
            if access.can_read_collection(name):
                return None
            return "Forbidden: Access to collection {0} is required".format(name)
        if requirement == COLLECTION_EXTRAS_READ:
            # CollectionAccessView::meets_requirements: extras refused to a points-only (prw) token
            if access.kind in ("manage", "read"):
                return None
            if not access.can_read_collection(name):
                return "Forbidden: Access to collection {0} is required".format(name)
            if access.rights.get(name) == "prw":
                return "Forbidden: Only points access is allowed for collection {0}".format(name)
            return None
        if requirement in (COLLECTION_WRITE, COLLECTION_EXTRAS_WRITE):
            # CollectionAccessView::meets_requirements: extras are checked before write
            # Access::check_collection_access: a global mode answers for itself (GlobalAccessMode::meets_requirements)
            if access.kind == "manage":
                return None
            if access.kind == "read":
                return MSG_GLOBAL_MANAGE
            if not access.can_read_collection(name):
                return "Forbidden: Access to collection {0} is required".format(name)
            mode = access.rights.get(name)
            if requirement == COLLECTION_EXTRAS_WRITE and mode == "prw":
                return "Forbidden: Only points access is allowed for collection {0}".format(name)
            if mode == "r":
                return "Forbidden: Write access to collection {0} is required".format(name)
            return None
        raise AssertionError(requirement)

    # -- dispatch
    def _dispatch(self):
        self._path = urlsplit(self.path).path or "/"
        self.cfg = self.standin.current_config()
        self.query = urlsplit(self.path).query
        self._server_header = None
        if self.cfg.delay:
            time.sleep(self.cfg.delay)
        if self.standin._proxy_not_up(self.cfg):
            self._server_header = "envoy"
            self._text(503, PROXY_NOT_UP)
            return
        if self.cfg.gateway_keys and self._path not in GATEWAY_OPEN_PATHS and not self._gateway_admits():
            return
        if self.cfg.cluster_status_error and self._path == "/cluster" and self.standin._cluster_error(self.cfg):
            self._server_header = "envoy"
            self._text(self.cfg.cluster_status_error, "upstream connect error or disconnect/reset before headers")
            return
        if self.cfg.redirect_to:
            location = self.cfg.redirect_to.rstrip("/") + self.path
            self._send(self.cfg.redirect_status, "", "text/plain", {"Location": location})
            return
        route, params = _match(self.command, self._path)
        requirement = route.requirement if isinstance(route, Route) else AUTHENTICATED
        if requirement != OPEN and not self.cfg.gateway_keys:
            try:
                self.access = self._authenticate()
            except AuthFailure as e:
                self._bare(e.status, e.text)
                return
        else:
            self.access = None
        if route is None:
            self._send(404, "", None)  # actix's default service: no Content-Type, empty body (recorded)
            return
        if route == "method":
            self._send(405, "", "text/plain")
            return
        denied = self._authorize(self.access, requirement, params)
        if denied and route.handler == "h_upload_snapshot":
            # upload_snapshot checks access in its ActixAccessManage extractor, before the body, and answers as
            # text (recorded: 403 text/plain; charset=utf-8 "Forbidden: Global manage access is required")
            self._text(403, denied)
            return
        if denied:
            self._error(403, denied)
            return
        getattr(self, route.handler)(**params)

    def _gateway_admits(self):
        """A Gateway that checks keys itself (Kong key-auth): its own 401 bodies; Qdrant behind it is open."""
        key = self._credential()
        if key is not None and any(hmac.compare_digest(key.encode(), k.encode()) for k in self.cfg.gateway_keys):
            return True
        self._server_header = GATEWAY_SERVER
        self._send(401, GATEWAY_NO_KEY if key is None else GATEWAY_BAD_KEY, "application/json; charset=utf-8",
                   {"WWW-Authenticate": 'Key realm="kong"'})
        return False

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    # -- handlers: open
    def h_root(self):
        self._json(200, {"title": "qdrant - vector search engine", "version": self.cfg.version,
                         "commit": self.cfg.commit})

    def h_health(self):
        self._text(200, "healthz check passed")

    def h_readyz(self):
        # src/actix/api/service_api.rs readyz: a single node is ready once it serves; a peer in cluster mode
        # answers 503 until it has caught up with consensus and its shards are active.
        if not self.cfg.cluster_mode or self.standin._is_ready(self.cfg):
            self._text(200, "all shards are ready")
        else:
            self._text(503, "some shards are not ready")

    def h_dashboard(self):
        self._send(200, "<!DOCTYPE html><html><head><title>Qdrant</title></head><body></body></html>",
                   "text/html; charset=utf-8")

    # -- handlers: service
    def h_metrics(self):
        text = ("# HELP app_info information about qdrant server\n# TYPE app_info gauge\n"
                'app_info{{name="qdrant",version="{0}"}} 1\n'
                "# HELP collections_total number of collections\n# TYPE collections_total gauge\n"
                "collections_total {1}\n").format(self.cfg.version, len(self.standin._state.collections))
        self._send(200, text, "text/plain; version=0.0.4")

    def h_telemetry(self):
        self._ok({"id": "00000000-0000-0000-0000-000000000000",
                  "app": {"name": "qdrant", "version": self.cfg.version}})

    # -- handlers: cluster
    def h_cluster(self):
        """GET /cluster: ``Dispatcher::cluster_status`` in the ``helpers::time`` envelope.

        Shape from Qdrant v1.19.0 lib/storage/src/types.rs (serde): ``ClusterStatus`` is tagged by ``status``:
        ``{"status": "disabled"}`` for a single node, else ``"enabled"`` with ``ClusterInfo`` flattened in:
        ``peer_id``, ``peers`` (map peer id -> ``PeerInfo {uri}``), ``raft_info`` (``RaftInfo``: term, commit,
        pending_operations, leader (nullable), role (``StateRole``: Leader/Follower/Candidate/PreCandidate,
        nullable), is_voter), ``consensus_thread_status`` (``ConsensusThreadStatus`` tagged by
        ``consensus_thread_status``: working + last_update, stopped, stopped_with_err + err) and
        ``message_send_failures`` (map peer address -> ``MessageSendErrors {count, latest_error,
        latest_error_timestamp}``). Cross-checked with docs/redoc/master/openapi.json ``ClusterStatus``."""
        cfg = self.cfg
        if not cfg.cluster_mode:
            return self._ok({"status": "disabled"})
        peer_ids = [1000 + i for i in range(cfg.cluster_peers)]

        def uri(i):
            return "http://qdrant-%d.qdrant-headless:6335/" % i

        present = peer_ids[:max(0, cfg.cluster_peers - cfg.cluster_missing_peers)]
        # each peer reports its own peer_id; peer 0 leads and the others follow (recorded: cluster.json)
        index = self.standin.members.index(self.standin) if self.standin.members else 0
        me = peer_ids[index] if index < len(peer_ids) else peer_ids[0]
        leader = None if cfg.cluster_no_leader else peer_ids[0]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        thread = {"consensus_thread_status": cfg.cluster_consensus}
        if cfg.cluster_consensus == "working":
            thread["last_update"] = now
        elif cfg.cluster_consensus == "stopped_with_err":
            thread["err"] = "Failed to apply consensus operation"
        failures = dict((uri(i), {"count": 7, "latest_error": "Failed to send message: transport error",
                                  "latest_error_timestamp": now}) for i in cfg.cluster_send_failures)
        self._ok({
            "status": "enabled",
            "peer_id": me,
            "peers": dict((str(pid), {"uri": uri(i)}) for i, pid in enumerate(present)),
            "raft_info": {"term": 2, "commit": 41, "pending_operations": cfg.cluster_pending_operations,
                          "leader": leader, "is_voter": True,
                          "role": "Candidate" if leader is None else "Leader" if leader == me else "Follower"},
            "consensus_thread_status": thread,
            "message_send_failures": failures,
        })

    # -- cluster mode with data: the peers sharing collections (QdrantStandin.join_cluster)
    @property
    def _members(self):
        return self.standin.members or [self.standin]

    def _gathered(self, name):
        """All points and vectors of a collection over every peer's local shards (None when it is missing here)."""
        self.standin.apply_due()
        if name not in self.standin._state.collections:
            return None
        points, vectors = {}, {}
        for member in self._members:
            with member._state.lock:
                coll = member._state.collections.get(name) or {}
                points.update(coll.get("points") or {})
                vectors.update(coll.get("vectors") or {})
        return {"params": self.standin._state.collections[name]["params"], "points": points, "vectors": vectors}

    # -- handlers: collections
    def _missing(self, name):
        self._error(404, "Not found: Collection `{0}` doesn't exist!".format(name))

    def h_list_collections(self):
        with self.standin._state.lock:
            names = sorted(self.standin._state.collections)
        if self.access is not None and self.access.kind == "collections":
            names = [n for n in names if n in self.access.rights]
        self._ok({"collections": [{"name": n} for n in names]})

    def h_get_collection(self, name):
        coll = self._gathered(name)
        with self.standin._state.lock:
            if coll is None:
                return self._missing(name)
            # CollectionInfo as recorded from Qdrant 1.19.0 (tests/fixtures/qdrant-1.19.0/single-keyed.json,
            # get_collection): the defaults of a collection created with only its vectors
            info = {"status": "green", "optimizer_status": "ok", "indexed_vectors_count": 0,
                    "points_count": len(coll["points"]), "segments_count": 2,
                    "config": {"params": _collection_params(coll["params"], len(self._members)),
                               "hnsw_config": dict(DEFAULT_HNSW), "optimizer_config": dict(DEFAULT_OPTIMIZER),
                               "wal_config": dict(DEFAULT_WAL), "quantization_config": None},
                    "payload_schema": {}, "update_queue": {"length": 0}}
        self._ok(info)

    def h_collection_exists(self, name):
        self._ok({"exists": name in self.standin._state.collections})

    def h_create_collection(self, name):
        body = self._body()
        if body is None:
            return self._error(400, "Json deserialize error: invalid JSON body")
        with self.standin._state.lock:
            if name in self.standin._state.collections:
                return self._error(400, "Wrong input: Collection `{0}` already exists!".format(name))
        params = self.standin.effective_params(body)
        for member in self._members:  # through consensus: on every peer
            with member._state.lock:
                member._state.collections.setdefault(name, {"params": params, "points": {}})
        self._ok(True)

    def h_update_collection(self, name):
        if name not in self.standin._state.collections:
            return self._missing(name)
        self._ok(True)

    def h_delete_collection(self, name):
        existed = name in self.standin._state.collections
        for member in self._members:
            with member._state.lock:
                member._state.collections.pop(name, None)
        self._ok(existed)

    # -- handlers: points
    def _ack(self):
        with self.standin._state.lock:
            self.standin._state.operation_id += 1
            op = self.standin._state.operation_id
        self._ok({"operation_id": op, "status": "completed"})

    def h_get_point(self, name, id):  # noqa: A002 - path parameter name
        coll = self.standin._state.collections.get(name)
        if coll is None:
            return self._missing(name)
        point = coll["points"].get(str(id))
        if point is None:
            return self._error(404, "Not found: No point with id {0} found".format(id))
        self._ok(point)

    def h_upsert_points(self, name):
        body = self._body()
        coll = self.standin._state.collections.get(name)
        if coll is None:
            return self._missing(name)
        if not isinstance(body, dict) or not isinstance(body.get("points"), list):
            return self._error(400, "Json deserialize error: missing field `points`")
        distance = ((coll.get("params") or {}).get("vectors") or {}).get("distance")
        body["points"] = [dict(p, vector=_stored_vector(p.get("vector"), distance)) for p in body["points"]]
        if self.standin.members:
            for p in body["points"]:
                self.standin.shard_owner(p.get("id")).upsert(name, [p])
            return self._ack()
        with self.standin._state.lock:
            for p in body["points"]:
                coll["points"][str(p.get("id"))] = {"id": p.get("id"), "payload": p.get("payload") or {}}
                coll.setdefault("vectors", {})[str(p.get("id"))] = p.get("vector")
        self._ack()

    def h_delete_points(self, name):
        body = self._body() or {}
        coll = self.standin._state.collections.get(name)
        if coll is None:
            return self._missing(name)
        with self.standin._state.lock:
            for pid in body.get("points") or []:
                coll["points"].pop(str(pid), None)
        self._ack()

    def h_write_ack(self, name):
        if name not in self.standin._state.collections:
            return self._missing(name)
        self._ack()

    def h_read_points(self, name):
        body = self._body() or {}
        coll = self._gathered(name)
        if coll is None:
            return self._missing(name)
        points = list(coll["points"].values())
        kind = self._path.rsplit("/", 1)[-1]
        if self._path.endswith("/points/count"):
            return self._ok({"count": len(points)})
        if self._path.endswith("/points/scroll"):
            return self._scroll(coll, body)
        if self._path.endswith("/points/query"):
            return self._ok({"points": [dict(p, score=1.0, version=0) for p in points]})
        if kind in ("batch", "groups", "pairs", "offsets"):
            return self._ok([])
        if self._path.endswith("/facet"):
            return self._ok({"hits": []})
        self._ok([dict(p, score=1.0, version=0) for p in points])

    def _scroll(self, coll, body):
        """POST .../points/scroll (ScrollRequest): ordered by id (numbers before UUIDs), ``limit`` (default 10),
        ``offset`` (first id of the page), ``with_payload`` (default true), ``with_vector`` (default false);
        ``next_page_offset`` is the id after the page or null."""
        with self.standin._state.lock:
            points = sorted(coll["points"].values(), key=_point_order)
            vectors = dict(coll.get("vectors") or {})
        if body.get("offset") is not None:
            points = [p for p in points if _point_order(p) >= _point_order({"id": body["offset"]})]
        limit = body.get("limit") or 10
        page, rest = points[:limit], points[limit:]
        out = []
        for p in page:
            item = {"id": p["id"], "payload": p["payload"] if body.get("with_payload", True) else None}
            if body.get("with_vector"):
                item["vector"] = vectors.get(str(p["id"]))
            out.append(item)
        self._ok({"points": out, "next_page_offset": rest[0]["id"] if rest else None})

    # -- handlers: snapshots (src/actix/api/snapshot_api.rs; shapes: SnapshotDescription in openapi.json)
    def _snapshots_of(self, name):
        return self.standin._state.snapshots.setdefault(name, {})

    def h_list_snapshots(self, name):
        if name not in self.standin._state.collections:
            return self._missing(name)
        with self.standin._state.lock:
            snaps = [dict(d) for d, _data in self._snapshots_of(name).values()]
        self._ok(sorted(snaps, key=lambda d: d["name"]))

    def h_create_snapshot(self, name):
        """Collection::create_snapshot (lib/collection/src/collection/snapshots.rs): a tar archive named
        ``{collection}-{peer_id}-{%Y-%m-%d-%H-%M-%S}.snapshot``, its sha256 in ``checksum``. Here the archive is a
        JSON document; like a tar with file times, two snapshots of the same data differ byte for byte."""
        state = self.standin._state
        with state.lock:
            coll = state.collections.get(name)
            if coll is None:
                return self._missing(name)
            now = time.time()
            params = self.standin.effective_params(coll["params"])
            data = json.dumps({"format": "qdrant-standin-snapshot", "collection": name, "created": now,
                               "params": params, "shards": self.standin.local_shards(name, params),
                               "points": list(coll["points"].values()),
                               "vectors": coll.get("vectors") or {}}, sort_keys=True).encode()
            stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
            # this_peer_id: in cluster mode the id /cluster reports for this peer (recorded: cluster.json)
            peer_id = 1000 + self.standin.members.index(self.standin) if self.standin.members else SNAPSHOT_PEER_ID
            snap_name = "{0}-{1}-{2}.snapshot".format(name, peer_id, stamp)
            desc = {"name": snap_name, "creation_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)),
                    "size": len(data), "checksum": hashlib.sha256(data).hexdigest()}
            self._snapshots_of(name)[snap_name] = (desc, data)
        self._ok(desc)

    def h_get_snapshot(self, name, snapshot):
        if name not in self.standin._state.collections:
            return self._missing(name)
        with self.standin._state.lock:
            entry = self._snapshots_of(name).get(snapshot)
        if entry is None:
            # recorded (download_deleted_snapshot): 404 text/plain, not the JSON envelope
            return self._text(404, "Not found: Snapshot {0} not found".format(snapshot))
        data = entry[1]
        if self.cfg.corrupt_snapshot_downloads:
            data = data[:-1] + bytes([data[-1] ^ 1])  # a flipped bit on the way (disk, proxy, truncation)
        self._send(200, data, "application/octet-stream")

    def h_delete_snapshot(self, name, snapshot):
        if name not in self.standin._state.collections:
            return self._missing(name)
        with self.standin._state.lock:
            entry = self._snapshots_of(name).pop(snapshot, None)
        if entry is None:
            return self._error(404, "Not found: Snapshot {0} not found".format(snapshot))
        self._ok(True)

    def h_upload_snapshot(self, name):
        """upload_snapshot (src/actix/api/snapshot_api.rs): multipart field ``snapshot``; with ``checksum`` the sha256
        of the upload must match (StorageError::checksum_mismatch(computed, given): 400 "Checksum mismatch: expected
        <computed>, actual <given>"). do_save_uploaded_snapshot then moves the file into the collection's snapshots
        directory under its multipart file name (a UUID without one), where it STAYS after the recovery (nothing
        deletes it; it is listed, without checksum as recorded in list_snapshots_read_only_key, and deleted like any
        snapshot). Then _do_recover_from_snapshot (_recover, shared with h_recover_snapshot)
        (lib/storage/src/content_manager/snapshots/recover.rs):
        1. unpack and read the archive in a temporary directory (a broken archive fails, the collection untouched;
           500 text recorded: upload_corrupt);
        2. a missing collection is created with the snapshot's config (through consensus: on every peer);
        3. an existing one must have the same vectors config and shard_number, else 400 "Wrong input: Snapshot is not
           compatible with existing collection: ..." (texts recorded: upload_incompatible, recover_incompatible of
           tests/fixtures/qdrant-1.19.0/single-keyed.json); its other config is kept;
        4. the local replicas of the shards are switched to recovery and each shard the snapshot has data for is
           cleared and replaced (lib/collection/src/shards/replica_set/snapshots.rs): a load that fails there
           leaves the shard empty and dead (recovery_load_failures), the old data gone: NOT atomic;
        5. the recovered replicas are activated; with priority=snapshot the other replicas of those shards are
           removed. In cluster mode both are Raft proposals (toc/snapshots.rs), applied asynchronously: here after
           replica_settle_seconds, and until then reads see the replica set as it was (the recovering peer's shard
           empty, the other replicas still serving the old data).
        Answers ``result: true``."""
        query = parse_qs(self.query)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        field = _multipart_field(self.headers.get("Content-Type", ""), raw, "snapshot")
        if field is None:
            return self._error(400, "Bad request: multipart field `snapshot` is missing")
        data, filename = field
        given = (query.get("checksum") or [None])[0]
        if given is not None:
            computed = hashlib.sha256(data).hexdigest()
            if computed != given.lower():
                return self._error(400, "Checksum mismatch: expected {0}, actual {1}".format(computed, given))
        filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1] or str(uuid.uuid4())
        with self.standin._state.lock:
            # listed without checksum (recorded: list_snapshots_read_only_key)
            self._snapshots_of(name)[filename] = (
                {"name": filename, "creation_time": _now_iso(), "size": len(data)}, data)
        self._recover(name, data, (query.get("priority") or [None])[0])

    def h_recover_snapshot(self, name):
        """recover_from_snapshot with a file:// location in the snapshots directory (here /qdrant/snapshots);
        a missing file is 400 'Bad request: Snapshot file "<path>" does not exist' (recorded)."""
        body = self._body() or {}
        location = str(body.get("location") or "")
        path = urlsplit(location).path
        coll, _sep, snap = path[len(SNAPSHOTS_PATH) + 1:].partition("/") if path.startswith(SNAPSHOTS_PATH + "/") \
            else ("", "", "")
        with self.standin._state.lock:
            entry = self.standin._state.snapshots.get(coll, {}).get(snap)
        if entry is None:
            return self._error(400, 'Bad request: Snapshot file "{0}" does not exist'.format(path))
        self._recover(name, entry[1], body.get("priority"))

    def _recover(self, name, data, priority):
        """_do_recover_from_snapshot (recover.rs) for both the upload and the recover-by-location paths, steps 1-5 of
        h_upload_snapshot: unpack and check the archive first (a broken one fails with the collection untouched),
        create a missing collection, refuse an existing one with other vectors or shard number (400, texts as
        recorded: upload_incompatible, recover_incompatible), clear the local shards and load them (non-atomic; the
        fault switches recovery_load_failures and lossy_recoveries apply here), log the restore, then activate the
        recovered replicas (after replica_settle_seconds in cluster mode)."""
        try:
            doc = json.loads(data)
            if doc.get("format") != "qdrant-standin-snapshot":
                raise ValueError
        except (ValueError, AttributeError):
            # recorded (upload_corrupt): what Qdrant's tar reader says about bytes that are not an archive
            return self._error(500, "Service internal error: File IO error: Malformed tar archive, reached unknown "
                                    "entry: failed to read entire block")
        params = self.standin.effective_params(doc.get("params") or {})
        with self.standin._state.lock:
            existing = self.standin._state.collections.get(name)
        if existing is not None:
            have = self.standin.effective_params(existing["params"])
            # texts recorded: upload_incompatible and recover_incompatible (single-keyed.json)
            if params.get("vectors") != have.get("vectors"):
                return self._error(400, "Wrong input: Snapshot is not compatible with existing collection: Collection "
                                        "vectors: {0} Snapshot Vectors: {1}".format(
                                            _vectors_debug(have.get("vectors")), _vectors_debug(params.get("vectors"))))
            if params.get("shard_number") != have.get("shard_number"):
                return self._error(400, "Wrong input: Snapshot is not compatible with existing collection: Collection "
                                        "shard number: {0} Snapshot shard number: {1}".format(
                                            have.get("shard_number"), params.get("shard_number")))
            params = have  # the other config of the existing collection is kept
        else:
            for member in self._members:
                with member._state.lock:
                    member._state.collections.setdefault(name, {"params": params, "points": {}})
        shard_number = params["shard_number"]
        shards = set(doc.get("shards") if doc.get("shards") is not None else range(shard_number))
        points = dict((str(p["id"]), p) for p in doc.get("points") or [] if _shard_of(p["id"], shard_number) in shards)
        vectors = dict((k, v) for k, v in (doc.get("vectors") or {}).items() if k in points)
        me = self.standin
        with me._state.lock:
            coll = me._state.collections[name]
            for pid in [k for k, p in coll["points"].items() if _shard_of(p["id"], shard_number) in shards]:
                coll["points"].pop(pid)  # the local replica is cleared before the snapshot's data is loaded
                (coll.get("vectors") or {}).pop(pid, None)
            me._state.restores.append((name, priority))
            faults = me._state.recovery_faults
            if faults["load"] < self.cfg.recovery_load_failures:
                faults["load"] += 1
                fail = True
            else:
                fail = False
                if faults["lossy"] < self.cfg.lossy_recoveries and points:
                    faults["lossy"] += 1
                    lost = sorted(points.values(), key=_point_order)[-1]
                    points.pop(str(lost["id"]))
        if fail:
            return self._error(500, "Service internal error: Failed to recover shard from snapshot: the shard is "
                                    "dead, its data cleared")

        def activate():
            if name not in me._state.collections:
                return
            for member in self._members:
                with member._state.lock:
                    coll = member._state.collections.get(name)
                    if coll is None:
                        continue
                    placement = coll.setdefault("placement", {})
                    for shard in shards:
                        placement[str(shard)] = self._members.index(me) if me.members else 0
                    if member is me:
                        coll["points"].update(points)
                        coll.setdefault("vectors", {}).update(vectors)
                    else:  # priority=snapshot: the other replicas of the recovered shards are removed
                        for pid in [k for k, p in coll["points"].items()
                                    if _shard_of(p["id"], shard_number) in shards]:
                            coll["points"].pop(pid)
        if me.members:
            with me._state.lock:
                me._state.pending.append((time.monotonic() + self.cfg.replica_settle_seconds, activate))
        else:
            activate()  # a single node sets the replica state locally, at once (recover.rs activate_shard)
        self._ok(True)


SNAPSHOTS_PATH = "/qdrant/snapshots"  # the stand-in's snapshots directory, for file:// recover locations
# Defaults of a new collection as Qdrant 1.19.0 reports them (recorded: single-keyed.json get_collection)
DEFAULT_HNSW = {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000, "max_indexing_threads": 0,
                "on_disk": False}
DEFAULT_OPTIMIZER = {"deleted_threshold": 0.2, "vacuum_min_vector_number": 1000, "default_segment_number": 0,
                     "max_segment_size": None, "memmap_threshold": None, "indexing_threshold": 10000,
                     "flush_interval_sec": 5, "max_optimization_threads": None, "prevent_unoptimized": None}
DEFAULT_WAL = {"wal_capacity_mb": 32, "wal_segments_ahead": 0, "wal_retain_closed": 1}


def _collection_params(params, peers=1):
    """config.params of CollectionInfo for a create request's body (recorded defaults)."""
    params = params or {}
    out = {"vectors": params.get("vectors", {}), "shard_number": params.get("shard_number", max(1, peers)),
           "replication_factor": params.get("replication_factor", 1),
           "write_consistency_factor": params.get("write_consistency_factor", 1),
           "on_disk_payload": params.get("on_disk_payload", True)}
    for key in ("sharding_method", "sparse_vectors"):
        if key in params:
            out[key] = params[key]
    return out


def _vectors_debug(vectors):
    """Rust's Debug of VectorsConfig for a single unnamed vector, as in Qdrant's incompatibility message."""
    if isinstance(vectors, dict) and "size" in vectors and "distance" in vectors:
        return ("Single(VectorParams {{ size: {0}, distance: {1}, hnsw_config: None, quantization_config: None, "
                "on_disk: None, memory: None, datatype: None, multivector_config: None }})".format(
                    vectors["size"], vectors["distance"]))
    return json.dumps(vectors, sort_keys=True)


def _f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def _f32_short(x):
    """The shortest decimal that reads back as the same f32, as Qdrant (serde_json on f32) prints it."""
    f = _f32(x)
    for digits in range(1, 10):
        t = float("%.*g" % (digits, f))
        if _f32(t) == f:
            return t
    return f


def _stored_vector(vector, distance):
    """What Qdrant keeps of a dense vector: f32 values, Cosine vectors normalized to length 1 (computed in f32;
    recorded: scroll_all of single-keyed.json)."""
    if not isinstance(vector, list) or not all(isinstance(x, (int, float)) for x in vector):
        return vector
    values = [_f32(float(x)) for x in vector]
    if distance == "Cosine":
        total = 0.0
        for x in values:
            total = _f32(total + _f32(x * x))
        length = _f32(math.sqrt(total))
        if length >= 1.1920929e-07:
            values = [_f32(x / length) for x in values]
    return [_f32_short(x) for x in values]


def _now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


SNAPSHOT_PEER_ID = 5381970470469335  # this_peer_id in a snapshot's name (a random u64 in real Qdrant)


def _point_order(point):
    pid = point["id"]
    return (0, pid, "") if isinstance(pid, int) and not isinstance(pid, bool) else (1, 0, str(pid))


def _shard_of(point_id, shard_number):
    """The shard a point id hashes to (Qdrant's hash ring, here a stable hash modulo shard_number)."""
    digest = hashlib.sha256(json.dumps(point_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, shard_number)


def _multipart_field(content_type, raw, field):
    """(bytes, file name) of one multipart/form-data field, or None."""
    msg = BytesParser(policy=email_policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == field:
            return part.get_payload(decode=True), part.get_filename()
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (timeouts, TLS failures) are expected in tests; print nothing


@contextlib.contextmanager
def standin_factory():
    """Yield ``make(tls=None, collections=(), **config)``, which starts a configured stand-in (with those
    collections created) and returns it; every stand-in made is stopped on exit. Tests' fixtures wrap this."""
    started = []

    def make(tls=None, collections=(), client_ca=None, **config):
        s = QdrantStandin(config=StandinConfig(**config), tls=tls, client_ca=client_ca).start()
        started.append(s)
        for name in collections:
            s.add_collection(name)
        return s

    try:
        yield make
    finally:
        for s in started:
            s.stop()


class QdrantStandin(LoopbackService):
    """A local Qdrant stand-in. ``tls`` is None (HTTP) or ``(certfile, keyfile)`` (HTTPS)."""

    def __init__(self, config: Optional[StandinConfig] = None, tls=None, host="127.0.0.1", port=0, client_ca=None):
        self.config = config or StandinConfig()
        self.client_ca = client_ca  # with tls: require a client certificate signed by this CA (mTLS)
        self.config_provider: Optional[Callable[[], StandinConfig]] = None
        self.tls = tls
        self.host = host
        self.port = port
        self.requests = []
        self._state = _State()
        # Cluster mode with data (join_cluster): every peer of the cluster, this one included, in ordinal order.
        # Qdrant v1.19.0: a collection is created on every peer through consensus; its points live in shards, each
        # shard on one peer here (shard_number = peers, replication_factor 1); reads (scroll, count, GET
        # collection) gather every shard (lib/collection/src/collection/point_ops.rs), a collection snapshot holds
        # only this peer's local shards (lib/collection/src/collection/snapshots.rs create_snapshot), and a
        # recovery restores only the shards local to this peer, skipping the others
        # (lib/storage/src/content_manager/snapshots/recover.rs _do_recover_from_snapshot).
        self.members = None
        self.netns = None
        self._server = None
        self._thread = None
        self._log_lock = threading.Lock()

    # -- lifecycle
    def start(self):
        """Bind the port at once (so that ``url`` is known) but, like Qdrant's main(), accept connections only
        after ``startup_delay`` seconds of "loading collections": until then a bound socket that does not
        listen refuses every connection."""
        def make():
            return _Server((self.host, self.port), _Handler, bind_and_activate=False)

        # In a network namespace (real_cluster.NetNS): the listening socket is made there, the threads that serve it
        # stay here (they may call the API server on this host's loopback).
        server = self.netns.run_inside(make) if self.netns is not None else make()
        server.standin = self
        try:
            server.server_bind()
        except OSError:
            server.server_close()
            raise
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            if self.client_ca:
                ctx.load_verify_locations(self.client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED  # service.verify_https_client_certificate: true
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._state.started = time.monotonic()
        delay = self.current_config().startup_delay
        if delay > 0:
            self._opener = threading.Timer(delay, self._listen, args=(server,))
            self._opener.daemon = True
            self._opener.start()
            self._server = server
            self.port = server.server_address[1]
            return self
        server.server_activate()
        return self._serve(server, "qdrant-standin", 0.05)

    @property
    def listening(self):
        """False while the stand-in still "loads its collections" (startup_delay): what a readiness probe sees."""
        return self._thread is not None

    def _listen(self, server):
        if self._server is server:
            server.server_activate()
            self._serve(server, "qdrant-standin", 0.05)

    def stop(self):
        opener = getattr(self, "_opener", None)
        if opener is not None:
            opener.cancel()
        server = self._server
        if server is not None and self._thread is None:  # still "loading": never served
            self._server = None
            server.server_close()
            return
        super().stop()

    # -- state helpers for tests
    def current_config(self):
        if self.config_provider is not None:
            return self.config_provider()
        return self.config

    @property
    def collections(self):
        with self._state.lock:
            return sorted(self._state.collections)

    def add_collection(self, name, params=None):
        with self._state.lock:
            self._state.collections.setdefault(name, {"params": params or {}, "points": {}})

    def points(self, name):
        """{id: payload} of a collection (tests observe restores with it)."""
        self.apply_due()
        with self._state.lock:
            coll = self._state.collections.get(name)
            return None if coll is None else dict((k, v.get("payload")) for k, v in coll["points"].items())

    def join_cluster(self, members):
        """Make ``members`` (QdrantStandin list, this one included) one cluster sharing collections."""
        self.members = list(members)

    def shard_owner(self, point_id):
        """The peer holding the shard of a point: a stable hash of the id over the peers (Qdrant's hash ring)."""
        members = self.members or [self]
        return members[_shard_of(point_id, len(members))]

    def effective_params(self, params):
        """CollectionParams as Qdrant reports them: shard_number always set (default: the number of peers in
        cluster mode, 1 on a single node; lib/storage/src/content_manager/toc/create_collection.rs)."""
        out = dict(params or {})
        out.setdefault("shard_number", len(self.members) if self.members else 1)
        return out

    def local_shards(self, name, params):
        """The shards whose replica is on this peer: all of them on a single node; in cluster mode shard i starts
        on peer i (shard_owner) unless a recovery moved it (its "placement")."""
        shard_number = params["shard_number"]
        if not self.members:
            return list(range(shard_number))
        me = self.members.index(self)
        placement = (self._state.collections.get(name) or {}).get("placement") or {}
        return [i for i in range(shard_number) if int(placement.get(str(i), i % len(self.members))) == me]

    def apply_due(self):
        """Apply the Raft proposals (of every peer of the cluster) whose time has come."""
        now = time.monotonic()
        for member in self.members or [self]:
            with member._state.lock:
                due = [p for p in member._state.pending if p[0] <= now]
                member._state.pending = [p for p in member._state.pending if p[0] > now]
            for _t, fn in due:
                fn()

    def _cluster_error(self, cfg):
        with self._state.lock:
            if cfg.cluster_status_errors is not None and self._state.cluster_errors >= cfg.cluster_status_errors:
                return False
            self._state.cluster_errors += 1
            return True

    def cluster_upsert(self, name, points):
        """Store ``points`` in the cluster: the collection on every peer, each point on its shard's peer."""
        for member in self.members or [self]:
            member.add_collection(name, params={"vectors": {"size": 2, "distance": "Cosine"}})
        for p in points:
            self.shard_owner(p["id"]).upsert(name, [p])

    def upsert(self, name, points):
        """Create ``name`` if needed and store ``points`` [{id, vector, payload}]."""
        self.add_collection(name, params={"vectors": {"size": 2, "distance": "Cosine"}})
        with self._state.lock:
            coll = self._state.collections[name]
            for p in points:
                coll["points"][str(p["id"])] = {"id": p["id"], "payload": p.get("payload") or {}}
                coll.setdefault("vectors", {})[str(p["id"])] = p.get("vector")

    def _log(self, method, path, status):
        with self._log_lock:
            self.requests.append((method, path, status))

    def _proxy_not_up(self, cfg):
        """True while the proxy in front still answers 503 (proxy_503_for seconds / proxy_503_requests)."""
        with self._state.lock:
            if cfg.proxy_503_for and time.monotonic() - self._state.started < cfg.proxy_503_for:
                return True
            if self._state.proxy_503 < cfg.proxy_503_requests:
                self._state.proxy_503 += 1
                return True
        return False

    def _is_ready(self, cfg):
        if cfg.ready:
            return True
        with self._state.lock:
            if cfg.ready_after is not None and time.monotonic() - self._state.started >= cfg.ready_after:
                return True
            if cfg.ready_after_requests is not None and self._state.readyz_503 >= cfg.ready_after_requests:
                return True
            self._state.readyz_503 += 1
        return False
