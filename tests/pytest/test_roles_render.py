"""Render mode of the four deployment roles: what they write is what a real API server accepts
(built-in kinds against the Kubernetes OpenAPI schemas of kubernetes-validate, Gateway API and
External Secrets objects against the served version of the pinned CRDs), the defaults reproduce
the reference deployment, and bad variables fail before anything is written, naming the variable."""
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

import crds  # tests/support/crds.py

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = str(Path(sys.executable).with_name("ansible-playbook"))
K8S_VERSION = "1.33.0"  # oldest Kubernetes the collection targets with these schemas
CRD_KINDS = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_httproutes.yaml",
    ("gateway.networking.k8s.io/v1", "GRPCRoute"): "gateway.networking.k8s.io_grpcroutes.yaml",
    ("external-secrets.io/v1", "ExternalSecret"): "external-secrets.io_externalsecrets.yaml",
}
ROLES = ["secrets", "storage", "qdrant", "gateway_routes"]


def crd_dir():
    """The pinned CRDs (tests/support/crds.py: $QDRANT_TEST_CRD_DIR, ../shared/crds, or a fetched copy); a
    missing directory fails with a message saying how to get it, it never skips."""
    return Path(crds.crd_dir())


def crd_schema(api_version, kind):
    crd = yaml.safe_load((crd_dir() / CRD_KINDS[(api_version, kind)]).read_text())
    version = api_version.split("/")[1]
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            assert v["served"], f"{api_version} {kind} is not served by the CRD"
            return v["schema"]["openAPIV3Schema"]
    raise AssertionError(f"{api_version} not in the {kind} CRD")


def validate(obj):
    key = (obj["apiVersion"], obj["kind"])
    if key in CRD_KINDS:
        jsonschema.validate(obj, crd_schema(*key))
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def run_roles(tmp_path, extra_vars, roles=None, check=False):
    """Run the roles in render mode; return (CompletedProcess, render dir)."""
    out = tmp_path / "out"
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"qdrant_render_dir": str(out), **extra_vars}))
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render", "hosts": "localhost", "gather_facts": False,
        "roles": [f"peekoff.qdrant.{r}" for r in (roles or ROLES)],
    }]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    cmd = [PLAYBOOK_BIN, str(playbook), "-e", f"@{vars_file}"] + (["--check"] if check else [])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc, out


def load_dir(out):
    objs = {}
    for f in sorted(out.glob("*.yaml")):
        if f.name == "kustomization.yaml":
            continue
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
        assert len(docs) == 1, f"{f.name}: one object per file"
        assert f.read_text().startswith("# Managed by Ansible"), f.name
        objs[f.name] = docs[0]
    return objs


@pytest.fixture(scope="module")
def default_render(tmp_path_factory):
    proc, out = run_roles(tmp_path_factory.mktemp("default"), {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, load_dir(out)


@pytest.fixture(scope="module")
def full_render(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    proc, out = run_roles(tmp, {
        "qdrant_secret_backend": "kubernetes",
        "qdrant_render_secret_path": str(tmp / "secret.yaml"),
        "qdrant_read_only_api_key_enabled": True,
        "qdrant_jwt_rbac": True,
        "qdrant_grpc_route_enabled": True,
        "qdrant_config": {"storage": {"performance": {"max_search_threads": 2}}},
        "qdrant_storage_class": "fast-ssd",
        "qdrant_network_policy_ingress_namespaces": ["gateway", "apps"],
        "qdrant_network_policy_ingress_extra": [{"from": [{"ipBlock": {"cidr": "172.18.0.0/16"}}],
                                                 "ports": [{"protocol": "TCP", "port": 6333}]}],
        "qdrant_network_policy_api_server_cidrs": ["10.0.0.10/32", "10.0.0.11/32"],
        "qdrant_network_policy_egress_extra": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                                                "ports": [{"protocol": "TCP", "port": 443}]}],
        "qdrant_tolerations": [{"key": "db", "operator": "Exists", "effect": "NoSchedule"}],
    })
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, load_dir(out)


def by_kind(objs, kind, name=None):
    found = [o for o in objs.values() if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, sorted(objs))
    return found[0]


@pytest.mark.parametrize("which", ["default_render", "full_render"])
def test_every_rendered_object_validates(which, request):
    out, objs = request.getfixturevalue(which)
    assert objs
    for name, obj in objs.items():
        try:
            validate(obj)
        except Exception as exc:  # name the file in the failure
            pytest.fail(f"{name}: {exc}")


@pytest.mark.parametrize("which", ["default_render", "full_render"])
def test_kustomization_lists_exactly_the_files(which, request):
    out, objs = request.getfixturevalue(which)
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == sorted(objs)


def test_the_validator_rejects_what_a_server_rejects():
    """The checks above can fail: a broken object of each family is refused."""
    bad_route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                 "metadata": {"name": "x"}, "spec": {"parentRefs": [{"namespace": "gateway"}]}}
    with pytest.raises(jsonschema.ValidationError):
        validate(bad_route)
    bad_es = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "x"},
              "spec": {"target": {"creationPolicy": "Sometimes"}}}
    with pytest.raises(jsonschema.ValidationError):
        validate(bad_es)
    bad_svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
               "spec": {"ports": [{"port": "http"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(bad_svc)


def test_defaults_reproduce_the_reference_deployment(default_render):
    dummy, objs = default_render
    assert {o["metadata"].get("namespace", "qdrant") for o in objs.values()} == {"qdrant"}
    pvc = by_kind(objs, "PersistentVolumeClaim")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in pvc["spec"]

    route = by_kind(objs, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "external", "namespace": "gateway"},
                                           {"name": "internal", "namespace": "gateway"}]
    assert route["spec"]["hostnames"] == ["qdrant.peekoff.com"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "qdrant", "port": 6333}]
    assert not [o for o in objs.values() if o["kind"] == "GRPCRoute"]

    es = by_kind(objs, "ExternalSecret")
    assert es["apiVersion"] == "external-secrets.io/v1"
    assert es["metadata"]["name"] == "app-qdrant-api-key"
    assert es["spec"] == {
        "refreshInterval": "1h",
        "secretStoreRef": {"name": "bitwarden-backend", "kind": "ClusterSecretStore"},
        "target": {"name": "app-qdrant-api-key", "creationPolicy": "Owner"},
        "data": [{"secretKey": "QDRANT__SERVICE__API_KEY", "remoteRef": {"key": "app-qdrant-api-key"}}],
    }
    assert not [o for o in objs.values() if o["kind"] == "Secret"]

    svc = by_kind(objs, "Service", "qdrant")
    assert [(p["name"], p["port"], p.get("appProtocol")) for p in svc["spec"]["ports"]] == [
        ("http", 6333, None), ("grpc", 6334, "kubernetes.io/h2c")]

    dep = by_kind(objs, "Deployment", "qdrant")
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "qdrant/qdrant:v1.19.0-unprivileged"
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 6333, "grpc": 6334}
    env = {e["name"]: e for e in c["env"]}
    assert env["QDRANT__SERVICE__API_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "app-qdrant-api-key", "key": "QDRANT__SERVICE__API_KEY"}}
    assert "QDRANT__SERVICE__READ_ONLY_API_KEY" not in env and "QDRANT__SERVICE__JWT_RBAC" not in env
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/qdrant/storage"] == "storage"
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["storage"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    # ExternalSecret backend while rendering: the Secret's values are unknown, so no checksum annotation.
    assert "peekoff.qdrant/api-key-checksum" not in (dep["spec"]["template"]["metadata"].get("annotations") or {})


def test_pod_is_restricted_and_probed(default_render):
    dummy, objs = default_render
    dep = by_kind(objs, "Deployment", "qdrant")
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
        "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False
    (c,) = pod["containers"]
    assert c["securityContext"] == {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/livez"
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    # Everything Qdrant writes is on a volume: the data PVC (data, snapshots and their temporary files), and
    # emptyDirs for the init marker and /tmp.
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    for path in ("/qdrant/init", "/tmp"):
        assert "emptyDir" in vols[mounts[path]], path
    assert "persistentVolumeClaim" in vols[mounts["/qdrant/storage"]]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["QDRANT__STORAGE__SNAPSHOTS_PATH"] == "/qdrant/storage/snapshots"
    assert "QDRANT__STORAGE__TEMP_PATH" not in env
    assert env["QDRANT_INIT_FILE_PATH"].startswith("/qdrant/init/")
    ns = by_kind(objs, "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_network_policies(default_render, full_render):
    dummy, objs = default_render
    ing = by_kind(objs, "NetworkPolicy", "qdrant-ingress")
    assert ing["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = ing["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["gateway"]}]}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 6333}, {"protocol": "TCP", "port": 6334}]
    eg = by_kind(objs, "NetworkPolicy", "qdrant-egress")
    assert eg["spec"]["policyTypes"] == ["Egress"]
    (dns,) = eg["spec"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    dep = by_kind(objs, "Deployment", "qdrant")
    assert ing["spec"]["podSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]

    dummy, full = full_render
    ing = by_kind(full, "NetworkPolicy", "qdrant-ingress")
    assert ing["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "gateway", "apps"]
    # the API server (issue 20 point 6: its service/pod proxy carries the kubernetes_proxy path), HTTP port only
    assert ing["spec"]["ingress"][1] == {"from": [{"ipBlock": {"cidr": "10.0.0.10/32"}},
                                                  {"ipBlock": {"cidr": "10.0.0.11/32"}}],
                                         "ports": [{"protocol": "TCP", "port": 6333}]}
    assert ing["spec"]["ingress"][2]["from"] == [{"ipBlock": {"cidr": "172.18.0.0/16"}}]
    assert len(by_kind(full, "NetworkPolicy", "qdrant-egress")["spec"]["egress"]) == 2


def test_options(full_render):
    out, objs = full_render
    secret_file = out.parent / "secret.yaml"
    secret = yaml.safe_load(secret_file.read_text())
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "app-qdrant-api-key"
    assert set(secret["data"]) == {"QDRANT__SERVICE__API_KEY", "QDRANT__SERVICE__READ_ONLY_API_KEY"}
    assert secret["data"]["QDRANT__SERVICE__API_KEY"] != secret["data"]["QDRANT__SERVICE__READ_ONLY_API_KEY"]
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert not [o for o in objs.values() if o["kind"] in ("Secret", "ExternalSecret")]
    dep = by_kind(objs, "Deployment", "qdrant")
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert env["QDRANT__SERVICE__READ_ONLY_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "app-qdrant-api-key", "key": "QDRANT__SERVICE__READ_ONLY_API_KEY"}
    assert env["QDRANT__SERVICE__JWT_RBAC"]["value"] == "true"
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["peekoff.qdrant/api-key-checksum"]) == 64
    assert len(annotations["peekoff.qdrant/config-checksum"]) == 64
    cm = by_kind(objs, "ConfigMap", "qdrant-config")
    assert yaml.safe_load(cm["data"]["local.yaml"]) == {"storage": {"performance": {"max_search_threads": 2}}}
    mount = [m for m in c["volumeMounts"] if m["name"] == "config"][0]
    assert mount == {"name": "config", "mountPath": "/qdrant/config/local.yaml", "subPath": "local.yaml",
                     "readOnly": True}
    grpc = by_kind(objs, "GRPCRoute")
    assert grpc["spec"]["hostnames"] == ["qdrant-grpc.peekoff.com"]
    assert grpc["spec"]["rules"][0]["backendRefs"] == [{"name": "qdrant", "port": 6334}]
    assert by_kind(objs, "PersistentVolumeClaim")["spec"]["storageClassName"] == "fast-ssd"
    assert by_kind(objs, "Deployment")["spec"]["template"]["spec"]["tolerations"][0]["key"] == "db"


def test_no_key_value_inside_the_render_dir(full_render):
    """The kubernetes backend's Secret goes to qdrant_render_secret_path, outside the directory meant for Git:
    no file under the render directory holds a key, neither plain nor base64."""
    import base64
    out, objs = full_render
    secret = yaml.safe_load((out.parent / "secret.yaml").read_text())
    needles = [v for b64 in secret["data"].values() for v in (b64, base64.b64decode(b64).decode())]
    assert len(needles) == 4 and all(len(n) >= 32 for n in needles)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == len(objs) + 1  # the objects plus kustomization.yaml
    for f in files:
        text = f.read_text()
        assert not [n for n in needles if n in text], f"{f.name} holds a key"


def test_reloader_and_sync_waves_by_default(default_render):
    """GitOps defaults: Stakater Reloader restarts Qdrant when the key Secret changes (no playbook run follows a
    rotation), and Argo CD sync waves put the Namespace, then the ExternalSecret, before the Deployment."""
    dummy, objs = default_render
    dep = by_kind(objs, "Deployment", "qdrant")
    assert dep["metadata"]["annotations"] == {"secret.reloader.stakater.com/reload": "app-qdrant-api-key"}
    wave = "argocd.argoproj.io/sync-wave"
    waves = {o["kind"]: int((o["metadata"].get("annotations") or {}).get(wave, "0")) for o in objs.values()}
    assert waves["Namespace"] < waves["ExternalSecret"] < waves["Deployment"], waves
    assert waves["PersistentVolumeClaim"] == waves["Deployment"], "a PVC waiting for its first consumer would block"


def test_reloader_can_be_switched_off(tmp_path):
    proc, out = run_roles(tmp_path, {"qdrant_reloader_enabled": "false"}, roles=["qdrant"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dep = by_kind(load_dir(out), "Deployment", "qdrant")
    assert "annotations" not in dep["metadata"]


@pytest.mark.parametrize("secret_path", ["", "relative/secret.yaml", "{out}/secret.yaml", "{out}/sub/../x.yaml"])
def test_kubernetes_backend_render_without_an_outside_path_is_refused(tmp_path, secret_path):
    """No plaintext key into the Git directory: refused before anything is written, naming the choices."""
    extra = {"qdrant_secret_backend": "kubernetes",
             "qdrant_render_secret_path": secret_path.format(out=tmp_path / "out")}
    proc, out = run_roles(tmp_path, extra, roles=["secrets"])
    assert proc.returncode != 0
    text = " ".join((proc.stdout + proc.stderr).split())
    for choice in ("qdrant_secret_backend=external-secrets", "qdrant_render_secret_path=", "qdrant_render_dir empty"):
        assert choice in text, text[-3000:]
    assert not out.exists()


def test_a_secret_left_by_an_earlier_render_is_removed(tmp_path):
    """Earlier versions wrote the kubernetes backend's Secret into the render directory: the next render removes it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "secret-app-qdrant-api-key.yaml").write_text("apiVersion: v1\nkind: Secret\n")
    proc, out = run_roles(tmp_path, {}, roles=["secrets"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "externalsecret-app-qdrant-api-key.yaml", "kustomization.yaml", "namespace-qdrant.yaml"]


def test_generated_key_is_stable_and_never_printed(tmp_path):
    secret_path = tmp_path / "secret.yaml"
    extra = {"qdrant_secret_backend": "kubernetes", "qdrant_render_secret_path": str(secret_path)}
    first, out = run_roles(tmp_path, extra, roles=["secrets", "qdrant"])
    assert first.returncode == 0, first.stdout + first.stderr
    secret = yaml.safe_load(secret_path.read_text())
    dep = yaml.safe_load((out / "deployment-qdrant.yaml").read_text())
    second, dummy = run_roles(tmp_path, extra, roles=["secrets", "qdrant"])
    assert second.returncode == 0
    assert "changed=0" in second.stdout, second.stdout
    assert yaml.safe_load(secret_path.read_text()) == secret
    assert yaml.safe_load((out / "deployment-qdrant.yaml").read_text()) == dep
    import base64
    key = secret["data"]["QDRANT__SERVICE__API_KEY"]
    for proc in (first, second):
        assert key not in proc.stdout + proc.stderr
        assert base64.b64decode(key).decode() not in proc.stdout + proc.stderr
    # Rotation: a new key changes the checksum annotation, so the pod restarts.
    third, dummy = run_roles(tmp_path, {**extra, "qdrant_api_key": "rotated-key-0123456789abcdef"}, roles=["secrets", "qdrant"])
    assert third.returncode == 0
    assert "rotated-key-0123456789abcdef" not in third.stdout + third.stderr
    rotated = yaml.safe_load((out / "deployment-qdrant.yaml").read_text())
    key_annotation = "peekoff.qdrant/api-key-checksum"
    assert rotated["spec"]["template"]["metadata"]["annotations"][key_annotation] != \
        dep["spec"]["template"]["metadata"]["annotations"][key_annotation]


def test_switched_off_objects_leave_the_render_dir(tmp_path):
    proc, out = run_roles(tmp_path, {"qdrant_grpc_route_enabled": True}, roles=["gateway_routes"])
    assert proc.returncode == 0 and (out / "grpcroute-qdrant-grpc.yaml").exists()
    proc, out = run_roles(tmp_path, {}, roles=["gateway_routes"])
    assert proc.returncode == 0 and not (out / "grpcroute-qdrant-grpc.yaml").exists()
    assert "grpcroute-qdrant-grpc.yaml" not in (out / "kustomization.yaml").read_text()
    # absent keeps the PVC file unless qdrant_storage_delete
    proc, out = run_roles(tmp_path, {}, roles=ROLES)
    proc, out = run_roles(tmp_path, {"qdrant_state": "absent"}, roles=ROLES)
    assert proc.returncode == 0, proc.stdout
    assert sorted(p.name for p in out.glob("*.yaml")) == [
        "kustomization.yaml", "namespace-qdrant.yaml", "persistentvolumeclaim-qdrant-storage.yaml"]


@pytest.mark.parametrize("extra, role, needle", [
    ({"qdrant_storage_size": "lots"}, "storage", "qdrant_storage_size"),
    ({"qdrant_hostnames": ["qdrant example.com"]}, "gateway_routes", "qdrant_hostnames"),
    ({"qdrant_secret_backend": "vault"}, "secrets", "qdrant_secret_backend"),
    ({"qdrant_gateway_parent_refs": [{"namespace": "gateway"}]}, "gateway_routes", "qdrant_gateway_parent_refs"),
    ({"qdrant_image_tag": "latest"}, "qdrant", "qdrant_image_tag"),
    ({"qdrant_version": "1.19"}, "qdrant", "qdrant_version"),
    ({"qdrant_config": {"service": {"api_key": "x"}}}, "qdrant", "qdrant_config"),
    ({"qdrant_namespace": "Bad_NS"}, "storage", "qdrant_namespace"),
    ({"qdrant_grpc_route_enabled": True, "qdrant_grpc_hostnames": ["qdrant.peekoff.com"]}, "gateway_routes",
     "qdrant_grpc_hostnames"),
    ({"qdrant_secret_refresh_interval": "hourly"}, "secrets", "qdrant_secret_refresh_interval"),
    ({"qdrant_state": "gone"}, "qdrant", "qdrant_state"),
])
def test_bad_variables_fail_before_anything_is_written(tmp_path, extra, role, needle):
    proc, out = run_roles(tmp_path, extra, roles=[role])
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr
    assert not out.exists(), "nothing may be written when validation fails"


@pytest.mark.parametrize("extra, needles", [
    ({"qdrant_extra_env": [{"name": "QDRANT__SERVICE__ALT_API_KEY", "value": "second-full-key"}]},
     ["QDRANT__SERVICE__ALT_API_KEY", "second full key", "qdrant_alt_api_key_secret_key"]),
    ({"qdrant_extra_env": [{"name": "QDRANT__SERVICE__READ_ONLY_API_KEY", "value": "ro"}]},
     ["QDRANT__SERVICE__READ_ONLY_API_KEY", "qdrant_read_only_api_key_enabled"]),
    ({"qdrant_extra_env": [{"name": "qdrant__service__jwt_rbac", "value": "true"}]},  # env names in any case
     ["QDRANT__SERVICE__JWT_RBAC", "Use qdrant_jwt_rbac"]),
    ({"qdrant_extra_env": [{"name": "QDRANT__SERVICE__METRICS_PORT", "value": "9090"}]},
     ["QDRANT__SERVICE__METRICS_PORT", "without any authentication", "qdrant_http_port"]),
    ({"qdrant_config": {"service": {"jwt_rbac": True}}}, ["qdrant_config.service.jwt_rbac", "Use qdrant_jwt_rbac"]),
    ({"qdrant_config": {"service": {"metrics_port": 9090}}},
     ["qdrant_config.service.metrics_port", "without any authentication"]),
    ({"qdrant_config": {"service": {"alt_api_key": "k"}}}, ["qdrant_config.service.alt_api_key", "second full key"]),
])
def test_settings_the_role_owns_are_refused_naming_what_to_use(tmp_path, extra, needles):
    """Qdrant reads service.* from its config files and QDRANT__SERVICE__* from the env (src/settings.rs,
    Settings::new: Environment::with_prefix("QDRANT").separator("__")); the role owns the keys, JWT RBAC and
    refuses an unauthenticated metrics port (ServiceConfig.metrics_port)."""
    proc, out = run_roles(tmp_path, extra, roles=["qdrant"])
    assert proc.returncode != 0
    for needle in needles:
        assert needle in proc.stdout + proc.stderr, needle
    assert "second-full-key" not in proc.stdout + proc.stderr
    assert not out.exists(), "nothing may be written when validation fails"
