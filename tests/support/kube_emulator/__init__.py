"""In-process Kubernetes API emulator for the tests of peekoff.qdrant.

    emu = KubeEmulator(crd_dir=None, auto_ready=True)
    emu.start(); emu.write_kubeconfig(path)
    ...  # run kubernetes.core / kubectl against it
    emu.stop()

See README.md beside this file.
"""
import base64
import copy
import glob
import os
import re
import secrets
import ssl
import threading
import time

import yaml
from loopback import LoopbackService

from . import schemas
from .cluster import Cluster
from .errors import ApiError
from .server import make_server

__all__ = ["KubeEmulator", "ApiError", "Fault"]


class Fault:
    """Answer (or delay) the next ``count`` requests that match ``method`` and the regex ``path``."""

    def __init__(self, method=None, path=None, status=503, count=1, delay=0.0, body=None, headers=None,
                 retry_after=None, drop=False):
        # drop: close the connection without any answer, as a load balancer or a restarting apiserver does
        # (the client sees http.client.RemoteDisconnected, urllib3 ProtocolError). The request is not processed.
        self.drop = drop
        self.method = method.upper() if method else None
        self.path = re.compile(path) if isinstance(path, str) else path
        self.status = status
        self.remaining = count
        self.delay = delay
        self.body = body
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)
        elif status == 429:
            self.headers.setdefault("Retry-After", "1")
        self.hits = 0

    def matches(self, method, path):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method and self.method != method:
            return False
        if self.path is not None and not self.path.search(path):
            return False
        return True

    def status_body(self):
        if self.body is not None:
            return self.body
        reason, msg = {
            500: ("InternalError", "Internal error occurred: injected fault"),
            502: ("InternalError", "Internal error occurred: injected bad gateway"),
            503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be "
                             "processing the request"),
            429: ("TooManyRequests", "the server has received too many requests and has asked us to try again "
                                     "later"),
            409: ("Conflict", "Operation cannot be fulfilled: injected conflict"),
        }.get(self.status, ("InternalError", "injected fault"))
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": msg,
                "reason": reason, "details": {}, "code": self.status}

    def response_headers(self):
        return self.headers


class _Backend:
    def __init__(self, url, ready):
        self.url = url
        self.ready = ready

    def available(self):
        return bool(self.ready())


class KubeEmulator(LoopbackService):
    """A threaded HTTP(S) server on 127.0.0.1 speaking enough of the Kubernetes API."""

    def __init__(self, crd_dir=None, auto_ready=True, tls=True, token=None, host="127.0.0.1", port=0,
                 default_storage_class="standard", allow_volume_expansion=True, strict_fields=True,
                 namespace_deletion_delay=0.3):
        self.cluster = Cluster(auto_ready=auto_ready, default_storage_class=default_storage_class,
                               allow_volume_expansion=allow_volume_expansion, strict_fields=strict_fields,
                               namespace_deletion_delay=namespace_deletion_delay)
        self.token = token or secrets.token_hex(16)
        self.host = host
        self.port = port
        self.tls = tls
        self.requests = []
        self._faults = []
        self._backends = {}
        self._pod_backends = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self.ca = None
        self.ca_pem = None
        if crd_dir:
            self.install_crds_from_dir(crd_dir)

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        self._server = make_server(self, self.host, self.port)
        if self.tls:
            import trustme
            self.ca = trustme.CA()
            cert = self.ca.issue_cert("127.0.0.1", "localhost")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(ctx)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            self.ca_pem = self.ca.cert_pem.bytes()
        return self._serve(self._server, "kube-emulator", 0.1)

    def stop(self):
        self._stopping.set()  # ends long-running watches before the server shuts down
        super().stop()

    def kubeconfig(self, context="emulator", namespace=None):
        cluster = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        ctx = {"cluster": context, "user": context}
        if namespace:
            ctx["namespace"] = namespace
        return {"apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
                "clusters": [{"name": context, "cluster": cluster}],
                "contexts": [{"name": context, "context": ctx}],
                "users": [{"name": context, "user": {"token": self.token}}]}

    def write_kubeconfig(self, path, context="emulator", namespace=None):
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            yaml.safe_dump(self.kubeconfig(context, namespace), fh, default_flow_style=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return path

    def version_info(self):
        major, minor, patch = schemas.KUBE_VERSION.split(".")
        return {"major": major, "minor": minor, "gitVersion": "v%s" % schemas.KUBE_VERSION,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc",
                "platform": "linux/amd64", "emulator": "kube_emulator"}

    # ------------------------------------------------------------------ request log and faults
    def _record(self, method, path, query):
        with self._lock:
            self.requests.append((method, path, query))

    def reset_requests(self):
        with self._lock:
            self.requests.clear()

    def count_requests(self, method=None, path=None):
        rx = re.compile(path) if path else None
        return sum(1 for m, p, _q in list(self.requests)
                   if (method is None or m == method.upper()) and (rx is None or rx.search(p)))

    def inject_fault(self, method=None, path=None, status=503, count=1, delay=0.0, body=None, headers=None,
                     retry_after=None, drop=False):
        """The next ``count`` (None = unlimited) requests matching method and path regex answer ``status``
        (None: only delayed by ``delay`` seconds, then served normally; ``drop=True``: the connection is closed
        without an answer). Returns the Fault."""
        f = Fault(method, path, status, count, delay, body, headers, retry_after, drop)
        with self._lock:
            self._faults.append(f)
        return f

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method, path):
        with self._lock:
            for f in self._faults:
                if f.matches(method, path):
                    if f.remaining is not None:
                        f.remaining -= 1
                    f.hits += 1
                    return f
        return None

    # ------------------------------------------------------------------ object access for tests
    def _rt(self, api_version, kind):
        rt = self.cluster.type_for(api_version, kind)
        if rt is None:
            raise KeyError("no resource type %s %s is served" % (api_version, kind))
        return rt

    def get(self, api_version, kind, namespace, name):
        try:
            return self.cluster.get(self._rt(api_version, kind), namespace, name)
        except ApiError:
            return None

    def list(self, api_version, kind, namespace=None, label_selector=None):
        return self.cluster.list(self._rt(api_version, kind), namespace, label_selector)["items"]

    def create_object(self, obj, validate=True):
        """Create through admission (validate=True) like a client would, or store it as is (seed)."""
        rt = self._rt(obj["apiVersion"], obj["kind"])
        ns = (obj.get("metadata") or {}).get("namespace")
        if rt.namespaced and not ns:
            ns = "default"
            obj = copy.deepcopy(obj)
            obj["metadata"]["namespace"] = ns
        if validate:
            return self.cluster.create(rt, ns, copy.deepcopy(obj))[0]
        return self.cluster.seed(rt, obj)

    def delete_object(self, api_version, kind, namespace, name):
        return self.cluster.delete(self._rt(api_version, kind), namespace, name)

    def set_status(self, api_version, kind, namespace, name, status, merge=True):
        return self.cluster.set_status(self._rt(api_version, kind), namespace, name, status, merge)

    def mark_ready(self, api_version, kind, namespace, name):
        return self.cluster.mark_ready(self._rt(api_version, kind), namespace, name)

    @property
    def auto_ready(self):
        return self.cluster.auto_ready

    @auto_ready.setter
    def auto_ready(self, value):
        self.cluster.auto_ready = value

    # ------------------------------------------------------------------ CRDs
    def install_crds_from_dir(self, crd_dir):
        files = sorted(glob.glob(os.path.join(crd_dir, "*.yaml")) + glob.glob(os.path.join(crd_dir, "*.yml")) +
                       glob.glob(os.path.join(crd_dir, "*.json")))
        names = []
        for f in files:
            with open(f, encoding="utf-8") as fh:
                for doc in yaml.safe_load_all(fh):
                    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                        names.append(self.install_crd(doc))
        if not names:
            raise FileNotFoundError("no CustomResourceDefinition found in %s" % crd_dir)
        return names

    def install_crd(self, crd):
        rt = self._rt("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        name = crd["metadata"]["name"]
        with self.cluster.lock:
            if self.cluster.objects.get(self.cluster.key(rt, None, name)) is None:
                self.cluster.create(rt, None, copy.deepcopy(crd))
            else:
                body = copy.deepcopy(crd)
                body["metadata"].pop("resourceVersion", None)
                self.cluster.update(rt, None, name, body)
        return name

    # ------------------------------------------------------------------ service proxy backends
    def register_service_backend(self, namespace, service, port, url, ready=None):
        """Requests to /api/v1/namespaces/<ns>/services/<service>:<port>/proxy/... go to ``url``.

        ``ready`` (callable -> bool) decides whether the Service has endpoints; by default it has them when a
        Ready pod (made by the emulated controllers for a ready Deployment/StatefulSet) matches its selector.
        """
        if ready is None:
            def ready():
                return self.cluster.service_has_endpoints(namespace, service)
        with self._lock:
            self._backends[(namespace, service, int(port))] = _Backend(url, ready)

    def unregister_service_backend(self, namespace, service, port):
        with self._lock:
            self._backends.pop((namespace, service, int(port)), None)

    def _backend_for(self, namespace, service, port):
        with self._lock:
            return self._backends.get((namespace, service, int(port) if port is not None else None))

    # ------------------------------------------------------------------ pod proxy backends
    def register_pod_backend(self, namespace, pod, port, url, ready=None):
        """Requests to /api/v1/namespaces/<ns>/pods/[<scheme>:]<pod>:<port>/proxy/... go to ``url`` (the pod must
        exist and have an IP, as for kube-apiserver). ``ready`` (callable -> bool): whether something listens on
        the port; False (or no backend) answers as a refused connection does."""
        with self._lock:
            self._pod_backends[(namespace, pod, str(port))] = _Backend(url, ready or (lambda: True))

    def unregister_pod_backend(self, namespace, pod, port):
        with self._lock:
            self._pod_backends.pop((namespace, pod, str(port)), None)

    def _pod_backend_for(self, namespace, pod, port):
        with self._lock:
            return self._pod_backends.get((namespace, pod, str(port)))

    def wait_for(self, predicate, timeout=10.0, interval=0.05):
        end = time.time() + timeout
        while time.time() < end:
            if predicate():
                return True
            time.sleep(interval)
        return False
