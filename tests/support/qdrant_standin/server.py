"""Implementation of the Qdrant stand-in (see the package docstring and ../shared/qdrant-facts.md)."""
import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import re
import ssl
import threading
import time
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
# Claims::validate -> Access::validate (lib/storage/src/rbac/mod.rs), answered with 401; the messages are the
# ValidationError messages there, the "access: " prefix approximates the validator crate's rendering
TEXT_PAYLOAD_DEPRECATED = "access: The 'payload' constraint is deprecated and should not be used"
TEXT_DUPLICATE_COLLECTION = "access: Collection name should be unique"
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
        for item in access:
            if (not isinstance(item, dict) or not isinstance(item.get("collection"), str)
                    or item.get("access") not in ("r", "rw", "prw")):
                return None
            if item.get("payload") is not None:
                raise AuthFailure(401, TEXT_PAYLOAD_DEPRECATED)  # validate_payload_empty
            if item["collection"] in rights:
                raise AuthFailure(401, TEXT_DUPLICATE_COLLECTION)  # validate_unique_collections
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
        ro_key = cfg.read_only_api_key or None
        if cfg.auth_disabled or (api_key is None and ro_key is None):
            return None
        key = self._credential()
        if key is None:
            raise AuthFailure(401, TEXT_NO_CREDENTIAL)
        if cfg.accept_any_key and key:
            return Access("manage")
        if api_key is not None and hmac.compare_digest(key.encode(), api_key.encode()):
            return Access("manage")
        if ro_key is not None and hmac.compare_digest(key.encode(), ro_key.encode()):
            return Access("manage" if cfg.read_only_can_write else "read")
        if cfg.jwt_rbac and api_key is not None:
            claims = _decode_jwt(key, api_key, leeway=cfg.jwt_leeway, check_signature=not cfg.jwt_ignore_signature)
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
            self._send(404, "", "text/plain")
            return
        if route == "method":
            self._send(405, "", "text/plain")
            return
        denied = self._authorize(self.access, requirement, params)
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
        me = peer_ids[0]
        leader = None if cfg.cluster_no_leader else me
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
                          "leader": leader, "role": "Candidate" if leader is None else "Leader", "is_voter": True},
            "consensus_thread_status": thread,
            "message_send_failures": failures,
        })

    # -- cluster mode with data: the peers sharing collections (QdrantStandin.join_cluster)
    @property
    def _members(self):
        return self.standin.members or [self.standin]

    def _gathered(self, name):
        """All points and vectors of a collection over every peer's local shards (None when it is missing here)."""
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
            info = {"status": "green", "optimizer_status": "ok", "points_count": len(coll["points"]),
                    "segments_count": 1, "config": {"params": coll["params"]}, "payload_schema": {}}
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
        for member in self._members:  # through consensus: on every peer
            with member._state.lock:
                member._state.collections.setdefault(name, {"params": body, "points": {}})
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
            data = json.dumps({"format": "qdrant-standin-snapshot", "collection": name, "created": now,
                               "params": coll["params"], "points": list(coll["points"].values()),
                               "vectors": coll.get("vectors") or {}}, sort_keys=True).encode()
            stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
            peer = self.standin.members.index(self.standin) if self.standin.members else 0
            snap_name = "{0}-{1}-{2}.snapshot".format(name, SNAPSHOT_PEER_ID + peer, stamp)
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
            return self._error(404, "Not found: Snapshot {0} not found".format(snapshot))
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
        """upload_snapshot: multipart field ``snapshot``; with ``checksum`` the sha256 of the upload must match
        (StorageError::checksum_mismatch(computed, given): 400 "Checksum mismatch: expected <computed>, actual
        <given>"); then the collection is recovered from it (created if missing, its data replaced). Answers
        ``result: true``."""
        query = parse_qs(self.query)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = _multipart_field(self.headers.get("Content-Type", ""), raw, "snapshot")
        if data is None:
            return self._error(400, "Bad request: multipart field `snapshot` is missing")
        given = (query.get("checksum") or [None])[0]
        if given is not None:
            computed = hashlib.sha256(data).hexdigest()
            if computed != given.lower():
                return self._error(400, "Checksum mismatch: expected {0}, actual {1}".format(computed, given))
        try:
            doc = json.loads(data)
            if doc.get("format") != "qdrant-standin-snapshot":
                raise ValueError
        except (ValueError, AttributeError):
            return self._error(500, "Service internal error: failed to unpack snapshot: not a snapshot archive")
        points = dict((str(p["id"]), p) for p in doc.get("points") or [])
        if self.standin.members:
            # a missing collection is created on every peer with the snapshot's config; then only the shards local
            # to this peer are restored from the snapshot, the others skipped (recover.rs)
            for member in self.standin.members:
                if member is not self.standin:
                    with member._state.lock:
                        member._state.collections.setdefault(name, {"params": doc.get("params") or {}, "points": {}})
            points = dict((k, p) for k, p in points.items() if self.standin.shard_owner(p["id"]) is self.standin)
        with self.standin._state.lock:
            self.standin._state.collections[name] = {
                "params": doc.get("params") or {},
                "points": points,
                "vectors": dict((k, v) for k, v in (doc.get("vectors") or {}).items() if k in points)}
            self.standin._state.restores.append((name, (query.get("priority") or [None])[0]))
        self._ok(True)


SNAPSHOT_PEER_ID = 5381970470469335  # this_peer_id in a snapshot's name (a random u64 in real Qdrant)


def _point_order(point):
    pid = point["id"]
    return (0, pid, "") if isinstance(pid, int) and not isinstance(pid, bool) else (1, 0, str(pid))


def _multipart_field(content_type, raw, field):
    """The bytes of one multipart/form-data field, or None."""
    msg = BytesParser(policy=email_policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == field:
            return part.get_payload(decode=True)
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
        with self._state.lock:
            coll = self._state.collections.get(name)
            return None if coll is None else dict((k, v.get("payload")) for k, v in coll["points"].items())

    def join_cluster(self, members):
        """Make ``members`` (QdrantStandin list, this one included) one cluster sharing collections."""
        self.members = list(members)

    def shard_owner(self, point_id):
        """The peer holding the shard of a point: a stable hash of the id over the peers (Qdrant's hash ring)."""
        members = self.members or [self]
        digest = hashlib.sha256(json.dumps(point_id).encode()).digest()
        return members[int.from_bytes(digest[:8], "big") % len(members)]

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
