"""A real Kubernetes control plane for the tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok (one fake node), all from the binary that scripts/build-control-plane.sh builds (tests/support/control_plane),
with the Qdrant stand-in answering as the pods through the API server's real service and pod proxy.

    python tests/support/real_cluster.py start  --state-dir DIR
    python tests/support/real_cluster.py status --state-dir DIR
    python tests/support/real_cluster.py stop   --state-dir DIR

``start`` launches one detached background process that holds the whole cluster, waits until it answers, and writes
``DIR/kubeconfig`` (cluster admin), ``DIR/deployer.kubeconfig`` (the ServiceAccount of docs/rbac/qdrant-deployer.yaml)
and ``DIR/env.json``. In-process (pytest): ``RealCluster(workdir).start()`` ... ``.stop()``.

What runs (see docs/real-control-plane.md):
- etcd on 127.0.0.1 (free ports, no fsync: test data), kube-apiserver on 127.0.0.1 (serving certificate of a local
  CA, a static admin token, ServiceAccount keys, authorization RBAC,Node), kube-controller-manager (the controllers
  in CONTROLLERS) and kube-scheduler, each with a free port or none.
- kwok manages one Node (``kcp-node``, spec.podCIDR POD_CIDR): scheduled pods become Running and Ready with an IP of
  that CIDR; kwok's own default Stages (``kcp kwok-stages``).
- A default StorageClass (``kubernetes.io/no-provisioner``, binding Immediate) and static PersistentVolumes, so the
  PV controller binds claims (ours and a StatefulSet's volumeClaimTemplates).
- The CRDs of crds.crd_dir() (HTTPRoute, GRPCRoute, ExternalSecret, ServiceMonitor).
- A network namespace of our own (``kcp-<n>``) behind a veth pair; the pod CIDR is routed into it and, inside,
  ``ip route add local <podCIDR> dev lo`` makes one socket answer every pod IP. The stand-in's listening socket is
  made inside that namespace (the rest of the stand-in runs here and reads the workload's env and Secret from the
  API server), so the API server's proxy, which refuses loopback addresses, reaches it at the pod IPs. Only
  addresses inside that namespace and on its veth are used. Needs root (ip netns).
"""
import argparse
import atexit
import base64
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import detached  # noqa: E402 - tests/support, put on sys.path just above

ADMIN_USER = "kcp-admin"
NODE_NAME = "kcp-node"
SERVICE_CIDR = "10.96.0.0/24"
CONTROLLERS = ",".join([
    "serviceaccount-token-controller", "serviceaccount-controller", "root-ca-certificate-publisher-controller",
    "namespace-controller", "garbage-collector-controller", "deployment-controller", "replicaset-controller",
    "statefulset-controller", "disruption-controller", "endpoints-controller", "endpointslice-controller",
    "pod-garbage-collector-controller", "persistentvolume-binder-controller",
    "persistentvolumeclaim-protection-controller", "persistentvolume-protection-controller",
    "clusterrole-aggregation-controller",
])
STORAGE_CLASS = "kcp-local"
PV_COUNT = 16
PV_SIZE = "1Ti"
QDRANT_PORTS = (6333,)  # the stand-in answers the pods' HTTP port
DEPLOYER_RBAC = os.path.join(ROOT, "docs", "rbac", "qdrant-deployer.yaml")

# Resource paths of the kinds this launcher writes (group/version, plural, namespaced).
_KINDS = {
    "Namespace": ("v1", "namespaces", False), "ServiceAccount": ("v1", "serviceaccounts", True),
    "Node": ("v1", "nodes", False), "PersistentVolume": ("v1", "persistentvolumes", False),
    "Secret": ("v1", "secrets", True),
    "StorageClass": ("storage.k8s.io/v1", "storageclasses", False),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", "rolebindings", True),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
}


def log(msg):
    sys.stderr.write("[real-cluster] %s\n" % msg)
    sys.stderr.flush()


def build_binary():
    """The kcp binary: $KCP_BINARY, or what scripts/build-control-plane.sh builds (cached; warm: no build)."""
    if os.environ.get("KCP_BINARY"):
        return os.environ["KCP_BINARY"]
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-control-plane.sh")], check=True,
                         stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*cmd, check=True):
    return subprocess.run([str(c) for c in cmd], check=check, capture_output=True, text=True)


# ---------------------------------------------------------------------------------------------- certificates
def make_pki(d, san_ips):
    """A CA, the API server's serving certificate (SANs: 127.0.0.1, localhost, the kubernetes Service names and
    ``san_ips``) and the ServiceAccount signing key pair, with openssl; EC P-256 throughout (fast to make)."""
    os.makedirs(d, exist_ok=True)

    def p(name):
        return os.path.join(d, name)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _run("openssl", "req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "3650",
         "-subj", "/CN=kcp-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _run("openssl", "req", *ec, "-keyout", p("apiserver.key"), "-out", p("apiserver.csr"), "-subj", "/CN=kube-apiserver")
    sans = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1"] + ["IP:%s" % ip for ip in san_ips]
    with open(p("apiserver.ext"), "w") as fh:
        fh.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n" % ",".join(sans))
    _run("openssl", "x509", "-req", "-in", p("apiserver.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-out", p("apiserver.crt"), "-days", "3650", "-extfile", p("apiserver.ext"))
    _run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("sa.key"))
    _run("openssl", "ec", "-in", p("sa.key"), "-pubout", "-out", p("sa.pub"))
    return p


def write_kubeconfig(path, server, ca_file, token, user):
    with open(ca_file, "rb") as fh:
        ca = base64.b64encode(fh.read()).decode()
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "kcp",
           "clusters": [{"name": "kcp", "cluster": {"server": server, "certificate-authority-data": ca}}],
           "users": [{"name": user, "user": {"token": token}}],
           "contexts": [{"name": "kcp", "context": {"cluster": "kcp", "user": user}}]}
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2)  # JSON is YAML: every client reads it
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------------- API client
class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %s: %s" % (status, body[:500]))
        self.status = status
        self.body = body


class Api:
    """A minimal client of the API server (JSON over HTTPS, bearer token)."""

    def __init__(self, url, ca_file, token):
        self.url = url
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca_file)

    def request(self, method, path, body=None, content_type="application/json", timeout=30):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ctx) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode(errors="replace"))
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def get(self, path, default=None):
        try:
            return self.request("GET", path)
        except ApiError as e:
            if e.status == 404:
                return default
            raise

    @staticmethod
    def path(api_version, kind, name=None, namespace=None):
        gv, plural, namespaced = _KINDS[kind]
        if gv != api_version:
            raise ValueError("%s is %s here, not %s" % (kind, gv, api_version))
        base = "/api/v1" if gv == "v1" else "/apis/" + gv
        if namespaced:
            base += "/namespaces/" + (namespace or "default")
        base += "/" + plural
        return base + ("/" + name if name else "")

    def apply(self, obj, manager="kcp-test-setup"):
        """Server-side apply (creates or updates) of one object of a kind in _KINDS."""
        meta = obj["metadata"]
        path = self.path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        return self.request("PATCH", path + "?fieldManager=%s&force=true" % manager, json.dumps(obj).encode(),
                            content_type="application/apply-patch+yaml")


# ---------------------------------------------------------------------------------------------- network namespace
class NetNS:
    """Our own network namespace ``kcp-<n>``: a veth pair (host 10.201.<n>.1/30, inside 10.201.<n>.2/30), the pod
    CIDR 10.200.<n>.0/24 routed into it, and answered there by ``ip route add local <podCIDR> dev lo``."""

    def __init__(self):
        self.name = None
        self.index = None

    def create(self):
        if os.geteuid() != 0:
            raise RuntimeError("the real control plane needs root for its network namespace (ip netns)")
        start = os.getpid() % 200 + 20
        for k in range(200):
            n = (start + k) % 200 + 20
            # ip netns add fails when the name is taken: that claims the index atomically between parallel runs.
            if _run("ip", "netns", "add", "kcp-%d" % n, check=False).returncode == 0:
                self.name, self.index = "kcp-%d" % n, n
                break
        else:
            raise RuntimeError("no free kcp-<n> network namespace (ip netns list)")
        n = self.index
        host_if, ns_if = "kcph%d" % n, "kcpn%d" % n
        try:
            _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", self.name)
            _run("ip", "addr", "add", "%s/30" % self.host_ip, "dev", host_if)
            _run("ip", "link", "set", host_if, "up")
            _run("ip", "-n", self.name, "addr", "add", "%s/30" % self.node_ip, "dev", ns_if)
            _run("ip", "-n", self.name, "link", "set", ns_if, "up")
            _run("ip", "-n", self.name, "link", "set", "lo", "up")
            _run("ip", "-n", self.name, "route", "add", "local", self.pod_cidr, "dev", "lo")
            _run("ip", "route", "add", self.pod_cidr, "via", self.node_ip, "dev", host_if)
        except subprocess.CalledProcessError as e:
            self.delete()
            raise RuntimeError("network namespace set-up failed: %s %s" % (" ".join(e.cmd), e.stderr))
        return self

    @property
    def host_ip(self):
        return "10.201.%d.1" % self.index

    @property
    def node_ip(self):
        return "10.201.%d.2" % self.index

    @property
    def pod_cidr(self):
        return "10.200.%d.0/24" % self.index

    def run_inside(self, fn):
        """``fn()`` on a thread that has entered the namespace (sockets it makes live there); its result."""
        box = {}

        def target():
            try:
                with open("/run/netns/" + self.name) as fh:
                    os.setns(fh.fileno(), os.CLONE_NEWNET)
                box["result"] = fn()
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                box["error"] = e

        t = threading.Thread(target=target, name="netns-" + self.name)
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def delete(self):
        if self.name:
            # Deleting the namespace removes the veth pair and with it the host's route.
            _run("ip", "netns", "del", self.name, check=False)
            self.name = None


# ---------------------------------------------------------------------------------------------- the stand-in
ENV_API_KEY = "QDRANT__SERVICE__API_KEY"
ENV_RO_KEY = "QDRANT__SERVICE__READ_ONLY_API_KEY"
ENV_JWT = "QDRANT__SERVICE__JWT_RBAC"
ENV_CLUSTER = "QDRANT__CLUSTER__ENABLED"


class Unresolvable(Exception):
    """The pod's env cannot be built (missing Secret/key): a real pod would not start."""


def _truthy(v):
    return str(v).strip().lower() in ("true", "1", "yes", "on")


class PodConfig:
    """The stand-in's StandinConfig as the pods of the Deployment (or, in cluster mode, the StatefulSet) ``qdrant``
    would see it, read from the real API server: the container env with its Secret/ConfigMap references resolved,
    read again whenever the set of pods changes (like a real pod, a Secret change alone is seen only when the pods
    are replaced)."""

    def __init__(self, api, namespace="qdrant", name="qdrant", version="1.19.0"):
        self.api = api
        self.namespace = namespace
        self.name = name
        self.version = version
        self._cache_key = None
        self._cache = None
        self._lock = threading.Lock()

    def _workload(self):
        ns = self.namespace
        return (self.api.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, self.name))
                or self.api.get("/apis/apps/v1/namespaces/%s/statefulsets/%s" % (ns, self.name)))

    def _pods(self, workload):
        labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join("%s=%s" % kv for kv in sorted(labels.items()))
        query = urllib.parse.quote(selector)
        pods = self.api.get("/api/v1/namespaces/%s/pods?labelSelector=%s" % (self.namespace, query))
        return [p for p in (pods or {}).get("items") or [] if not p["metadata"].get("deletionTimestamp")]

    def _resolve(self, container):
        out = {}
        for e in container.get("env") or []:
            if "value" in e:
                out[e["name"]] = e.get("value")
                continue
            vf = e.get("valueFrom") or {}
            for ref_kind, plural in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
                ref = vf.get(ref_kind)
                if not ref:
                    continue
                obj = self.api.get("/api/v1/namespaces/%s/%s/%s" % (self.namespace, plural, ref.get("name")))
                data = (obj or {}).get("data") or {}
                if ref.get("key") not in data:
                    if ref.get("optional"):
                        break
                    raise Unresolvable("%s %s key %s" % (plural, ref.get("name"), ref.get("key")))
                val = data[ref["key"]]
                out[e["name"]] = base64.b64decode(val).decode() if plural == "secrets" else val
        return out

    def snapshot(self):
        """(env, workload, pods); env {} when there is no workload or its env cannot be resolved."""
        workload = self._workload()
        if workload is None:
            return {}, None, []
        pods = self._pods(workload)
        key = (workload["metadata"]["uid"], tuple(sorted(p["metadata"]["uid"] for p in pods)))
        with self._lock:
            if key == self._cache_key:
                return self._cache, workload, pods
        env = {}
        try:
            for c in (((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
                env.update(self._resolve(c))
        except Unresolvable:
            env = {}
        with self._lock:
            self._cache_key, self._cache = key, env
        return env, workload, pods

    def config(self):
        from qdrant_standin import StandinConfig
        env, workload, pods = self.snapshot()
        cluster = {}
        if _truthy(env.get(ENV_CLUSTER, "false")):
            cluster = {"cluster_mode": True, "cluster_peers": len(pods)}
        version = self.version
        for c in (((workload or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
            m = re.search(r":v?([0-9]+\.[0-9]+\.[0-9]+)", c.get("image") or "")
            if c.get("name") == "qdrant" and m:
                version = m.group(1)
        return StandinConfig(api_key=env.get(ENV_API_KEY) or None, read_only_api_key=env.get(ENV_RO_KEY) or None,
                             jwt_rbac=_truthy(env.get(ENV_JWT, "false")), version=version, **cluster)


# ---------------------------------------------------------------------------------------------- the cluster
class RealCluster:
    """The control plane, the fake node, storage, CRDs, the network namespace and the stand-in, in ``workdir``."""

    def __init__(self, workdir, binary=None, namespace="qdrant", crd_directory=None):
        self.workdir = os.path.abspath(str(workdir))
        self.binary = binary
        self.namespace = namespace
        self.crd_directory = crd_directory
        self.procs = {}
        self.netns = NetNS()
        self.standin = None
        self.pod_config = None
        self.api = None
        self.timings = {}

    # -- processes
    def _spawn(self, name, *args):
        logf = open(os.path.join(self.workdir, name + ".log"), "ab")
        proc = subprocess.Popen([self.binary, name] + [str(a) for a in args], stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        logf.close()
        self.procs[name] = proc
        return proc

    def _log_tail(self, name, n=3000):
        try:
            with open(os.path.join(self.workdir, name + ".log"), encoding="utf-8", errors="replace") as fh:
                return fh.read()[-n:]
        except OSError:
            return ""

    def _wait(self, what, probe, timeout=60, procs=()):
        deadline = time.monotonic() + timeout
        while True:
            for name in procs:
                if self.procs[name].poll() is not None:
                    raise RuntimeError("%s exited with %s while waiting for %s:\n%s"
                                       % (name, self.procs[name].returncode, what, self._log_tail(name)))
            try:
                if probe():
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("timed out after %ss waiting for %s (logs in %s)" % (timeout, what, self.workdir))
            time.sleep(0.2)

    def _mark(self, what, t0):
        self.timings[what] = round(time.monotonic() - t0, 2)

    def start(self):
        t_all = time.monotonic()
        os.makedirs(self.workdir, exist_ok=True)
        if self.binary is None:
            self.binary = build_binary()
        from crds import crd_dir
        crds = self.crd_directory or crd_dir()
        # The programs run in sessions of their own (a Ctrl-C reaches only this process, which stops them in order);
        # stop them also when this interpreter ends without calling stop().
        atexit.register(self.stop)
        try:
            self._start(crds)
        except BaseException:
            self.stop()
            raise
        self._mark("total", t_all)
        return self

    def _start(self, crds):
        t0 = time.monotonic()
        self.netns.create()
        pki = make_pki(os.path.join(self.workdir, "pki"), [self.netns.host_ip, "10.96.0.1"])
        self.ca_file = pki("ca.crt")
        self._mark("netns+pki", t0)

        t0 = time.monotonic()
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        self._spawn("etcd", "--name", "kcp", "--data-dir", os.path.join(self.workdir, "etcd"),
                    "--listen-client-urls", "http://127.0.0.1:%d" % etcd_port,
                    "--advertise-client-urls", "http://127.0.0.1:%d" % etcd_port,
                    "--listen-peer-urls", "http://127.0.0.1:%d" % peer_port,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer_port,
                    "--initial-cluster", "kcp=http://127.0.0.1:%d" % peer_port,
                    "--unsafe-no-fsync", "--log-level", "warn")
        self._wait("etcd", lambda: urllib.request.urlopen("http://127.0.0.1:%d/health" % etcd_port,
                                                          timeout=1).status == 200, procs=("etcd",))
        self._mark("etcd", t0)

        t0 = time.monotonic()
        self.admin_token = base64.b32encode(os.urandom(20)).decode().lower()
        tokens = os.path.join(self.workdir, "pki", "tokens.csv")
        with open(tokens, "w") as fh:
            fh.write('%s,%s,%s,"system:masters"\n' % (self.admin_token, ADMIN_USER, ADMIN_USER))
        os.chmod(tokens, 0o600)
        self.url = "https://127.0.0.1:%d" % api_port
        self._spawn("kube-apiserver", "--etcd-servers", "http://127.0.0.1:%d" % etcd_port,
                    "--bind-address", "127.0.0.1", "--secure-port", api_port,
                    "--advertise-address", self.netns.host_ip,
                    "--tls-cert-file", pki("apiserver.crt"), "--tls-private-key-file", pki("apiserver.key"),
                    "--client-ca-file", pki("ca.crt"), "--token-auth-file", tokens,
                    "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                    "--service-account-key-file", pki("sa.pub"), "--service-account-signing-key-file", pki("sa.key"),
                    "--authorization-mode", "RBAC,Node", "--service-cluster-ip-range", SERVICE_CIDR,
                    # TaintNodesByCondition taints a new node not-ready; only the node lifecycle controller (not
                    # run: kwok keeps the node Ready) would take the taint off again.
                    "--disable-admission-plugins", "TaintNodesByCondition",
                    "--enable-priority-and-fairness=false", "--profiling=false", "--v=1",
                    "--cert-dir", os.path.join(self.workdir, "pki"))
        self.api = Api(self.url, self.ca_file, self.admin_token)
        self._wait("kube-apiserver /readyz", lambda: self.api.request("GET", "/readyz") == "ok", timeout=90,
                   procs=("etcd", "kube-apiserver"))
        self.kubeconfig = write_kubeconfig(os.path.join(self.workdir, "kubeconfig"), self.url, self.ca_file,
                                           self.admin_token, ADMIN_USER)
        self._mark("kube-apiserver", t0)

        t0 = time.monotonic()
        self._spawn("kube-controller-manager", "--kubeconfig", self.kubeconfig, "--controllers", CONTROLLERS,
                    "--service-account-private-key-file", pki("sa.key"), "--root-ca-file", pki("ca.crt"),
                    "--leader-elect=false", "--secure-port=0", "--use-service-account-credentials=false",
                    "--concurrent-gc-syncs=5", "--v=1")
        self._spawn("kube-scheduler", "--kubeconfig", self.kubeconfig, "--leader-elect=false", "--secure-port=0",
                    "--v=1")
        # The fake node kwok manages: its podCIDR is the one routed into our network namespace.
        self.api.apply({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                                          "type": "kwok"},
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"podCIDR": self.netns.pod_cidr, "podCIDRs": [self.netns.pod_cidr]}})
        stages = os.path.join(self.workdir, "kwok-stages.yaml")
        with open(stages, "w") as fh:
            fh.write(_run(self.binary, "kwok-stages").stdout)
        self._spawn("kwok", "--kubeconfig", self.kubeconfig, "--config", stages, "--manage-single-node", NODE_NAME,
                    "--node-ip", self.netns.node_ip, "--cidr", self.netns.pod_cidr,
                    "--server-address", "127.0.0.1:%d" % free_port(), "--node-lease-duration-seconds", "40")
        self._storage()
        self._crds(crds)
        self._wait("node %s Ready" % NODE_NAME, self._node_ready, timeout=60,
                   procs=("kube-controller-manager", "kube-scheduler", "kwok"))
        self._mark("controllers+node+storage+crds", t0)

        t0 = time.monotonic()
        self._deployer()
        self._standin()
        self._mark("rbac+standin", t0)

    def _node_ready(self):
        node = self.api.get("/api/v1/nodes/" + NODE_NAME) or {}
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (node.get("status") or {}).get("conditions") or [])

    def _storage(self):
        self.api.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {
            "name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate",
            "reclaimPolicy": "Retain"})
        for i in range(PV_COUNT):
            self.api.apply({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "kcp-pv-%02d" % i},
                            "spec": {"capacity": {"storage": PV_SIZE}, "storageClassName": STORAGE_CLASS,
                                     "accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
                                     "persistentVolumeReclaimPolicy": "Retain",
                                     "hostPath": {"path": os.path.join(self.workdir, "pv", "%02d" % i)}}})

    def _crds(self, directory):
        import yaml
        names = []
        for f in sorted(os.listdir(directory)):
            if not f.endswith((".yaml", ".yml")):
                continue
            with open(os.path.join(directory, f), encoding="utf-8") as fh:
                for doc in yaml.safe_load_all(fh):
                    if doc and doc.get("kind") == "CustomResourceDefinition":
                        self.api.apply(doc)
                        names.append(doc["metadata"]["name"])

        def established():
            for n in names:
                crd = self.api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + n) or {}
                if not any(c.get("type") == "Established" and c.get("status") == "True"
                           for c in (crd.get("status") or {}).get("conditions") or []):
                    return False
            return True
        self._wait("CRDs established", established, timeout=60)

    def _deployer(self):
        """docs/rbac/qdrant-deployer.yaml applied with the admin credential; a kubeconfig with its token."""
        import yaml
        with open(DEPLOYER_RBAC, encoding="utf-8") as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d]
        for doc in docs:
            for obj in doc.get("items", [doc]) if doc.get("kind") == "List" else [doc]:
                self.api.apply(obj)
        sa = [o for d in docs for o in d.get("items", [d]) if o.get("kind") == "ServiceAccount"][0]["metadata"]
        got = self.api.request("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token"
                               % (sa["namespace"], sa["name"]),
                               {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                "spec": {"expirationSeconds": 86400}})
        self.deployer_token = got["status"]["token"]
        self.deployer_kubeconfig = write_kubeconfig(os.path.join(self.workdir, "deployer.kubeconfig"), self.url,
                                                    self.ca_file, self.deployer_token,
                                                    "system:serviceaccount:%s:%s" % (sa["namespace"], sa["name"]))

    def _standin(self):
        from qdrant_standin import QdrantStandin, StandinConfig
        self.pod_config = PodConfig(self.api, self.namespace)
        standin = QdrantStandin(config=StandinConfig(), tls=None, host="0.0.0.0", port=QDRANT_PORTS[0])
        standin.config_provider = self.pod_config.config
        standin.netns = self.netns
        self.standin = standin.start()

    @property
    def proxy_url(self):
        return "%s/api/v1/namespaces/%s/services/qdrant:6333/proxy" % (self.url, self.namespace)

    def info(self):
        return {"kube_url": self.url, "kubeconfig": self.kubeconfig, "deployer_kubeconfig": self.deployer_kubeconfig,
                "namespace": self.namespace, "proxy_url": self.proxy_url, "pod_cidr": self.netns.pod_cidr,
                "netns": self.netns.name, "pid": os.getpid(), "timings": self.timings,
                "pids": {k: p.pid for k, p in self.procs.items()}}

    def stop(self):
        if self.standin is not None:
            self.standin.stop()
            self.standin = None
        for name in ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.netns.delete()
        atexit.unregister(self.stop)


# ---------------------------------------------------------------------------------------------- command line
def _paths(state_dir):
    return os.path.join(state_dir, "env.json"), os.path.join(state_dir, "real_cluster.log")


def serve(args):
    env_json, _log = _paths(args.state_dir)
    cluster = RealCluster(os.path.join(args.state_dir, "cluster"), namespace=args.namespace)
    try:
        cluster.start()
        detached.serve_until_signal("real_cluster", env_json, cluster.info())
    finally:
        cluster.stop()
        detached.remove(env_json)
    return 0


def start(args):
    os.makedirs(args.state_dir, exist_ok=True)
    env_json, log = _paths(args.state_dir)
    if not detached.running(env_json):
        build_binary()  # here, with its progress on this terminal, not in the background process's log
    cmd = [sys.executable, os.path.abspath(__file__), "_serve", "--state-dir", os.path.abspath(args.state_dir),
           "--namespace", args.namespace]
    return detached.start("real_cluster", cmd, env_json, log, args.timeout, poll=0.2)


def stop(args):
    # the background process stops each program with 10 s of grace: give it time for all of them
    return detached.stop("real_cluster", _paths(args.state_dir)[0], grace=30)


def status(args):
    return detached.status(_paths(args.state_dir)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="real_cluster.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("start", "stop", "status", "_serve"):
        p = sub.add_parser(name)
        p.add_argument("--state-dir", required=True)
        p.add_argument("--namespace", default="qdrant")
        p.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args(argv)
    return {"start": start, "stop": stop, "status": status, "_serve": serve}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
