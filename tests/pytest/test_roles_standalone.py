"""Each deployment role works alone with only its defaults (include_role in a user's playbook), against the
in-process Kubernetes API emulator; the ExternalSecret path is driven by a fake External Secrets Operator
(a thread that marks the ExternalSecret Ready and writes the Secret, as the operator would). Also the
guards that need existing objects: StorageClass change refused, minor-version skip allowed when forced,
NetworkPolicies switched off after being on removed, and an operator-side key change (ESO refresh)
changing the restart checksum."""
import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

import crds  # tests/support
from kube_emulator import KubeEmulator

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = str(Path(sys.executable).with_name("ansible-playbook"))
ES = ("external-secrets.io/v1", "ExternalSecret")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    emu = KubeEmulator(crd_dir=crds.crd_dir())
    emu.start()
    kubeconfig = tmp_path_factory.mktemp("kube") / "kubeconfig"
    emu.write_kubeconfig(str(kubeconfig))
    stop = threading.Event()

    def fake_external_secrets_operator():
        while not stop.is_set():
            es = emu.get(*ES, "qdrant", "app-qdrant-api-key")
            if es and not emu.get("v1", "Secret", "qdrant", "app-qdrant-api-key"):
                emu.create_object({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                   "metadata": {"name": "app-qdrant-api-key", "namespace": "qdrant"},
                                   "data": {"QDRANT__SERVICE__API_KEY": base64.b64encode(b"from-the-store-1").decode()}})
                emu.set_status(*ES, "qdrant", "app-qdrant-api-key",
                               {"conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced"}]})
            stop.wait(0.2)

    thread = threading.Thread(target=fake_external_secrets_operator, daemon=True)
    thread.start()
    yield emu, kubeconfig
    stop.set()
    emu.stop()


def run_role(tmp_path, kubeconfig, role, extra=None, kubeconfig_env=True):
    playbook = tmp_path / f"{role}.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": f"Use {role} alone", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Include the role", "ansible.builtin.include_role": {"name": f"peekoff.qdrant.{role}"}}],
    }]))
    cmd = [PLAYBOOK_BIN, str(playbook)]
    if extra:
        (tmp_path / "extra.json").write_text(json.dumps(extra))
        cmd += ["-e", f"@{tmp_path / 'extra.json'}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("K8S_AUTH_", "KUBECONFIG"))}
    env.update({"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})
    if kubeconfig_env:
        env["K8S_AUTH_KUBECONFIG"] = str(kubeconfig)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def _each_role_alone_with_its_defaults(cluster, tmp_path):
    emu, kubeconfig = cluster
    for role in ["storage", "secrets", "qdrant", "gateway_routes"]:
        proc = run_role(tmp_path, kubeconfig, role)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        again = run_role(tmp_path, kubeconfig, role)
        assert again.returncode == 0 and "changed=0" in again.stdout, (role, again.stdout[-3000:])
    assert emu.get("v1", "Namespace", None, "qdrant")["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"
    assert emu.get("v1", "PersistentVolumeClaim", "qdrant", "qdrant-storage")["spec"]["resources"][
        "requests"]["storage"] == "50Gi"
    es = emu.get(*ES, "qdrant", "app-qdrant-api-key")
    assert es["spec"]["secretStoreRef"] == {"name": "bitwarden-backend", "kind": "ClusterSecretStore"}
    dep = emu.get("apps/v1", "Deployment", "qdrant", "qdrant")
    assert dep["status"]["availableReplicas"] == 1
    assert len(dep["spec"]["template"]["metadata"]["annotations"]["peekoff.qdrant/api-key-checksum"]) == 64
    route = emu.get("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant", "qdrant")
    assert route["spec"]["hostnames"] == ["qdrant.peekoff.com"]


def _operator_side_key_change_restarts_qdrant(cluster, tmp_path):
    emu, kubeconfig = cluster
    before = emu.get("apps/v1", "Deployment", "qdrant", "qdrant")
    secret = emu.get("v1", "Secret", "qdrant", "app-qdrant-api-key")
    emu.delete_object("v1", "Secret", "qdrant", "app-qdrant-api-key")
    emu.create_object({**{k: secret[k] for k in ("apiVersion", "kind", "type")},
                       "metadata": {"name": "app-qdrant-api-key", "namespace": "qdrant"},
                       "data": {"QDRANT__SERVICE__API_KEY": base64.b64encode(b"from-the-store-2").decode()}})
    proc = run_role(tmp_path, kubeconfig, "qdrant")
    assert proc.returncode == 0, proc.stdout[-3000:]
    after = emu.get("apps/v1", "Deployment", "qdrant", "qdrant")
    key = "peekoff.qdrant/api-key-checksum"
    assert after["spec"]["template"]["metadata"]["annotations"][key] != \
        before["spec"]["template"]["metadata"]["annotations"][key]
    assert "from-the-store-2" not in proc.stdout + proc.stderr


def _storage_class_change_is_refused(cluster, tmp_path):
    emu, kubeconfig = cluster
    before = emu.get("v1", "PersistentVolumeClaim", "qdrant", "qdrant-storage")
    proc = run_role(tmp_path, kubeconfig, "storage", {"qdrant_storage_class": "other-class"})
    assert proc.returncode != 0
    assert "qdrant_storage_class" in proc.stdout and "cannot change" in proc.stdout
    assert emu.get("v1", "PersistentVolumeClaim", "qdrant", "qdrant-storage")["metadata"]["resourceVersion"] == \
        before["metadata"]["resourceVersion"]
    # growing is fine
    proc = run_role(tmp_path, kubeconfig, "storage", {"qdrant_storage_size": "60Gi"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert emu.get("v1", "PersistentVolumeClaim", "qdrant", "qdrant-storage")["spec"]["resources"]["requests"][
        "storage"] == "60Gi"


def _minor_skip_only_when_forced(cluster, tmp_path):
    emu, kubeconfig = cluster
    refused = run_role(tmp_path, kubeconfig, "qdrant", {"qdrant_version": "1.21.0"})
    assert refused.returncode != 0 and "qdrant_image_allow_minor_skip" in refused.stdout

    def image():
        return emu.get("apps/v1", "Deployment", "qdrant", "qdrant")["spec"]["template"]["spec"]["containers"][0]["image"]

    assert image() == "qdrant/qdrant:v1.19.0-unprivileged"
    nxt = run_role(tmp_path, kubeconfig, "qdrant", {"qdrant_version": "1.20.0"})
    assert nxt.returncode == 0, nxt.stdout[-3000:]
    assert image() == "qdrant/qdrant:v1.20.0-unprivileged"
    back = run_role(tmp_path, kubeconfig, "qdrant", {"qdrant_version": "1.19.0"})
    assert back.returncode != 0, "going back a minor version is refused too"
    forced = run_role(tmp_path, kubeconfig, "qdrant", {"qdrant_version": "1.19.0", "qdrant_image_allow_minor_skip": True})
    assert forced.returncode == 0, forced.stdout[-3000:]
    assert image() == "qdrant/qdrant:v1.19.0-unprivileged"


def _switched_off_network_policies_are_removed(cluster, tmp_path):
    """NetworkPolicies switched off after being on leave the cluster; switched on again they come back."""
    emu, kubeconfig = cluster
    policies = [("networking.k8s.io/v1", "NetworkPolicy", "qdrant", "qdrant-" + d) for d in ("ingress", "egress")]
    assert all(emu.get(*p) for p in policies)
    off = run_role(tmp_path, kubeconfig, "qdrant", {"qdrant_network_policy_enabled": False})
    assert off.returncode == 0, off.stdout[-3000:]
    assert emu.wait_for(lambda: not any(emu.get(*p) for p in policies)), "switched-off NetworkPolicies were left"
    back = run_role(tmp_path, kubeconfig, "qdrant")
    assert back.returncode == 0, back.stdout[-3000:]
    assert all(emu.get(*p) for p in policies)


def _qdrant_kubeconfig_variable_is_used(cluster, tmp_path):
    emu, kubeconfig = cluster
    proc = run_role(tmp_path, kubeconfig, "gateway_routes", {"qdrant_kubeconfig": str(kubeconfig)}, kubeconfig_env=False)
    assert proc.returncode == 0 and "changed=0" in proc.stdout, proc.stdout[-3000:]


def _state_absent_then_storage_delete(cluster, tmp_path):
    emu, kubeconfig = cluster
    for role in ["gateway_routes", "qdrant", "secrets", "storage"]:
        proc = run_role(tmp_path, kubeconfig, role, {"qdrant_state": "absent"})
        assert proc.returncode == 0, (role, proc.stdout[-3000:])
    assert emu.get("apps/v1", "Deployment", "qdrant", "qdrant") is None
    assert emu.get(*ES, "qdrant", "app-qdrant-api-key") is None
    assert emu.get("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant", "qdrant") is None
    assert emu.get("networking.k8s.io/v1", "NetworkPolicy", "qdrant", "qdrant-ingress") is None
    assert emu.get("v1", "PersistentVolumeClaim", "qdrant", "qdrant-storage") is not None, "kept by default"
    proc = run_role(tmp_path, kubeconfig, "storage", {"qdrant_state": "absent", "qdrant_storage_delete": True})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert emu.wait_for(lambda: emu.get("v1", "PersistentVolumeClaim", "qdrant", "qdrant-storage") is None)
    assert emu.get("v1", "Namespace", None, "qdrant") is not None


def test_roles_alone_on_one_cluster(cluster, tmp_path):
    """One ordered story on one emulated cluster (the steps build on each other, so they are not separate
    tests that pytest-xdist could split across workers)."""
    _each_role_alone_with_its_defaults(cluster, tmp_path)
    _operator_side_key_change_restarts_qdrant(cluster, tmp_path)
    _storage_class_change_is_refused(cluster, tmp_path)
    _minor_skip_only_when_forced(cluster, tmp_path)
    _switched_off_network_policies_are_removed(cluster, tmp_path)
    _qdrant_kubeconfig_variable_is_used(cluster, tmp_path)
    _state_absent_then_storage_delete(cluster, tmp_path)
