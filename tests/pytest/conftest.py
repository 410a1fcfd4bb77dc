"""Fixtures for end-to-end playbook tests: a fresh local "cluster" (Kubernetes API emulator + Qdrant stand-in,
wired exactly like ``tests/support/local_env.py`` wires them) and a helper that runs ``ansible-playbook`` against it.

    def test_x(local_cluster):                 # one cluster per test module (and per xdist worker)
        run = local_cluster.run("site.yml", "-e", "qdrant_storage_size=60Gi", check=True, diff=True)
        assert run.rc == 0 and run.recap["changed"] > 0
        local_cluster.get("apps/v1", "Deployment", "qdrant")

    def test_y(make_local_cluster):            # a cluster of the test's own (torn down after the test)
        cluster = make_local_cluster(auth_disabled=True)

Everything lives in the pytest process (the servers run in threads on 127.0.0.1 with ephemeral ports) and in
per-cluster temporary directories (kubeconfig, ANSIBLE_LOCAL_TEMP, TMPDIR holding kubernetes.core's discovery
cache), so pytest-xdist workers never share state. ``ansible-playbook`` runs from the repository root so that
``ansible.cfg`` applies, with ``K8S_AUTH_KUBECONFIG`` naming the cluster's kubeconfig.
"""
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUPPORT = os.path.join(ROOT, "tests", "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

# What scripts/deploy.sh passes for the local cluster: no External Secrets Operator and no Gateway there.
LOCAL_VARS = ("-e", "qdrant_secret_backend=kubernetes", "-e", "qdrant_check_via=kubernetes_proxy")

RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.M)

# Environment that would point kubernetes.core or the module elsewhere than the test's cluster.
_SCRUB_ENV = ("KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_USERNAME",
              "K8S_AUTH_PASSWORD", "K8S_AUTH_PROXY", "ANSIBLE_CONFIG", "ANSIBLE_INVENTORY", "ANSIBLE_STDOUT_CALLBACK",
              "ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_VERBOSITY", "ANSIBLE_CHECK_MODE", "ANSIBLE_DIFF_ALWAYS")


def ansible_playbook_exe():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if os.path.exists(exe):
        return exe
    venv = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
    return venv if os.path.exists(venv) else shutil.which("ansible-playbook")


def parse_recap(output):
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from the PLAY RECAP."""
    tail = output.rsplit("PLAY RECAP", 1)
    if len(tail) < 2:
        return {}
    return {m.group("host"): {k: int(v) for k, v in m.groupdict().items() if k != "host"}
            for m in RECAP_RE.finditer(tail[1])}


@dataclasses.dataclass
class PlaybookRun:
    cmd: list
    rc: int
    stdout: str
    stderr: str
    duration: float
    recaps: dict

    @property
    def output(self):
        return self.stdout + self.stderr

    @property
    def recap(self):
        """The recap of localhost (the only host of site.yml here); {} when the run never got to a recap."""
        return self.recaps.get("localhost") or (next(iter(self.recaps.values())) if self.recaps else {})

    def tail(self, n=6000):
        return "$ %s\nrc=%s\n%s" % (" ".join(self.cmd), self.rc, self.output[-n:])


class LocalCluster:
    """A started emulator + stand-in pair in ``workdir``; ``stop()`` ends both."""

    def __init__(self, workdir, namespace="qdrant", **standin_overrides):
        import local_env  # tests/support (on sys.path via tests/conftest.py and above)

        self.workdir = str(workdir)
        self.namespace = namespace
        os.makedirs(self.workdir, exist_ok=True)
        self.tmpdir = os.path.join(self.workdir, "tmp")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.emu, self.standin = local_env.build(namespace=namespace)
        self._pod_config = self.standin.config_provider
        self.kubeconfig = self.emu.write_kubeconfig(os.path.join(self.workdir, "kubeconfig"))
        self.runs = []
        if standin_overrides:
            self.misconfigure(**standin_overrides)

    # ------------------------------------------------------------------ the Qdrant stand-in
    def misconfigure(self, **overrides):
        """Keep the keys the pod would get from its env, but switch on StandinConfig misbehaviour
        (e.g. ``auth_disabled=True``); no arguments: behave again."""
        pod_config = self._pod_config
        if overrides:
            self.standin.config_provider = lambda: dataclasses.replace(pod_config(), **overrides)
        else:
            self.standin.config_provider = pod_config

    # ------------------------------------------------------------------ the emulated cluster
    def get(self, api_version, kind, name, namespace=None):
        """The stored object, or None. Cluster-scoped kinds: pass namespace=''."""
        ns = self.namespace if namespace is None else (namespace or None)
        return self.emu.get(api_version, kind, ns, name)

    def objects_in(self, namespace=None):
        """Every stored object in ``namespace`` plus the Namespace itself, as sorted (group, plural, name)."""
        ns = namespace or self.namespace
        cluster = self.emu.cluster
        with cluster.lock:
            keys = list(cluster.objects)
        found = [(g, p, n) for (g, p, ons, n) in keys if ons == ns]
        found += [(g, p, n) for (g, p, ons, n) in keys if (g, p, ons, n) == ("", "namespaces", "", ns)]
        return sorted(found)

    # ------------------------------------------------------------------ ansible-playbook
    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
        env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.tmpdir, "ansible-local"),
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, K8S_AUTH_KUBECONFIG=self.kubeconfig,
                   TMPDIR=self.tmpdir, PYTHONDONTWRITEBYTECODE="1")
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        return env

    def run(self, *args, playbook="site.yml", local_vars=True, check=False, diff=False, verbosity=0,
            timeout=600):
        """Run ``ansible-playbook <playbook> [LOCAL_VARS] *args`` from the repository root against this cluster."""
        exe = ansible_playbook_exe()
        if not exe:
            pytest.fail("ansible-playbook not found next to %s or in .venv: run scripts/bootstrap.sh" % sys.executable)
        cmd = [exe, playbook] + (list(LOCAL_VARS) if local_vars else []) + [str(a) for a in args]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        run = PlaybookRun(cmd=cmd, rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                          duration=time.monotonic() - t0, recaps=parse_recap(proc.stdout))
        self.runs.append(run)
        return run

    def stop(self):
        try:
            self.standin.stop()
        finally:
            self.emu.stop()


def _crd_dir_or_fail():
    from crds import crd_dir
    try:
        return crd_dir()
    except Exception as e:  # noqa: BLE001 - crd_dir fails with a message saying how to get the CRDs
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def local_cluster(tmp_path_factory):
    """A fresh local cluster for the whole test module (one per module and per xdist worker)."""
    _crd_dir_or_fail()
    cluster = LocalCluster(tmp_path_factory.mktemp("local-cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture
def make_local_cluster(tmp_path_factory):
    """Factory: ``make_local_cluster(**standin_overrides)`` -> a fresh LocalCluster, stopped after the test."""
    _crd_dir_or_fail()
    made = []

    def make(**standin_overrides):
        cluster = LocalCluster(tmp_path_factory.mktemp("local-cluster"), **standin_overrides)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


# ---------------------------------------------------------------------------------------------- the real control plane
def _plural(kind):
    k = kind.lower()
    return k + "es" if k.endswith("s") else k[:-1] + "ies" if k.endswith("y") else k + "s"


class RealClusterRun(LocalCluster):
    """A real control plane (tests/support/real_cluster.py) with the Qdrant stand-in as its pods.

    ``run()`` runs ansible-playbook with the token of the ServiceAccount of docs/rbac/qdrant-deployer.yaml (the
    real authorizer decides every request); ``get()`` reads with the admin credential. ``reset()`` deletes the
    namespace (the real namespace controller empties it) and applies the deployer RBAC again, for a fresh start
    inside one control plane."""

    def __init__(self, workdir, namespace="qdrant"):  # noqa: super().__init__ would build the emulator
        import real_cluster

        self.workdir = str(workdir)
        self.namespace = namespace
        self.tmpdir = os.path.join(self.workdir, "tmp")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.cluster = real_cluster.RealCluster(os.path.join(self.workdir, "cluster"), namespace=namespace).start()
        self.api = self.cluster.api
        self.standin = self.cluster.standin
        self._pod_config = self.standin.config_provider
        self.kubeconfig = self.cluster.deployer_kubeconfig
        self.admin_kubeconfig = self.cluster.kubeconfig
        self.runs = []

    def get(self, api_version, kind, name, namespace=None):
        """The object as the API server returns it, or None. Cluster-scoped kinds: pass namespace=''."""
        ns = self.namespace if namespace is None else namespace
        base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        return self.api.get("%s%s/%s/%s" % (base, "/namespaces/" + ns if ns else "", _plural(kind), name))

    def list(self, api_version, kind, namespace=None):
        ns = self.namespace if namespace is None else namespace
        base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        return (self.api.get("%s%s/%s" % (base, "/namespaces/" + ns if ns else "", _plural(kind))) or {}).get(
            "items") or []

    def wait_for(self, what, probe, timeout=60):
        deadline = time.monotonic() + timeout
        while not probe():
            if time.monotonic() > deadline:
                pytest.fail("timed out after %ss waiting for %s" % (timeout, what))
            time.sleep(0.25)

    def reset(self):
        if self.get("v1", "Namespace", self.namespace, namespace="") is not None:
            self.api.request("DELETE", "/api/v1/namespaces/" + self.namespace)
            self.wait_for("namespace %s to be deleted" % self.namespace,
                          lambda: self.get("v1", "Namespace", self.namespace, namespace="") is None, timeout=120)
        self.cluster._deployer()
        self.misconfigure()

    def objects_in(self, namespace=None):
        raise NotImplementedError("the emulator's object index; read objects with get() and list()")

    def stop(self):
        self.cluster.stop()


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory):
    """A real control plane for the whole test module (one per module and per xdist worker); tests that need a
    fresh namespace call ``real_cluster.reset()``."""
    _crd_dir_or_fail()
    cluster = RealClusterRun(tmp_path_factory.mktemp("real-cluster"))
    yield cluster
    cluster.stop()
