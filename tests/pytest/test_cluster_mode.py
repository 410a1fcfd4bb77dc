"""Distributed mode of the qdrant role (qdrant_replicas > 1): what it renders (a StatefulSet of peers shaped like the
official Qdrant Helm chart's, its headless Service, a PodDisruptionBudget, NetworkPolicy rules for the peers only),
validated against the Kubernetes OpenAPI schemas; how each peer starts (the real bash script run with a fake
entrypoint); that one replica renders exactly what it rendered before distributed mode existed; and, against the
Kubernetes API emulator with the Qdrant stand-in, that site.yml converges 3 peers idempotently with a truthful
--check, proves the cluster with qdrant_check expect_peers, and refuses, before anything is applied, every switch
that would start peers on empty volumes next to the data or leave the other workload running."""
import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from test_monitoring_render import servicemonitor_schema
from test_roles_render import PLAYBOOK_BIN, ROOT, by_kind, load_dir, validate

GOLDEN = Path(__file__).parent / "golden" / "qdrant_single_node"
# The variables the golden files were rendered with: what the qdrant role wrote before distributed mode existed
# (commit ecb5244), byte for byte, except that snapshot data moved to the data volume (issue 20, point 1).
GOLDEN_VARS = {
    "default": {},
    "full": {"qdrant_read_only_api_key_enabled": True, "qdrant_jwt_rbac": True,
             "qdrant_config": {"storage": {"performance": {"max_search_threads": 2}}},
             "qdrant_tolerations": [{"key": "db", "operator": "Exists", "effect": "NoSchedule"}],
             "qdrant_service_monitor_enabled": True, "qdrant_grafana_dashboard_enabled": True},
}
SELECTOR = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant",
            "app.kubernetes.io/component": "database"}


def render(tmp_path, extra_vars, *cli, roles=("storage", "qdrant")):
    """Render the roles into tmp_path/out with extra_vars (JSON) and extra command-line args; (proc, out)."""
    out = tmp_path / "out"
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"qdrant_render_dir": str(out), **extra_vars}))
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Render", "hosts": "localhost", "gather_facts": False,
                                         "roles": [f"peekoff.qdrant.{r}" for r in roles]}]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run([PLAYBOOK_BIN, str(playbook), "-e", f"@{vars_file}", *cli], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    return proc, out


@pytest.fixture(scope="module")
def cluster_render(tmp_path_factory):
    # From the command line, as a user types it: the string "3" must work.
    proc, out = render(tmp_path_factory.mktemp("cluster"), {"qdrant_storage_class": "fast-ssd",
                                                            "qdrant_storage_size": "20Gi",
                                                            "qdrant_service_monitor_enabled": True},
                       "-e", "qdrant_replicas=3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return load_dir(out)


# ----------------------------------------------------------------------------------------------- render

@pytest.mark.parametrize("which, replicas", [("default", "1"), ("full", None)])
def test_one_replica_renders_exactly_the_single_node_as_before(tmp_path, which, replicas):
    """Byte for byte the files the qdrant role wrote before distributed mode (golden/, same variables)."""
    cli = ["-e", f"qdrant_replicas={replicas}"] if replicas else []
    proc, out = render(tmp_path, GOLDEN_VARS[which], *cli, roles=("qdrant",))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Stored as <file>.golden so that yamllint and ansible-lint leave the rendered text as it is.
    want = sorted(p.name[:-len(".golden")] for p in (GOLDEN / which).glob("*.golden"))
    assert sorted(p.name for p in out.iterdir()) == want
    for name in want:
        assert (out / name).read_text() == (GOLDEN / which / (name + ".golden")).read_text(), name


def test_cluster_objects_validate_and_replace_the_single_node(cluster_render):
    for obj in cluster_render.values():
        if obj["kind"] == "ServiceMonitor":
            jsonschema.validate(obj, servicemonitor_schema())  # the pinned Prometheus Operator CRD
        else:
            validate(obj)
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in cluster_render.values())
    assert kinds == [("Namespace", "qdrant"), ("NetworkPolicy", "qdrant-egress"), ("NetworkPolicy", "qdrant-ingress"),
                     ("PodDisruptionBudget", "qdrant"), ("Service", "qdrant"), ("Service", "qdrant-headless"),
                     ("ServiceMonitor", "qdrant"), ("StatefulSet", "qdrant")]
    # No Deployment and no standalone PVC (the storage role leaves the claims to the volumeClaimTemplate).


def test_statefulset_of_peers(cluster_render):
    sts = by_kind(cluster_render, "StatefulSet", "qdrant")
    spec = sts["spec"]
    assert spec["replicas"] == 3 and isinstance(spec["replicas"], int)
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["serviceName"] == "qdrant-headless"
    assert spec["selector"] == {"matchLabels": SELECTOR}
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    (vct,) = spec["volumeClaimTemplates"]
    assert vct["metadata"]["name"] == "qdrant-storage"
    assert vct["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd",
                           "resources": {"requests": {"storage": "20Gi"}}}
    pod = spec["template"]["spec"]
    (c,) = pod["containers"]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/qdrant/storage"] == "qdrant-storage"  # the claim template, not a fixed PVC
    assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["QDRANT__CLUSTER__ENABLED"] == "true"
    assert env["QDRANT__CLUSTER__P2P__PORT"] == "6335"
    assert env["QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH"] == "true"
    assert "QDRANT__SERVICE__API_KEY" in env  # the key internal auth makes peers present
    assert {"name": "p2p", "containerPort": 6335, "protocol": "TCP"} in c["ports"]
    assert c["command"] == ["/bin/bash", "-c"]
    assert pod["topologySpreadConstraints"] == [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                 "whenUnsatisfiable": "ScheduleAnyway",
                                                 "labelSelector": {"matchLabels": SELECTOR}}]
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_headless_service_pdb_and_service_monitor(cluster_render):
    svc = by_kind(cluster_render, "Service", "qdrant-headless")
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True
    assert svc["spec"]["selector"] == SELECTOR
    assert {"name": "p2p", "port": 6335, "targetPort": "p2p", "protocol": "TCP"} in svc["spec"]["ports"]
    client = by_kind(cluster_render, "Service", "qdrant")
    assert "clusterIP" not in client["spec"] and [p["name"] for p in client["spec"]["ports"]] == ["http", "grpc"]
    pdb = by_kind(cluster_render, "PodDisruptionBudget", "qdrant")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": SELECTOR}}
    # The ServiceMonitor selects the client Service only: the headless one (same pods) would double every target.
    sel = by_kind(cluster_render, "ServiceMonitor", "qdrant")["spec"]["selector"]
    labels_client, labels_headless = client["metadata"]["labels"], svc["metadata"]["labels"]

    def matches(labels):
        return (all(labels.get(k) == v for k, v in sel["matchLabels"].items())
                and all(e["key"] not in labels for e in sel.get("matchExpressions", []) if e["operator"] == "DoesNotExist"))
    assert matches(labels_client) and not matches(labels_headless)


def test_network_policies_let_only_the_peers_reach_each_other(cluster_render):
    peer_rule = {"podSelector": {"matchLabels": SELECTOR}}
    ingress = by_kind(cluster_render, "NetworkPolicy", "qdrant-ingress")["spec"]["ingress"]
    peer_in = [r for r in ingress if r["from"] == [peer_rule]]
    assert len(peer_in) == 1 and sorted(p["port"] for p in peer_in[0]["ports"]) == [6333, 6335]
    # Nobody else gets the p2p port: the Gateway namespaces keep 6333/6334 only.
    assert all(6335 not in [p["port"] for p in r["ports"]] for r in ingress if r is not peer_in[0])
    egress = by_kind(cluster_render, "NetworkPolicy", "qdrant-egress")["spec"]["egress"]
    peer_out = [r for r in egress if r.get("to") == [peer_rule]]
    assert len(peer_out) == 1 and sorted(p["port"] for p in peer_out[0]["ports"]) == [6333, 6335]
    # A podSelector without namespaceSelector means: this namespace only.
    assert "namespaceSelector" not in peer_out[0]["to"][0]


@pytest.mark.parametrize("hostname, want", [
    ("qdrant-0", ["--uri", "http://qdrant-0.qdrant-headless:6335"]),
    ("qdrant-2", ["--bootstrap", "http://qdrant-0.qdrant-headless:6335",
                  "--uri", "http://qdrant-2.qdrant-headless:6335"]),
])
def test_peer_zero_starts_the_cluster_and_the_others_bootstrap_from_it(cluster_render, tmp_path, hostname, want):
    """The container's own command line, run by bash with HOSTNAME as a StatefulSet pod gets it, in a directory whose
    ./entrypoint.sh records its arguments (Qdrant's image runs ./entrypoint.sh from WORKDIR /qdrant)."""
    c = by_kind(cluster_render, "StatefulSet", "qdrant")["spec"]["template"]["spec"]["containers"][0]
    entry = tmp_path / "entrypoint.sh"
    entry.write_text('#!/bin/bash\nprintf "%s\\n" "$@" > args.txt\n')
    entry.chmod(0o755)
    proc = subprocess.run(c["command"] + c["args"], cwd=tmp_path, env={"HOSTNAME": hostname, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "args.txt").read_text().split("\n")[:-1] == want


@pytest.mark.parametrize("cli, needle", [
    (["-e", "qdrant_replicas=0"], 'qdrant_replicas="0" is not usable: give a whole number'),
    (["-e", "qdrant_replicas=2"], "2 is refused: raft needs a majority"),
    (["-e", "qdrant_replicas=abc"], "qdrant_replicas"),
    (["-e", "qdrant_replicas=-3"], 'qdrant_replicas="-3" is not usable'),
])
def test_bad_replicas_fail_before_anything_is_written(tmp_path, cli, needle):
    """The storage role (first in the play) refuses them too: no PVC file is written for a refused value."""
    proc, out = render(tmp_path, {}, *cli)
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("cli, needle", [
    (["-e", "qdrant_replicas=3", "-e", "qdrant_headless_service_name=qdrant"], "qdrant_headless_service_name"),
    (["-e", '{"qdrant_replicas": 3, "qdrant_config": {"cluster": {"enabled": false}}}'], "cluster.enabled"),
    (["-e", '{"qdrant_replicas": 3, "qdrant_extra_env": [{"name": "QDRANT__CLUSTER__ENABLED", "value": "false"}]}'],
     "QDRANT__CLUSTER__ENABLED"),
])
def test_cluster_settings_the_role_owns_are_refused(tmp_path, cli, needle):
    proc, out = render(tmp_path, {}, *cli, roles=("qdrant",))
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr
    assert not out.exists()


def test_switching_the_render_dir_to_cluster_mode_drops_the_single_node_files(tmp_path):
    """GitOps: the render dir holds either the Deployment and its PVC or the StatefulSet, never both."""
    proc, out = render(tmp_path, {})
    assert proc.returncode == 0
    assert (out / "deployment-qdrant.yaml").exists() and (out / "persistentvolumeclaim-qdrant-storage.yaml").exists()
    proc, out = render(tmp_path, {}, "-e", "qdrant_replicas=3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert "deployment-qdrant.yaml" not in names and "persistentvolumeclaim-qdrant-storage.yaml" not in names
    assert "statefulset-qdrant.yaml" in names and "poddisruptionbudget-qdrant.yaml" in names
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(n for n in names if n != "kustomization.yaml")


# ----------------------------------------------------------------------------------------------- against the emulator

NS = "qdrant"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
PEERS = ("-e", "qdrant_replicas=3")


def writes(cluster, since):
    """Write requests to the Kubernetes API (not through the service proxy to Qdrant) after request number since."""
    return [(m, p) for m, p, _q in list(cluster.emu.requests)[since:] if m in WRITES and "/proxy/" not in p]


def state(cluster):
    """Every stored object of the namespace with its resourceVersion."""
    with cluster.emu.cluster.lock:
        return {k: o["metadata"].get("resourceVersion") for k, o in cluster.emu.cluster.objects.items() if k[2] == NS}


def names(cluster, kind, api_version="apps/v1"):
    return [o["metadata"]["name"] for o in cluster.emu.cluster.list(cluster.emu._rt(api_version, kind), NS)["items"]]


def test_three_peers_converge_idempotently_predicted_by_check_and_proven_by_qdrant_check(make_local_cluster):
    cluster = make_local_cluster()
    check = cluster.run(*PEERS, check=True)
    assert check.rc == 0, check.tail()
    assert check.recap["changed"] > 0
    assert cluster.objects_in(NS) == [], "check mode created objects"

    first = cluster.run(*PEERS)
    assert first.rc == 0, first.tail()
    sts = cluster.get("apps/v1", "StatefulSet", "qdrant")
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["serviceName"] == "qdrant-headless"
    assert cluster.get("v1", "Service", "qdrant-headless")["spec"]["clusterIP"] == "None"
    assert cluster.get("policy/v1", "PodDisruptionBudget", "qdrant")["spec"]["maxUnavailable"] == 1
    assert names(cluster, "Deployment") == []
    assert cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage") is None, "the peers' claims come from the template"
    assert sorted(names(cluster, "Pod", "v1")) == ["qdrant-0", "qdrant-1", "qdrant-2"]
    # The verify role passed expect_peers=3: qdrant_check proved the cluster from GET /cluster.
    for check_name in ("cluster_peers", "cluster_leader", "cluster_consensus"):
        assert check_name in first.output, check_name

    before = state(cluster)
    second = cluster.run(*PEERS)
    assert second.rc == 0, second.tail()
    assert second.recap["changed"] == 0, second.tail()
    assert state(cluster) == before, "the second run changed objects"  # its server-side applies are no-ops

    predicted = cluster.run(*PEERS, check=True)
    assert predicted.rc == 0 and predicted.recap["changed"] == 0, predicted.tail()

    # The proof can fail: a peer that never joined the cluster is named.
    cluster.misconfigure(cluster_missing_peers=1)
    missing = cluster.run(*PEERS, "-e", "qdrant_check_wait_timeout=2", "--tags", "qdrant_verify")
    assert missing.rc != 0 and "cluster_peers" in missing.output, missing.tail()
    cluster.misconfigure()

    # Scaling down, going back to one replica, and changing the claims are refused before anything is written.
    for args, needle in [
        (("-e", "qdrant_replicas=1"), "Refusing qdrant_replicas=1"),
        (("-e", "qdrant_replicas=3", "-e", "qdrant_storage_size=80Gi"), "Refusing to change the claims"),
    ]:
        mark = len(cluster.emu.requests)
        refused = cluster.run(*args)
        assert refused.rc != 0 and needle in refused.output, refused.tail()
        assert "nothing was changed" in refused.output
        assert writes(cluster, mark) == [] and state(cluster) == before, args
    assert cluster.get("apps/v1", "StatefulSet", "qdrant")["spec"]["replicas"] == 3


def test_scaling_the_peers_down_is_refused_with_the_steps(make_local_cluster):
    cluster = make_local_cluster()
    assert cluster.run("-e", "qdrant_replicas=4", "-e", "qdrant_check_enabled=false").rc == 0
    before, mark = state(cluster), len(cluster.emu.requests)
    refused = cluster.run(*PEERS)
    assert refused.rc != 0, refused.tail()
    out = " ".join(refused.output.split())
    assert "runs 4 peers, and scaling down would stop peers qdrant-3 .. qdrant-3" in out
    assert "DELETE /cluster/peer/<peer id>" in out
    assert "kubectl -n qdrant scale statefulset qdrant --replicas=3" in out
    assert writes(cluster, mark) == [] and state(cluster) == before


def test_one_to_three_is_refused_before_anything_is_applied_then_follows_the_steps(make_local_cluster):
    cluster = make_local_cluster()
    single = cluster.run()
    assert single.rc == 0, single.tail()
    pvc_uid = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["metadata"]["uid"]
    before, mark = state(cluster), len(cluster.emu.requests)

    refused = cluster.run(*PEERS)
    assert refused.rc != 0, refused.tail()
    out = " ".join(refused.output.split())
    assert "Refusing to switch qdrant/qdrant from the single-node Deployment to 3 peers (nothing was changed)" in out
    assert "new, empty claims qdrant-storage-qdrant-0 .. qdrant-storage-qdrant-2" in out
    for step in ("ansible-playbook playbooks/backup.yml -e qdrant_snapshot_dir=",
                 "kubectl -n qdrant delete deployment qdrant --wait",
                 "ansible-playbook playbooks/restore.yml -e qdrant_snapshot_dir=/path/to/backup",
                 "kubectl -n qdrant delete pvc qdrant-storage"):
        assert step in out, step
    # Refused in site.yml's first play: not even the Secret or the PVC was written to.
    assert writes(cluster, mark) == [] and state(cluster) == before
    assert names(cluster, "StatefulSet") == [] and names(cluster, "Deployment") == ["qdrant"]

    # Step 2 (the backup of step 1 is tests/pytest/test_snapshot_playbooks.py's subject): stop the single node.
    cluster.emu.cluster.delete(cluster.emu._rt("apps/v1", "Deployment"), NS, "qdrant", propagation="Foreground")
    switched = cluster.run(*PEERS)
    assert switched.rc == 0, switched.tail()
    assert names(cluster, "StatefulSet") == ["qdrant"] and names(cluster, "Deployment") == []
    # The single node's PVC is kept (never deleted, never reused silently) and the run says so.
    assert cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["metadata"]["uid"] == pvc_uid
    assert "is kept and NOT used by the 3 peers" in " ".join(switched.output.split())


def test_key_rotation_keeps_a_common_key_between_peers_and_internal_auth_on(make_local_cluster):
    """Issue 20 point 2 in distributed mode: with enforce_internal_auth every internal call carries the sender's
    api_key and the receiver accepts api_key or alt_api_key (Qdrant v1.19.0 src/tonic/mod.rs,
    lib/collection/src/shards/channel_service.rs). rotate_key.yml rolls old+new, new+old, new: neighbouring pod
    states (side by side during a roll) always accept each other's key, internal auth stays on, and a client with
    the key the Secret carries (or the old key until the last roll) is never refused."""
    import base64

    from rotation_watch import RotationWatch

    cluster = make_local_cluster()
    first = cluster.run(*PEERS)
    assert first.rc == 0, first.tail()
    secret = "app-qdrant-api-key"
    old = base64.b64decode(cluster.get("v1", "Secret", secret)["data"]["QDRANT__SERVICE__API_KEY"]).decode()
    with RotationWatch(cluster, old) as watch:
        rotate = cluster.run(*PEERS, playbook="playbooks/rotate_key.yml", verbosity=3)
    assert rotate.rc == 0, rotate.tail()
    new = base64.b64decode(cluster.get("v1", "Secret", secret)["data"]["QDRANT__SERVICE__API_KEY"]).decode()
    assert new != old and old not in rotate.output and new not in rotate.output
    assert watch.states == [(old, None, "true"), (old, new, "true"), (new, old, "true"), (new, None, "true")], \
        [tuple(k and k[:6] for k in state) for state in watch.states]
    assert watch.peer_gaps() == [] and watch.errors == []
    assert watch.refused("secret") == []
    assert {state for _key, _status, state in watch.refused("old")} <= {(new, None, "true")}
    sts = cluster.get("apps/v1", "StatefulSet", "qdrant")
    assert sts["spec"]["replicas"] == 3
    assert "retired key 1: HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)" in rotate.output.replace("''", "'")
