"""End-to-end: ``ansible-playbook site.yml`` against a fresh local cluster (Kubernetes API emulator + Qdrant
stand-in, see conftest.py), asserting what a user relies on:

- a converge creates the reference deployment and the verify play proves it; a second run changes nothing;
  ``--tags qdrant_verify`` proves it again;
- ``--check`` predicts changes and applies nothing; ``--check --diff`` shows a changed variable and applies nothing;
- a full converge at -vvv prints no key, no base64 of a key and no JWT;
- bad input fails before anything is applied, naming the variable (also for the last role, gateway_routes);
- an instance whose authentication is broken fails the run naming the failed checks;
- ``qdrant_state=absent`` removes everything but the PVC.

Each playbook run costs 15-25 s; the module makes about a dozen. Every test that changes the cluster in a way
another test could see gets a cluster of its own (``make_local_cluster``); clusters are per xdist worker.
"""
import base64
import json
import re

import pytest

NS = "qdrant"
SECRET = "app-qdrant-api-key"
KEY_FIELD = "QDRANT__SERVICE__API_KEY"
RO_KEY_FIELD = "QDRANT__SERVICE__READ_ONLY_API_KEY"
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Every object a default converge (secret backend kubernetes, no GRPCRoute) manages: (apiVersion, kind, name).
MANAGED = [
    ("v1", "Secret", SECRET),
    ("v1", "PersistentVolumeClaim", "qdrant-storage"),
    ("apps/v1", "Deployment", "qdrant"),
    ("v1", "Service", "qdrant"),
    ("networking.k8s.io/v1", "NetworkPolicy", "qdrant-ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy", "qdrant-egress"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant"),
]


def _failure_text(run):
    """The output from the first failure on (where the message naming the variable is)."""
    out = run.output
    i = out.find("FAILED!")
    return out[i:] if i >= 0 else out


def _applied_writes(cluster):
    """Write requests to the Kubernetes API that were not dry-runs.

    Requests through the service proxy go to Qdrant, not to the API's objects: qdrant_check's write probe
    (DELETE of a collection that does not exist) is one of them and changes nothing.
    """
    return [(m, p) for m, p, q in list(cluster.emu.requests)
            if m in WRITE_METHODS and "dryRun" not in (q or "") and "/proxy/" not in p]


def _proxied_writes(cluster):
    """Write requests that went through the service proxy to Qdrant."""
    return [(m, p) for m, p, q in list(cluster.emu.requests) if m in WRITE_METHODS and "/proxy/" in p]


def _snapshot(cluster):
    """resourceVersion and spec/data of every managed object (None when absent), plus the Namespace."""
    snap = {}
    for api_version, kind, name in MANAGED + [("v1", "Namespace", NS)]:
        obj = cluster.get(api_version, kind, name, namespace="" if kind == "Namespace" else None)
        snap[(kind, name)] = None if obj is None else json.dumps(
            [obj["metadata"].get("resourceVersion"), obj.get("spec"), obj.get("data")], sort_keys=True)
    return snap


def _container(deployment):
    return deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module")
def converged(local_cluster):
    """The module's cluster after one converge with the local-cluster settings (as scripts/deploy.sh runs it)."""
    return local_cluster.run()


# ------------------------------------------------------------------------------------------------- converge

def test_converge_creates_the_reference_deployment_and_verifies_it(local_cluster, converged):
    run = converged
    assert run.rc == 0, run.tail()
    assert run.recap["failed"] == 0 and run.recap["changed"] > 0, run.recap

    dep = local_cluster.get("apps/v1", "Deployment", "qdrant")
    assert dep is not None, "no Deployment qdrant/qdrant"
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    c = _container(dep)
    assert c["image"] == "qdrant/qdrant:v1.19.0-unprivileged"
    env = {e["name"]: e for e in c.get("env") or []}
    assert env[KEY_FIELD].get("valueFrom", {}).get("secretKeyRef") == {"name": SECRET, "key": KEY_FIELD}, env.get(
        KEY_FIELD)
    assert "value" not in env[KEY_FIELD], "the API key is inlined in the Deployment"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    pvc_volume = [n for n, v in volumes.items()
                  if v.get("persistentVolumeClaim", {}).get("claimName") == "qdrant-storage"]
    assert pvc_volume and mounts.get(pvc_volume[0]) == "/qdrant/storage", (mounts, volumes)

    pvc = local_cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")
    assert pvc is not None and pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"

    svc = local_cluster.get("v1", "Service", "qdrant")
    assert svc is not None
    assert sorted(p["port"] for p in svc["spec"]["ports"]) == [6333, 6334]
    assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()

    secret = local_cluster.get("v1", "Secret", SECRET)
    assert secret is not None and base64.b64decode(secret["data"][KEY_FIELD]), "the Secret holds no API key"

    route = local_cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant")
    assert route is not None
    parents = sorted((p["name"], p.get("namespace")) for p in route["spec"]["parentRefs"])
    assert parents == [("external", "gateway"), ("internal", "gateway")]
    assert route["spec"]["hostnames"] == ["qdrant.peekoff.com"]
    backends = [(b["name"], b["port"]) for rule in route["spec"]["rules"] for b in rule.get("backendRefs") or []]
    assert backends == [("qdrant", 6333)]

    for api_version, kind, name in MANAGED:
        assert local_cluster.get(api_version, kind, name) is not None, "%s %s missing" % (kind, name)

    # The verify play ran qdrant_check through the service proxy against the stand-in and every check passed.
    assert "is ready and its authentication holds" in run.output, run.tail()
    for check in ("liveness", "readiness", "no_credential_refused", "wrong_key_refused", "full_key_reads",
                  "full_key_writes"):
        assert check in run.output
    assert any(path == "/readyz" for _m, path, _s in local_cluster.standin.requests)


def test_second_run_changes_nothing(local_cluster, converged):
    assert converged.rc == 0, converged.tail()
    before = _snapshot(local_cluster)
    run = local_cluster.run()
    assert run.rc == 0, run.tail()
    assert run.recap, "no PLAY RECAP:\n" + run.tail()
    assert run.recap["changed"] == 0, "second run not idempotent: %s\n%s" % (
        run.recap, "\n".join(l for l in run.output.splitlines() if l.startswith(("changed:", "TASK ["))))
    assert _snapshot(local_cluster) == before, "a second run modified objects"


def test_tag_qdrant_verify_runs_the_check(local_cluster, converged):
    """README: tag qdrant_verify; ``--tags qdrant_verify`` on a deployed instance must prove it again."""
    assert converged.rc == 0, converged.tail()
    local_cluster.emu.reset_requests()
    run = local_cluster.run("--tags", "qdrant_verify")
    assert run.rc == 0, run.tail()
    assert run.recap["changed"] == 0, run.recap
    assert "is ready and its authentication holds" in run.output, (
        "--tags qdrant_verify did not run qdrant_check:\n" + run.tail())
    assert local_cluster.emu.count_requests(path=r"/services/[^/]*qdrant:6333/proxy/") > 0
    assert _applied_writes(local_cluster) == []
    # The only write the check sends is its probe, a DELETE of a random collection that does not exist.
    probes = _proxied_writes(local_cluster)
    assert probes and all(m == "DELETE" and "/collections/qdrant-check-" in p for m, p in probes), probes


# ------------------------------------------------------------------------------------------------- check mode

def test_check_on_a_fresh_cluster_predicts_changes_and_creates_nothing(make_local_cluster):
    cluster = make_local_cluster()
    run = cluster.run(check=True)
    assert run.rc == 0, run.tail()
    assert run.recap["changed"] > 0, "check mode on an empty cluster predicted no change: %s" % run.recap
    assert cluster.objects_in(NS) == [], "check mode created objects: %s" % cluster.objects_in(NS)
    assert _applied_writes(cluster) == [], "check mode sent writes that were not dry-runs"


def test_check_diff_shows_a_changed_variable_and_changes_nothing(local_cluster, converged):
    assert converged.rc == 0, converged.tail()
    before = _snapshot(local_cluster)
    local_cluster.emu.reset_requests()
    resources = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "6Gi"}}
    run = local_cluster.run("-e", "qdrant_storage_size=60Gi", "-e", json.dumps({"qdrant_resources": resources}),
                            check=True, diff=True)
    assert run.rc == 0, run.tail()
    assert run.recap["changed"] > 0, "a changed size and limit were not reported as changes: %s" % run.recap
    assert _snapshot(local_cluster) == before, "--check changed objects"
    assert _applied_writes(local_cluster) == [], "--check sent writes that were not dry-runs"
    assert local_cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["spec"]["resources"]["requests"][
        "storage"] == "50Gi"
    # the unified diff Ansible prints for --diff: the old value removed, the new one added
    out = run.output
    assert re.search(r"^-\s.*storage: 50Gi", out, re.M) and re.search(r"^\+\s.*storage: 60Gi", out, re.M), (
        "--diff does not show the PVC size change 50Gi -> 60Gi:\n" + run.tail())
    assert re.search(r"^\+\s.*memory: 6Gi", out, re.M), "--diff does not show the memory limit change:\n" + run.tail()


# ------------------------------------------------------------------------------------------------- secrets

def test_full_converge_at_vvv_prints_no_key_and_no_token(make_local_cluster):
    cluster = make_local_cluster()
    run = cluster.run("-e", "qdrant_read_only_api_key_enabled=true", "-e", "qdrant_jwt_rbac=true", verbosity=3)
    assert run.rc == 0, run.tail()
    assert run.recap["failed"] == 0
    # the JWT and read-only checks really ran (so tokens were minted and used during this run)
    for check in ("read_only_key_reads", "read_only_key_refused_writes", "jwt_read_token_reads",
                  "jwt_wrong_signature_refused"):
        assert check in run.output, "check %s did not run" % check

    secret = cluster.get("v1", "Secret", SECRET)
    assert secret is not None
    data = secret["data"]
    assert KEY_FIELD in data and RO_KEY_FIELD in data, sorted(data)
    out = run.output
    for field in (KEY_FIELD, RO_KEY_FIELD):
        b64 = data[field]
        key = base64.b64decode(b64).decode()
        assert len(key) >= 16
        assert key not in out, "%s printed in clear at -vvv" % field
        assert b64 not in out and b64.rstrip("=") not in out, "%s printed base64-encoded at -vvv" % field
        assert base64.urlsafe_b64encode(key.encode()).decode().rstrip("=") not in out
    tokens = JWT_RE.findall(out)
    assert not tokens, "a JWT was printed at -vvv: %s..." % tokens[0][:10]


# ------------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("extra_var, variable", [
    ("qdrant_storage_size=lots", "qdrant_storage_size"),
    (json.dumps({"qdrant_hostnames": ["qdrant peekoff.com"]}), "qdrant_hostnames"),
    ("qdrant_secret_backend=vault", "qdrant_secret_backend"),
    (json.dumps({"qdrant_gateway_parent_refs": [{"namespace": "gateway"}, {"name": "internal"}]}),
     "qdrant_gateway_parent_refs"),
], ids=["storage_size", "hostname_with_space", "secret_backend", "parent_ref_without_name"])
def test_bad_input_fails_before_anything_is_applied(make_local_cluster, extra_var, variable):
    cluster = make_local_cluster()
    run = cluster.run("-e", extra_var)
    assert run.rc != 0, "bad %s was accepted:\n%s" % (variable, run.tail())
    assert variable in _failure_text(run), "the failure does not name %s:\n%s" % (variable, run.tail())
    assert cluster.objects_in(NS) == [], "objects were applied before %s was refused: %s" % (
        variable, cluster.objects_in(NS))
    assert _applied_writes(cluster) == [], "writes were sent before %s was refused: %s" % (
        variable, _applied_writes(cluster))


def test_refused_shrink_applies_nothing_else_of_the_run(local_cluster, converged):
    """The PVC guard reads the cluster, and still refuses before the secrets role rotates the key."""
    assert converged.rc == 0, converged.tail()
    before = _snapshot(local_cluster)
    local_cluster.emu.reset_requests()
    run = local_cluster.run("-e", "qdrant_storage_size=10Gi", "-e", "qdrant_api_key=" + "r0tated" * 6)
    assert run.rc != 0, "shrinking the PVC was accepted:\n" + run.tail()
    assert "qdrant_storage_size" in _failure_text(run), run.tail()
    assert _applied_writes(local_cluster) == [], _applied_writes(local_cluster)
    assert _snapshot(local_cluster) == before, "objects changed in a run whose PVC shrink was refused"


# ------------------------------------------------------------------------------------------------- verify

def test_instance_with_broken_auth_fails_the_run_naming_the_checks(make_local_cluster):
    # The stand-in gets its keys from the Deployment like a pod, but checks none of them.
    cluster = make_local_cluster(auth_disabled=True)
    run = cluster.run()
    assert run.rc != 0, "a Qdrant that lets everybody in passed verification:\n" + run.tail()
    assert run.recap.get("failed", 0) >= 1, run.recap
    failure = _failure_text(run)
    assert "no_credential_refused" in failure and "wrong_key_refused" in failure, run.tail()
    # the deployment itself went through; only the proof failed
    assert cluster.get("apps/v1", "Deployment", "qdrant") is not None
    key = base64.b64decode(cluster.get("v1", "Secret", SECRET)["data"][KEY_FIELD]).decode()
    assert key not in run.output


# ------------------------------------------------------------------------------------------------- removal

def test_state_absent_removes_everything_but_the_pvc(make_local_cluster):
    cluster = make_local_cluster()
    run = cluster.run()
    assert run.rc == 0, run.tail()
    pvc_uid = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["metadata"]["uid"]

    run = cluster.run("-e", "qdrant_state=absent")
    assert run.rc == 0, run.tail()
    assert run.recap["changed"] > 0
    left = [(kind, name) for api_version, kind, name in MANAGED if cluster.get(api_version, kind, name) is not None]
    assert left == [("PersistentVolumeClaim", "qdrant-storage")], "after state=absent: %s" % left
    assert cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["metadata"]["uid"] == pvc_uid, (
        "the PVC was recreated: its data would be gone")
    assert cluster.get("v1", "Namespace", NS, namespace="") is not None, "the Namespace holding the PVC was deleted"
