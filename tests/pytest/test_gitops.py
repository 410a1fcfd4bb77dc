"""GitOps parity: what the render (``qdrant_render_dir``) gives Argo CD or Flux is what apply mode applies, and the
GitOps path is proven like the Ansible path.

- Every combination of the options that change objects (read-only key, JWT RBAC, GRPCRoute, NetworkPolicies, and
  the secret backend and Reloader switch), as each role reads them (see combinations()), is rendered and applied in
  ONE ansible-playbook run each: one inventory host per combination, each with its own namespace (and render
  directory), instead of two playbook runs of ~20 s per combination.
  ``kubectl kustomize DIR`` (kustomize as Argo CD and Flux run it) must give, object for object and field for field,
  the apply configuration kubernetes.core sent to the API server in apply mode (the emulator keeps each field
  manager's last applied configuration, as a real server keeps its managedFields: nothing server-populated is in
  it, so nothing has to be excluded). The Secret of the ``kubernetes`` backend must be absent from the render and
  equal to the file written to ``qdrant_render_secret_path``.
- The render applied the way Argo CD applies it (sync wave by sync wave, server-side apply with field manager
  ``argocd-controller``; External Secrets Operator acted by the test between the waves) comes up behind the
  Service, and peekoff.qdrant.verify (qdrant_check through the API server's service proxy) proves it.
- A key changed behind the Deployment's back (as External Secrets Operator does on refresh) is reported by verify as
  a stale key, naming the pod, before qdrant_check runs: by the key checksum (apply mode), by Stakater Reloader's
  record (GitOps, after Reloader restarted the pod once) or by time (a re-created Secret; the emulator keeps no
  managedFields, so an updated Secret without any fingerprint on the pod is not covered here). A restart as Reloader
  makes it (its env-vars strategy patch) clears it. Reloader itself does not run here; the test makes its patch.

Cost (2-core machine shared with other jobs): the matrix renders in 70-130 s and applies in 95-115 s; the Argo CD
test takes about 90 s (one render, four verify runs).
"""
import base64
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time

import pytest
import yaml


SECRET = "app-qdrant-api-key"
KEY_FIELD = "QDRANT__SERVICE__API_KEY"
RO_KEY_FIELD = "QDRANT__SERVICE__READ_ONLY_API_KEY"
WAVE = "argocd.argoproj.io/sync-wave"


def kubectl():
    exe = os.environ.get("KUBECTL") or "/usr/bin/kubectl"
    if not os.path.exists(exe):
        pytest.fail("kubectl (with its built-in kustomize) is needed: install the kubectl client or set KUBECTL")
    return exe


def kustomize_build(directory):
    proc = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def ident(obj):
    return (obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def applied_configs(cluster, namespace, manager):
    """{identity: the configuration ``manager`` last applied} for the objects in ``namespace`` and the Namespace."""
    out = {}
    with cluster.emu.cluster.lock:
        for key, by_manager in cluster.emu.cluster.applied.items():
            if (key[2] == namespace or key[1:] == ("namespaces", "", namespace)) and manager in by_manager:
                cfg = by_manager[manager]
                out[ident(cfg)] = cfg
    return out


def combinations():
    """Every combination of the options each role reads, in 8 hosts, each running only the roles whose objects it
    needs to compare (a role's objects depend only on its own variables):

    - qdrant (read-only key, JWT RBAC, NetworkPolicies; the backend for the key checksum): all 8 hosts, all 8
      combinations of its three switches, both backends;
    - secrets (read-only key x backend, 4 combinations): the 4 kubernetes-backend hosts (the qdrant role reads their
      Secret for the checksum) and an external-secrets host with and one without the read-only key;
    - gateway_routes (GRPCRoute on/off): two hosts; storage (no switch): one host.

    17 role runs per mode instead of 32 (8 hosts x 4 roles) or 64 (16 combinations x 4 roles). Measured on the
    2-core machine while shared: 8 hosts x 4 roles took 121 s to render and 117 s to apply; Ansible's per-task cost
    is CPU, so hosts side by side save only the process start-up, and fewer role runs is what makes it cheaper."""
    out = []
    for i, (ro, jwt, np) in enumerate(itertools.product([False, True], repeat=3)):
        backend = "kubernetes" if jwt ^ np else "external-secrets"
        roles = ((["secrets"] if backend == "kubernetes" or not (jwt or np) else [])
                 + (["storage"] if i == 0 else []) + ["qdrant"] + (["gateway_routes"] if i < 2 else []))
        out.append({"qdrant_read_only_api_key_enabled": ro, "qdrant_jwt_rbac": jwt,
                    "qdrant_network_policy_enabled": np, "qdrant_grpc_route_enabled": bool(i % 2),
                    "qdrant_secret_backend": backend,
                    # external-secrets: the default (null: on in both modes); kubernetes: both explicit values.
                    "qdrant_reloader_enabled": ro if jwt ^ np else None,
                    "matrix_roles": roles})
    return out


def write_matrix(tmp_path, extra_for_host):
    """An inventory with one local host per combination and a playbook running the four roles."""
    hosts = {}
    for i, combo in enumerate(combinations()):
        name = "c%02d" % i
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                       "qdrant_namespace": "qdrant-" + name, "qdrant_wait": False,
                       "qdrant_api_key": "full-key-%s-0123456789abcdef" % name,
                       "qdrant_read_only_api_key": "read-only-key-%s-0123456789" % name,
                       **combo, **extra_for_host(name)}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    playbook = tmp_path / "matrix.yml"
    # One task per role, in site.yml's order. Not one include_role looping over matrix_roles: Ansible's linear
    # strategy merges equal includes of all hosts into one list in the order the hosts' results arrive
    # (IncludedFile.process_include_results), so a host whose only role is qdrant, answering first, put the qdrant
    # include before the secrets include of the other hosts; their qdrant role then hashed a Secret not yet written.
    playbook.write_text(yaml.safe_dump([{"name": "Every combination", "hosts": "all", "gather_facts": False,
                                         "tasks": [{"name": "Run the %s role where this host needs it" % role,
                                                    "ansible.builtin.include_role": {"name": "peekoff.qdrant." + role},
                                                    "when": "'%s' in matrix_roles" % role}
                                                   for role in ("secrets", "storage", "qdrant", "gateway_routes")]}]))
    return inventory, playbook, hosts


@pytest.fixture(scope="module")
def matrix(local_cluster, tmp_path_factory):
    """Render and apply every combination (two ansible-playbook runs in all); yield (cluster, hosts, tmp).

    local_cluster (conftest.py) is this module's own cluster; only this fixture uses it."""
    return _render_and_apply(local_cluster, tmp_path_factory.mktemp("matrix"))


def _render_and_apply(cluster, tmp):
    inventory, playbook, hosts = write_matrix(tmp, lambda name: {
        "qdrant_render_dir": str(tmp / "render" / name),
        "qdrant_render_secret_path": str(tmp / (name + "-secret.yaml"))})
    for mode, args in (("render", []), ("apply", ["-e", "qdrant_render_dir=", "-e", "qdrant_render_secret_path="])):
        run = cluster.run("-i", str(inventory), "--forks", "8", *args, playbook=str(playbook), local_vars=False)
        assert run.rc == 0, "%s: %s" % (mode, run.tail())
        print("%s of %d combinations: %.1f s" % (mode, len(hosts), run.duration))
    return cluster, hosts, tmp


@pytest.mark.parametrize("index", range(8))
def test_kustomize_build_equals_what_apply_mode_applies(matrix, index):
    cluster, hosts, tmp = matrix
    name = "c%02d" % index
    combo = hosts[name]
    rendered = {ident(o): o for o in kustomize_build(tmp / "render" / name)}
    applied = applied_configs(cluster, combo["qdrant_namespace"], "peekoff.qdrant")
    secret_key = ("v1", "Secret", combo["qdrant_namespace"], SECRET)
    assert secret_key not in rendered, "a Secret is in the render directory"
    if "secrets" in combo["matrix_roles"] and combo["qdrant_secret_backend"] == "kubernetes":
        outside = yaml.safe_load((tmp / (name + "-secret.yaml")).read_text())
        assert outside == applied.pop(secret_key)
    assert sorted(rendered) == sorted(applied)
    for key, obj in rendered.items():
        assert obj == applied[key], key
    # The combination really is what it says (the comparison above is not between two empty sets).
    kinds = {k[1] for k in rendered}
    roles = combo["matrix_roles"]
    assert ("GRPCRoute" in kinds) == ("gateway_routes" in roles and combo["qdrant_grpc_route_enabled"])
    assert ("HTTPRoute" in kinds) == ("gateway_routes" in roles)
    assert ("PersistentVolumeClaim" in kinds) == ("storage" in roles)
    assert ("NetworkPolicy" in kinds) == combo["qdrant_network_policy_enabled"]
    assert ("ExternalSecret" in kinds) == ("secrets" in roles and combo["qdrant_secret_backend"] == "external-secrets")
    if "secrets" in roles and combo["qdrant_secret_backend"] == "external-secrets":
        es = rendered[("external-secrets.io/v1", "ExternalSecret", combo["qdrant_namespace"], SECRET)]
        assert len(es["spec"]["data"]) == 1 + combo["qdrant_read_only_api_key_enabled"]
    dep = rendered[("apps/v1", "Deployment", combo["qdrant_namespace"], "qdrant")]
    env = {e["name"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (RO_KEY_FIELD in env) == combo["qdrant_read_only_api_key_enabled"]
    assert ("QDRANT__SERVICE__JWT_RBAC" in env) == combo["qdrant_jwt_rbac"]
    reloader = combo["qdrant_reloader_enabled"]
    assert (dep["metadata"].get("annotations") or {}).get("secret.reloader.stakater.com/reload") == (
        SECRET if reloader or reloader is None else None)
    checksum = (dep["spec"]["template"]["metadata"].get("annotations") or {}).get("peekoff.qdrant/api-key-checksum")
    assert (checksum is not None) == (combo["qdrant_secret_backend"] == "kubernetes")


# ------------------------------------------------------------------ the GitOps path, proven like the Ansible path

def kubectl_at(cluster, *args, stdin=None):
    proc = subprocess.run([kubectl(), "--kubeconfig", cluster.kubeconfig, *args], input=stdin, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, "kubectl %s: %s" % (" ".join(args), proc.stderr)
    return proc.stdout


def argocd_sync(cluster, objects):
    """Apply the objects the way Argo CD syncs them with ServerSideApply=true: wave by wave (lowest
    argocd.argoproj.io/sync-wave first), server-side apply with Argo CD's field manager. Returns the waves."""
    waves = {}
    for obj in objects:
        waves.setdefault(int((obj["metadata"].get("annotations") or {}).get(WAVE, "0")), []).append(obj)
    for wave in sorted(waves):
        kubectl_at(cluster, "apply", "--server-side", "--field-manager=argocd-controller", "-f", "-",
                   stdin=yaml.safe_dump_all(waves[wave]))
        yield wave, waves[wave]


def eso_writes_secret(cluster, namespace, keys):
    """What External Secrets Operator does for the ExternalSecret: write its target Secret (its own field manager)."""
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": SECRET, "namespace": namespace},
              "data": {k: base64.b64encode(v.encode()).decode() for k, v in keys.items()}}
    kubectl_at(cluster, "apply", "--server-side", "--force-conflicts", "--field-manager=external-secrets", "-f", "-",
               stdin=yaml.safe_dump(secret))


def reloader_restarts(cluster, namespace, keys):
    """What Stakater Reloader (--reload-strategy=env-vars, its default) does when the Secret changes: a strategic
    merge patch adding STAKATER_<SECRET>_SECRET = SHA-1 of the Secret's data (internal/pkg/util/util.go
    GetSHAfromSecret; patch from internal/pkg/callbacks/rolling_upgrade.go EnvVarTemplate)."""
    sha = hashlib.sha1(";".join(sorted("%s=%s" % kv for kv in keys.items())).encode()).hexdigest()
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "qdrant", "env": [{"name": "STAKATER_APP_QDRANT_API_KEY_SECRET", "value": sha}]}]}}}}
    kubectl_at(cluster, "-n", namespace, "patch", "deployment", "qdrant", "--type", "strategic",
               "--field-manager=Reloader", "-p", json.dumps(patch))


def run_verify(cluster, tmp, **extra):
    """peekoff.qdrant.verify alone (qdrant_check through the API server's service proxy)."""
    playbook = tmp / "verify.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Verify", "hosts": "localhost", "gather_facts": False,
                                         "roles": ["peekoff.qdrant.verify"]}]))
    extra = {"qdrant_check_via": "kubernetes_proxy", "qdrant_check_wait_timeout": 30, **extra}
    return cluster.run("-e", json.dumps(extra), playbook=str(playbook), local_vars=False)


def pod_names(cluster, namespace):
    return {p["metadata"]["name"] for p in cluster.emu.cluster.list(cluster.emu._rt("v1", "Pod"), namespace)["items"]}


def new_keys(tag):
    return {KEY_FIELD: "full-%s-%s" % (tag, os.urandom(12).hex()),
            RO_KEY_FIELD: "ro-%s-%s" % (tag, os.urandom(12).hex())}


def test_render_synced_like_argocd_is_proven_by_qdrant_check(make_local_cluster, tmp_path):
    cluster = make_local_cluster()
    options = {"qdrant_read_only_api_key_enabled": True, "qdrant_jwt_rbac": True}
    render = cluster.run("-e", json.dumps({"qdrant_render_dir": str(tmp_path / "render"), **options}),
                         local_vars=False)
    assert render.rc == 0, render.tail()
    objects = kustomize_build(tmp_path / "render")
    assert not [o for o in objects if o["kind"] == "Secret"]

    keys = new_keys("first")
    order = []
    for wave, objs in argocd_sync(cluster, objects):
        order.append((wave, sorted(o["kind"] for o in objs)))
        if any(o["kind"] == "ExternalSecret" for o in objs):
            # Argo CD waits for the wave to be healthy (the ExternalSecret Ready): External Secrets Operator
            # has written the Secret before the Deployment's wave is applied.
            eso_writes_secret(cluster, "qdrant", keys)
    assert [wave for wave, _kinds in order] == [-2, -1, 0], order
    assert order[0][1] == ["Namespace"] and order[1][1] == ["ExternalSecret"]
    dep_key = ("apps", "deployments", "qdrant", "qdrant")
    assert list(cluster.emu.cluster.applied[dep_key]) == ["argocd-controller"], "applied by Argo CD's manager only"

    run = run_verify(cluster, tmp_path, **options)
    assert run.rc == 0, run.tail()
    assert "is ready and its authentication holds" in run.output
    for check in ("full_key_reads", "read_only_key_reads", "read_only_key_refused_writes", "jwt_read_token_reads",
                  "jwt_collection_token_scoped"):
        assert check in run.output, run.tail()

    # The Secret is re-created with a new key after the pod started (the pod carries no fingerprint of the key:
    # an ExternalSecret rendered for GitOps, never restarted by Reloader): verify compares the times.
    time.sleep(1.1)  # timestamps have one-second resolution
    kubectl_at(cluster, "-n", "qdrant", "delete", "secret", SECRET)
    keys = new_keys("recreated")
    eso_writes_secret(cluster, "qdrant", keys)
    run = run_verify(cluster, tmp_path, **options)
    assert run.rc != 0
    text = " ".join(run.output.split())
    assert "Stale API key" in text and "started before the last write" in text, run.tail()

    # The secret store rotates the key: External Secrets Operator rewrites the Secret, Reloader restarts Qdrant.
    pods_before = pod_names(cluster, "qdrant")
    keys = new_keys("second")
    eso_writes_secret(cluster, "qdrant", keys)
    reloader_restarts(cluster, "qdrant", keys)
    pods_after = pod_names(cluster, "qdrant")
    assert pods_after and not pods_after & pods_before, "Reloader's patch did not restart the pod"
    run = run_verify(cluster, tmp_path, **options)
    assert run.rc == 0, run.tail()

    # Rotated again, but nothing restarts Qdrant (Reloader not running): verify names the stale pod.
    stale = new_keys("third")
    eso_writes_secret(cluster, "qdrant", stale)
    run = run_verify(cluster, tmp_path, **options)
    assert run.rc != 0
    text = " ".join(run.output.split())
    assert "Stale API key" in text and "pod qdrant/%s" % sorted(pods_after)[0] in text, run.tail()
    assert "does not carry the fingerprint" in text, "not told by Reloader's record on the pod: " + run.tail()
    for value in list(stale.values()) + list(keys.values()):
        assert value not in run.output and base64.b64encode(value.encode()).decode() not in run.output


def test_apply_mode_key_changed_behind_the_deployment_is_reported(matrix):
    """Apply mode, key checksum on the pod template: External Secrets Operator (or anyone) changes the Secret and no
    playbook runs; verify fails naming the pod before qdrant_check sends a single request."""
    cluster, hosts, tmp = matrix
    name = next(n for n, h in hosts.items()
                if h["qdrant_secret_backend"] == "kubernetes" and h["qdrant_read_only_api_key_enabled"])
    ns = hosts[name]["qdrant_namespace"]
    pod = sorted(pod_names(cluster, ns))
    assert len(pod) == 1
    # Control: the key the playbook applied is current (its checksum, over both keys, matches). No stand-in serves
    # this namespace, so qdrant_check then fails on its own; the key check must not be what fails.
    run = run_verify(cluster, tmp, qdrant_namespace=ns, qdrant_read_only_api_key_enabled=True,
                     qdrant_check_wait_timeout=1)
    assert run.rc != 0 and "Prove health and authentication with qdrant_check" in run.output, run.tail()
    assert "Stale API key" not in run.output, run.tail()

    def proxied():
        return [p for _m, p, _q in list(cluster.emu.requests) if "/proxy/" in p and "/namespaces/%s/" % ns in p]

    assert proxied(), "the control run's qdrant_check sent no request: the check below could not fail"
    proxied_before = len(proxied())
    keys = new_keys("changed")
    eso_writes_secret(cluster, ns, keys)
    run = run_verify(cluster, tmp, qdrant_namespace=ns, qdrant_read_only_api_key_enabled=True)
    assert run.rc != 0
    text = " ".join(run.output.split())
    assert "Stale API key: pod %s/%s" % (ns, pod[0]) in text and "does not carry the fingerprint" in text, run.tail()
    assert len(proxied()) == proxied_before, "qdrant_check ran although the key is stale"
    for value in keys.values():
        assert value not in run.output
