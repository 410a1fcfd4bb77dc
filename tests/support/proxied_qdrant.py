"""A Qdrant stand-in behind Service ``qdrant/qdrant`` port 6333 of the Kubernetes API emulator, reached through the
API server's service proxy, with kubeconfigs of several kinds for kubernetes_proxy tests.

    with proxied_standin(tmp_dir, api_key=KEY) as env:
        env.exec_kubeconfig()          # user authenticates with an exec credential plugin (prints an ExecCredential)
        env.token_kubeconfig()         # user has the bearer token in the file
        env.exec_runs()                # how often the exec plugin ran

The exec plugin is the smallest real one: a program that prints ``client.authentication.k8s.io/v1``
``ExecCredential`` JSON with ``status.token`` on stdout (the format the kubernetes client's ExecProvider,
kubernetes/config/exec_provider.py, and kubectl's client-go exec authenticator read), and records each run.
"""
import contextlib
import json
import os
import sys
import tempfile

import yaml

from kube_emulator import KubeEmulator
from qdrant_standin import standin_factory

EXEC_PLUGIN = r'''#!{python}
import json, os, sys
info = json.loads(os.environ.get("KUBERNETES_EXEC_INFO") or "{{}}")
with open({runs!r}, "a") as fh:
    fh.write(json.dumps({{"apiVersion": info.get("apiVersion"), "argv": sys.argv[1:]}}) + "\n")
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {{"token": {token!r}}}}}))
'''


class ProxiedStandin:
    def __init__(self, emu, standin, directory, namespace, service, port):
        self.emu = emu
        self.standin = standin
        self.dir = str(directory)
        self.namespace = namespace
        self.service = service
        self.port = port
        self.runs_file = os.path.join(self.dir, "exec-plugin-runs.jsonl")

    @property
    def token(self):
        return self.emu.token

    def _write(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, default_flow_style=False)
        os.chmod(path, 0o600)
        return path

    def token_kubeconfig(self, name="kubeconfig-token", token=None, context="emulator", namespace=None):
        doc = self.emu.kubeconfig(context=context, namespace=namespace)
        if token is not None:
            doc["users"][0]["user"] = {"token": token}
        return self._write(name, doc)

    def exec_plugin(self, name="exec-credential-plugin", token=None):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(EXEC_PLUGIN.format(python=sys.executable, runs=self.runs_file,
                                        token=self.token if token is None else token))
        os.chmod(path, 0o700)
        return path

    def exec_kubeconfig(self, name="kubeconfig-exec", context="emulator", namespace=None, token=None):
        """A kubeconfig whose user runs an exec credential plugin (like aws eks get-token, gke-gcloud-auth-plugin,
        kubelogin); no token in the file."""
        doc = self.emu.kubeconfig(context=context, namespace=namespace)
        doc["users"][0]["user"] = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": self.exec_plugin(token=token),
            "args": ["get-token", "--cluster", "emulator"], "interactiveMode": "Never"}}
        return self._write(name, doc)

    def exec_runs(self):
        if not os.path.exists(self.runs_file):
            return []
        with open(self.runs_file, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def proxy_requests(self):
        """Requests the emulator received for the service proxy of our Service."""
        prefix = "/api/v1/namespaces/%s/services/" % self.namespace
        return [(m, p) for m, p, _q in list(self.emu.requests) if p.startswith(prefix) and "/proxy" in p]


def isolate_kubernetes_client(monkeypatch, tmp_dir):
    """For in-process tests: what a new module process starts with. No K8S_AUTH_*, KUBECONFIG or in-cluster hint
    from the caller's environment; kubernetes.core's discovery cache (``tempfile.gettempdir()``) in ``tmp_dir``;
    no default kubernetes Configuration left by an earlier load_kube_config (its refresh hook would put that
    cluster's host back) and no client in kubernetes.core's pool (k8s/client.py ``_pool``)."""
    import kubernetes
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as k8s_client

    for name in list(os.environ):
        if name.startswith("K8S_AUTH_") or name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_dir))
    monkeypatch.setattr(kubernetes.client.Configuration, "_default", None)
    monkeypatch.setattr(k8s_client, "_pool", {})


@contextlib.contextmanager
def proxied_standin(directory, namespace="qdrant", service="qdrant", port=6333, collections=(), **standin_config):
    """Start the emulator and a stand-in (``standin_config`` as for StandinConfig) wired as the Service's backend."""
    emu = KubeEmulator()
    emu.start()
    try:
        emu.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        emu.create_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": namespace},
                           "spec": {"selector": {"app": "qdrant"}, "ports": [{"name": "http", "port": port}]}})
        with standin_factory() as make:
            standin = make(collections=collections, **standin_config)
            emu.register_service_backend(namespace, service, port, standin.url, ready=lambda: True)
            yield ProxiedStandin(emu, standin, directory, namespace, service, port)
    finally:
        emu.stop()


class ProxiedCluster(ProxiedStandin):
    """A cluster-mode Qdrant of ``peers`` stand-ins behind a StatefulSet ``qdrant`` (pods qdrant-0..N-1) and its
    Service: the Service proxy reaches peer 0, the pod proxy each pod (``emu.register_pod_backend``)."""

    def __init__(self, emu, standins, directory, namespace, service, port):
        super().__init__(emu, standins[0], directory, namespace, service, port)
        self.standins = standins

    def pod_proxy_requests(self):
        prefix = "/api/v1/namespaces/%s/pods/" % self.namespace
        return [(m, p) for m, p, _q in list(self.emu.requests) if p.startswith(prefix) and "/proxy" in p]


@contextlib.contextmanager
def proxied_cluster(directory, peers=3, pods=None, namespace="qdrant", service="qdrant", port=6333,
                    not_listening=(), peer_config=None, **standin_config):
    """Start the emulator, a StatefulSet ``qdrant`` with ``pods`` replicas (default ``peers``) whose pods the
    emulated controller makes Running with a pod IP, the Service ``service`` selecting them, and one cluster-mode
    stand-in per peer (``standin_config`` for all, ``peer_config[i]`` on top for peer i) behind pod ``qdrant-i``
    (``not_listening``: ordinals whose pod has no listener, like a container that has not started)."""
    emu = KubeEmulator()
    emu.start()
    pods = peers if pods is None else pods
    labels = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant"}
    try:
        emu.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        emu.create_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": namespace},
                           "spec": {"selector": labels, "ports": [{"name": "http", "port": port,
                                                                   "targetPort": "http"}]}})
        emu.create_object({"apiVersion": "apps/v1", "kind": "StatefulSet",
                           "metadata": {"name": "qdrant", "namespace": namespace},
                           "spec": {"replicas": pods, "serviceName": "qdrant-headless",
                                    "podManagementPolicy": "Parallel",
                                    "selector": {"matchLabels": labels},
                                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                                        "name": "qdrant", "image": "qdrant/qdrant:v1.19.0",
                                        "ports": [{"name": "http", "containerPort": port},
                                                  {"name": "grpc", "containerPort": 6334},
                                                  {"name": "p2p", "containerPort": 6335}]}]}}}})
        with standin_factory() as make:
            standins = []
            for i in range(peers):
                config = dict(cluster_mode=True, cluster_peers=peers)
                config.update(standin_config)
                config.update((peer_config or {}).get(i) or {})
                standins.append(make(**config))
                if i not in not_listening:
                    emu.register_pod_backend(namespace, "qdrant-%d" % i, port, standins[i].url)
            for standin in standins:  # one cluster: collections on every peer, points in their shards' peers
                standin.join_cluster(standins)
            emu.register_service_backend(namespace, service, port, standins[0].url, ready=lambda: True)
            yield ProxiedCluster(emu, standins, directory, namespace, service, port)
    finally:
        emu.stop()
