"""A local emulated "cluster": the Kubernetes API emulator plus a Qdrant stand-in behind Service ``qdrant``.

    python tests/support/local_env.py start  --state-dir DIR [--namespace qdrant] [--service qdrant] [--port 6333]
    python tests/support/local_env.py status --state-dir DIR
    python tests/support/local_env.py stop   --state-dir DIR

``start`` launches one detached background process holding both servers, waits until both answer, and writes
``DIR/kubeconfig`` and ``DIR/env.json`` ({"kube_url", "qdrant_url", "pid", ...}). The cluster starts fresh:
the built-in namespaces only, and the CRDs from ``crds.crd_dir()`` installed.

The stand-in is wired like a real pod: it is the backend of Service <service> port <port> in <namespace> (reach
it through the API server's service proxy), it has endpoints only while a Ready pod of a workload matches the
Service selector and its env can be resolved, and its keys come from the Deployment ``qdrant``'s container env
(QDRANT__SERVICE__API_KEY / QDRANT__SERVICE__ALT_API_KEY / QDRANT__SERVICE__READ_ONLY_API_KEY via ``value`` or ``secretKeyRef``,
QDRANT__SERVICE__JWT_RBAC), read when the pods are (re)created - like a real pod, a Secret change alone is not
seen until the Deployment rolls. In distributed mode the workload is the StatefulSet ``qdrant`` instead: with
QDRANT__CLUSTER__ENABLED=true in its env the stand-in answers as a peer of a cluster whose members are the
StatefulSet's pods (GET /cluster lists one peer per pod, as Qdrant's raft membership would once they joined).
"""
import argparse
import base64
import os
import re
import sys
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import detached  # noqa: E402 - tests/support, put on sys.path just above

ENV_API_KEY = "QDRANT__SERVICE__API_KEY"
ENV_RO_KEY = "QDRANT__SERVICE__READ_ONLY_API_KEY"
ENV_ALT_KEY = "QDRANT__SERVICE__ALT_API_KEY"
ENV_JWT = "QDRANT__SERVICE__JWT_RBAC"
ENV_CLUSTER = "QDRANT__CLUSTER__ENABLED"


class Unresolvable(Exception):
    """The pod's env cannot be built (missing Secret/key): a real pod would not start."""


def _resolve_env(emu, namespace, container):
    out = {}
    for e in container.get("env") or []:
        name = e.get("name")
        if "value" in e:
            out[name] = e.get("value")
            continue
        vf = e.get("valueFrom") or {}
        for ref_kind, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            ref = vf.get(ref_kind)
            if not ref:
                continue
            obj = emu.get("v1", kind, namespace, ref.get("name"))
            data = (obj or {}).get("data") or {}
            if obj is None or ref.get("key") not in data:
                if ref.get("optional"):
                    break
                raise Unresolvable("%s %s/%s key %s" % (kind, namespace, ref.get("name"), ref.get("key")))
            val = data[ref["key"]]
            out[name] = base64.b64decode(val).decode() if kind == "Secret" else val
    return out


def _truthy(v):
    return str(v).strip().lower() in ("true", "1", "yes", "on")


class PodConfig:
    """Builds the stand-in's StandinConfig from the emulator's Deployment, as the pod would see it."""

    def __init__(self, emu, namespace="qdrant", deployment="qdrant", version="1.19.0"):
        self.emu = emu
        self.namespace = namespace
        self.deployment = deployment
        self.version = version
        self._cache_key = None
        self._cache = None
        self._lock = threading.Lock()

    def _workload(self):
        """The Deployment ``qdrant`` (single node) or, in distributed mode, the StatefulSet ``qdrant``."""
        return (self.emu.get("apps/v1", "Deployment", self.namespace, self.deployment)
                or self.emu.get("apps/v1", "StatefulSet", self.namespace, self.deployment))

    def _pods(self, dep):
        pods = self.emu.cluster.list(self.emu._rt("v1", "Pod"), self.namespace)["items"]
        return [p for p in pods if any(
            r.get("uid") == dep["metadata"]["uid"] for r in p["metadata"].get("ownerReferences") or [])]

    def _pods_key(self):
        dep = self._workload()
        if dep is None:
            return None, None
        uids = tuple(sorted(p["metadata"]["uid"] for p in self._pods(dep)))
        return dep, (dep["metadata"]["uid"], uids)

    def env(self):
        dep, key = self._pods_key()
        if dep is None:
            raise Unresolvable("no Deployment or StatefulSet %s/%s" % (self.namespace, self.deployment))
        with self._lock:
            if key == self._cache_key and self._cache is not None:
                return self._cache
        env = {}
        for c in ((dep.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
            env.update(_resolve_env(self.emu, self.namespace, c))
        with self._lock:
            self._cache_key, self._cache = key, env
        return env

    def config(self):
        from qdrant_standin import StandinConfig
        try:
            env = self.env()
        except Unresolvable:
            env = {}
        cluster = {}
        if _truthy(env.get(ENV_CLUSTER, "false")):
            dep = self._workload()
            cluster = {"cluster_mode": True, "cluster_peers": len(self._pods(dep)) if dep else 0}
        return StandinConfig(api_key=env.get(ENV_API_KEY) or None, read_only_api_key=env.get(ENV_RO_KEY) or None,
                             alt_api_key=env.get(ENV_ALT_KEY) or None,
                             jwt_rbac=_truthy(env.get(ENV_JWT, "false")), version=self.image_version() or self.version,
                             **cluster)

    def image_version(self):
        """The Qdrant version of the image the Deployment runs (``...:v1.18.1-unprivileged`` -> 1.18.1), as the
        real pod would report it; None when the tag names no version."""
        dep = self._workload()
        for c in (((dep or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
            m = re.search(r":v?([0-9]+\.[0-9]+\.[0-9]+)", c.get("image") or "")
            if c.get("name") == "qdrant" and m:
                return m.group(1)
        return None

    def ready(self):
        try:
            self.env()
        except Unresolvable:
            return False
        return True


# Pods of a StatefulSet <service>-0..MAX_PEERS-1 answer through the pod proxy (tests use at most a handful).
MAX_PEERS = 16


def build(namespace="qdrant", service="qdrant", port=6333, crd_directory=None, version="1.19.0"):
    """In-process: a started (emulator, standin) pair wired together. Caller stops both."""
    from crds import crd_dir
    from kube_emulator import KubeEmulator
    from qdrant_standin import QdrantStandin, StandinConfig

    emu = KubeEmulator(crd_dir=crd_directory or crd_dir())
    emu.start()
    standin = QdrantStandin(config=StandinConfig(version=version), tls=None)
    pod = PodConfig(emu, namespace, "qdrant", version)
    standin.config_provider = pod.config
    standin.start()
    emu.register_service_backend(namespace, service, port, standin.url,
                                 ready=lambda: emu.cluster.service_has_endpoints(namespace, service) and pod.ready())
    # Distributed mode: qdrant_check asks each peer's /readyz through the API server's pod proxy. The StatefulSet's
    # pods are <name>-0..N-1; every one of them is this same stand-in (a peer of the cluster it describes). The
    # emulator answers for a name only while such a pod exists and has an IP, as kube-apiserver's pod proxy does.
    for ordinal in range(MAX_PEERS):
        emu.register_pod_backend(namespace, "%s-%d" % (service, ordinal), port, standin.url, ready=pod.ready)
    return emu, standin


def _paths(state_dir):
    return (os.path.join(state_dir, "kubeconfig"), os.path.join(state_dir, "env.json"),
            os.path.join(state_dir, "local_env.log"))


def serve(args):
    kubeconfig, env_json, _log = _paths(args.state_dir)
    emu, standin = build(args.namespace, args.service, args.port)
    emu.write_kubeconfig(kubeconfig)
    info = {"kube_url": emu.url, "qdrant_url": standin.url, "pid": os.getpid(), "kubeconfig": kubeconfig,
            "namespace": args.namespace, "service": args.service, "service_port": args.port,
            "proxy_url": "%s/api/v1/namespaces/%s/services/%s:%d/proxy" % (emu.url, args.namespace, args.service,
                                                                           args.port)}
    detached.serve_until_signal("local_env", env_json, info)
    standin.stop()
    emu.stop()
    detached.remove(env_json)
    return 0


def _answers(info):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        urllib.request.urlopen(info["kube_url"] + "/version", timeout=2, context=ctx).read()
        urllib.request.urlopen(info["qdrant_url"] + "/", timeout=2).read()
        return True
    except Exception:  # noqa: BLE001
        return False


def start(args):
    os.makedirs(args.state_dir, exist_ok=True)
    _kc, env_json, log = _paths(args.state_dir)
    cmd = [sys.executable, os.path.abspath(__file__), "_serve", "--state-dir", os.path.abspath(args.state_dir),
           "--namespace", args.namespace, "--service", args.service, "--port", str(args.port)]
    return detached.start("local_env", cmd, env_json, log, args.timeout, ready=_answers)


def stop(args):
    return detached.stop("local_env", _paths(args.state_dir)[1], grace=5)


def status(args):
    return detached.status(_paths(args.state_dir)[1], ready=_answers)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="local_env.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("start", "stop", "status", "_serve"):
        p = sub.add_parser(name)
        p.add_argument("--state-dir", required=True)
        p.add_argument("--namespace", default="qdrant")
        p.add_argument("--service", default="qdrant")
        p.add_argument("--port", type=int, default=6333)
        p.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args(argv)
    return {"start": start, "stop": stop, "status": status, "_serve": serve}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
