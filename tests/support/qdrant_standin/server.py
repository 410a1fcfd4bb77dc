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
from urllib.parse import urlsplit

from loopback import LoopbackService

JWT_LEEWAY = 30  # seconds, as Qdrant's JwtParser

TEXT_NO_CREDENTIAL = "Must provide an API key or an Authorization bearer token"
TEXT_WRONG_CREDENTIAL = "Invalid API key or JWT"
MSG_GLOBAL_MANAGE = "Forbidden: Global manage access is required"
MSG_GLOBAL_ACCESS = "Forbidden: Global access is required"


@dataclasses.dataclass
class StandinConfig:
    """How the stand-in is configured, plus switches that make it misbehave for tests."""

    api_key: Optional[str] = None
    read_only_api_key: Optional[str] = None
    jwt_rbac: bool = False
    version: str = "1.19.0"
    commit: str = "0000000000000000000000000000000000000000"
    # --- misbehaviour switches (a real, correctly configured Qdrant never does these) ---
    auth_disabled: bool = False          # keys configured but nothing is checked: every request is allowed
    accept_any_key: bool = False         # any non-empty credential is taken as the full key
    read_only_can_write: bool = False    # the read-only key gets manage rights
    ready: bool = True                   # False: /readyz answers 503 ...
    ready_after: Optional[float] = None  # ... until this many seconds after start() ...
    ready_after_requests: Optional[int] = None  # ... or until this many /readyz requests were answered 503
    delay: float = 0.0                   # seconds to wait before answering any request
    redirect_to: Optional[str] = None    # answer every request with a redirect to this base URL + path
    redirect_status: int = 302
    non_json: bool = False               # endpoints that answer JSON answer an HTML page instead
    jwt_leeway: int = JWT_LEEWAY         # seconds of grace after exp (a huge value accepts expired tokens)
    jwt_ignore_signature: bool = False   # accept tokens whatever secret signed them
    jwt_ignore_access: bool = False      # every valid token gets manage rights, whatever its access claim


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
    """What a credential may do: kind is 'manage', 'read' or 'collections' (with rights {name: 'r'|'rw'})."""

    def __init__(self, kind, rights=None):
        self.kind = kind
        self.rights = rights or {}

    def can_read_collection(self, name):
        return self.kind in ("manage", "read") or name in self.rights

    def can_write_collection(self, name):
        return self.kind == "manage" or self.rights.get(name) == "rw"


def _decode_jwt(token, secret, leeway=JWT_LEEWAY, check_signature=True):
    """Return the claims, None when the token is not usable as a JWT (-> 401), or raise AuthFailure(403)."""
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
        raise AuthFailure(403, "Forbidden: InvalidSignature")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return None  # Qdrant treats a token without a usable exp as not a valid JWT
    if time.time() > exp + leeway:
        raise AuthFailure(403, "Forbidden: ExpiredSignature")
    return claims


def _access_from_claims(claims):
    if "value_exists" in claims:
        # Not modelled: the stand-in stores no points for stateful validation.
        raise AuthFailure(401, "Unauthorized: Invalid JWT, stateful validation failed")
    if "access" not in claims:
        return Access("manage")
    access = claims["access"]
    if access == "m":
        return Access("manage")
    if access == "r":
        return Access("read")
    if isinstance(access, list):
        rights = {}
        for item in access:
            if (not isinstance(item, dict) or not isinstance(item.get("collection"), str)
                    or item.get("access") not in ("r", "rw")):
                return None
            rights[item["collection"]] = item["access"]
        return Access("collections", rights)
    return None


# ------------------------------------------------------------------------------------------- routing

OPEN = "open"                    # no key needed
AUTHENTICATED = "authenticated"  # any valid credential (answers are filtered by access)
GLOBAL_READ = "global_read"
GLOBAL_MANAGE = "global_manage"
COLLECTION_READ = "collection_read"
COLLECTION_WRITE = "collection_write"


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
    Route("PUT", "/collections/{name}/index", COLLECTION_WRITE, "h_write_ack"),
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
        self.operation_id = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "qdrant-standin"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass  # never print anything (header values included) to stderr

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
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.standin._log(self.command, self._path, status)

    def _text(self, status, text):
        self._send(status, text, "text/plain; charset=utf-8")

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
        authz = self.headers.get("Authorization")
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
            if claims is not None:
                access = _access_from_claims(claims)
                if access is not None and cfg.jwt_ignore_access:
                    access = Access("manage")
                if access is not None:
                    return access
        raise AuthFailure(401, TEXT_WRONG_CREDENTIAL)

    def _authorize(self, access, requirement, params):
        """Return None when allowed, else the 403 message."""
        if access is None or requirement in (OPEN, AUTHENTICATED):
            return None
        name = params.get("name")
        if requirement == GLOBAL_MANAGE:
            return None if access.kind == "manage" else MSG_GLOBAL_MANAGE
        if requirement == GLOBAL_READ:
            return None if access.kind in ("manage", "read") else MSG_GLOBAL_ACCESS
        if requirement == COLLECTION_READ:
            if access.can_read_collection(name):
                return None
            return "Forbidden: Access to collection {0} is required".format(name)
        if requirement == COLLECTION_WRITE:
            if access.can_write_collection(name):
                return None
            if access.can_read_collection(name):
                return "Forbidden: Write access to collection {0} is required".format(name)
            return "Forbidden: Access to collection {0} is required".format(name)
        raise AssertionError(requirement)

    # -- dispatch
    def _dispatch(self):
        self._path = urlsplit(self.path).path or "/"
        self.cfg = self.standin.current_config()
        self.query = urlsplit(self.path).query
        if self.cfg.delay:
            time.sleep(self.cfg.delay)
        if self.cfg.redirect_to:
            location = self.cfg.redirect_to.rstrip("/") + self.path
            self._send(self.cfg.redirect_status, "", "text/plain", {"Location": location})
            return
        route, params = _match(self.command, self._path)
        requirement = route.requirement if isinstance(route, Route) else AUTHENTICATED
        if requirement != OPEN:
            try:
                self.access = self._authenticate()
            except AuthFailure as e:
                self._text(e.status, e.text)
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

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    # -- handlers: open
    def h_root(self):
        self._json(200, {"title": "qdrant - vector search engine", "version": self.cfg.version,
                         "commit": self.cfg.commit})

    def h_health(self):
        self._text(200, "healthz check passed")

    def h_readyz(self):
        if self.standin._is_ready(self.cfg):
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
        with self.standin._state.lock:
            coll = self.standin._state.collections.get(name)
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
            self.standin._state.collections[name] = {"params": body, "points": {}}
        self._ok(True)

    def h_update_collection(self, name):
        if name not in self.standin._state.collections:
            return self._missing(name)
        self._ok(True)

    def h_delete_collection(self, name):
        with self.standin._state.lock:
            existed = self.standin._state.collections.pop(name, None) is not None
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
        with self.standin._state.lock:
            for p in body["points"]:
                coll["points"][str(p.get("id"))] = {"id": p.get("id"), "payload": p.get("payload") or {}}
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
        self._body()
        coll = self.standin._state.collections.get(name)
        if coll is None:
            return self._missing(name)
        points = list(coll["points"].values())
        kind = self._path.rsplit("/", 1)[-1]
        if self._path.endswith("/points/count"):
            return self._ok({"count": len(points)})
        if self._path.endswith("/points/scroll"):
            return self._ok({"points": points, "next_page_offset": None})
        if self._path.endswith("/points/query"):
            return self._ok({"points": [dict(p, score=1.0, version=0) for p in points]})
        if kind in ("batch", "groups", "pairs", "offsets"):
            return self._ok([])
        if self._path.endswith("/facet"):
            return self._ok({"hits": []})
        self._ok([dict(p, score=1.0, version=0) for p in points])


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

    def make(tls=None, collections=(), **config):
        s = QdrantStandin(config=StandinConfig(**config), tls=tls).start()
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

    def __init__(self, config: Optional[StandinConfig] = None, tls=None, host="127.0.0.1", port=0):
        self.config = config or StandinConfig()
        self.config_provider: Optional[Callable[[], StandinConfig]] = None
        self.tls = tls
        self.host = host
        self.port = port
        self.requests = []
        self._state = _State()
        self._server = None
        self._thread = None
        self._log_lock = threading.Lock()

    # -- lifecycle
    def start(self):
        server = _Server((self.host, self.port), _Handler)
        server.standin = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._state.started = time.monotonic()
        return self._serve(server, "qdrant-standin", 0.05)

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

    def _log(self, method, path, status):
        with self._log_lock:
            self.requests.append((method, path, status))

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
