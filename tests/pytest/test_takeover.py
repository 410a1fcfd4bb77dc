"""Takeover of an existing Qdrant (issue 9), end to end with ``site.yml`` against the local cluster.

- The reference homelab's own manifests (/work/shared/homelab, ``../shared/homelab``), put into the emulator the
  way Argo CD makes them (client-side apply with manager ``argocd-controller`` and its tracking annotation, the
  Service by server-side apply), External Secrets Operator's Secret beside them: without ``qdrant_adopt`` the run
  is refused before any write, naming the object, the field and the way out; ``--check --diff`` says what would
  be replaced and writes nothing; with ``qdrant_adopt`` the Deployment is replaced on the same PVC (same uid,
  class, size), the Service selects the new pod, the old HTTPRoute goes once ours is accepted; a second run
  changes nothing.
- An installation by the official Helm chart (qdrant/qdrant-helm charts/qdrant/templates/statefulset.yaml:
  StatefulSet ``qdrant``, claim ``qdrant-storage-qdrant-0`` from its volumeClaimTemplate, Helm's labels and
  annotations, manager ``helm``): refused until the claim is named, then adopted on that claim.
- Our own upgrade across one minor version: Recreate, one pod, and the verify play proves the new version.

Each playbook run costs 15-30 s; the scenarios share runs where they can.
"""
import base64
import json
import os

import urllib3
import yaml


# The checkout (a plain "from conftest import ROOT" may find tests/unit's conftest first under pytest-xdist).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NS = "qdrant"
HOMELAB = os.path.join(os.path.dirname(ROOT), "shared", "homelab")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
OUR_SELECTOR = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant",
                "app.kubernetes.io/component": "database"}
FOREIGN_MARKS = ("argocd.argoproj.io/tracking-id", "kubectl.kubernetes.io/last-applied-configuration",
                 "meta.helm.sh/release-name", "meta.helm.sh/release-namespace")
KEY = "k" * 32
PLURALS = {"Namespace": "namespaces", "PersistentVolumeClaim": "persistentvolumeclaims", "Service": "services",
           "Secret": "secrets", "Deployment": "deployments", "StatefulSet": "statefulsets",
           "HTTPRoute": "httproutes", "ExternalSecret": "externalsecrets", "StorageClass": "storageclasses"}


class Api:
    """Writes to the emulator over HTTP, as another tool would (its field manager, its content type)."""

    def __init__(self, emu):
        self.emu = emu
        self.pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_cert_data=emu.ca_pem.decode())

    def path(self, obj):
        group_version = obj["apiVersion"]
        base = "/api/v1" if group_version == "v1" else "/apis/" + group_version
        ns = obj["metadata"].get("namespace")
        return base + ("/namespaces/%s" % ns if ns else "") + "/" + PLURALS[obj["kind"]]

    def call(self, method, path, body, ct="application/json"):
        r = self.pool.request(method, self.emu.url + path, body=body if isinstance(body, str) else json.dumps(body),
                              headers={"Authorization": "Bearer " + self.emu.token, "Content-Type": ct,
                                       "Accept": "application/json"}, retries=False)
        data = json.loads(r.data)
        assert r.status in (200, 201), (r.status, data)
        return data

    def client_side_apply(self, obj, manager):
        """kubectl/Argo CD client-side apply of a new object: POST with last-applied-configuration."""
        obj = json.loads(json.dumps(obj))
        ann = obj["metadata"].setdefault("annotations", {})
        ann["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(obj, sort_keys=True)
        return self.call("POST", self.path(obj) + "?fieldManager=" + manager, obj)

    def create(self, obj, manager):
        return self.call("POST", self.path(obj) + "?fieldManager=" + manager, obj)

    def server_side_apply(self, obj, manager):
        return self.call("PATCH", self.path(obj) + "/" + obj["metadata"]["name"] + "?fieldManager=%s&force=true"
                         % manager, json.dumps(obj), ct="application/apply-patch+yaml")


def _homelab(name):
    with open(os.path.join(HOMELAB, name + ".yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def _argocd(obj, app="qdrant"):
    """What Argo CD adds: the namespace of its kustomization, and its tracking annotation."""
    obj["metadata"]["namespace"] = NS
    if obj["kind"] == "Namespace":
        obj["metadata"].pop("namespace")
    group = obj["apiVersion"].rpartition("/")[0]
    obj["metadata"].setdefault("annotations", {})["argocd.argoproj.io/tracking-id"] = "%s:%s/%s:%s/%s" % (
        app, group, obj["kind"], NS, obj["metadata"]["name"])
    return obj


def _flat(run):
    """The output with the YAML callback's line folding and quote doubling undone, for substring checks."""
    return " ".join(run.output.split()).replace("''", "'")


def _applied_writes(cluster):
    return [(m, p) for m, p, q in list(cluster.emu.requests)
            if m in WRITE_METHODS and "dryRun" not in (q or "") and "/proxy/" not in p]


def _pods(cluster):
    return cluster.emu.list("v1", "Pod", NS)


def _assert_one_workload_on(cluster, claim):
    """One Deployment selects the only pod, mounts ``claim`` at /qdrant/storage, and the Service selects it."""
    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    assert dep["spec"]["selector"] == {"matchLabels": OUR_SELECTOR}
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    assert cluster.emu.list("apps/v1", "StatefulSet", NS) == []
    assert [d["metadata"]["name"] for d in cluster.emu.list("apps/v1", "Deployment", NS)] == ["qdrant"]
    pods = _pods(cluster)
    assert len(pods) == 1
    labels = pods[0]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in OUR_SELECTOR.items())
    vols = {v["name"]: v for v in pods[0]["spec"]["volumes"]}
    mount = [m for m in pods[0]["spec"]["containers"][0]["volumeMounts"] if m["mountPath"] == "/qdrant/storage"]
    assert [vols[m["name"]]["persistentVolumeClaim"]["claimName"] for m in mount] == [claim]
    assert cluster.get("v1", "Service", "qdrant")["spec"]["selector"] == OUR_SELECTOR
    assert cluster.emu.cluster.service_has_endpoints(NS, "qdrant")


def _pvc_identity(cluster, name):
    pvc = cluster.get("v1", "PersistentVolumeClaim", name)
    return (pvc["metadata"]["uid"], pvc["spec"].get("storageClassName"), pvc["spec"]["resources"]["requests"]["storage"],
            pvc["spec"].get("volumeName"))


def _no_foreign_marks(obj):
    meta = obj["metadata"]
    left = [k for k in FOREIGN_MARKS if k in (meta.get("annotations") or {})]
    left += [k for k, v in (meta.get("labels") or {}).items() if k == "helm.sh/chart" or v == "Helm"]
    return left


def _seed_homelab(cluster):
    api = Api(cluster.emu)
    api.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "proxmox-csi"},
                "provisioner": "csi.proxmox.sinextra.dev", "allowVolumeExpansion": True}, "kubectl-create")
    api.client_side_apply(_argocd(_homelab("namespace")), "argocd-controller")
    for name in ("pvc", "deployment", "httproute", "externalsecret"):
        api.client_side_apply(_argocd(_homelab(name)), "argocd-controller")
    # The Service as Argo CD's ServerSideApply=true sync writes it.
    api.server_side_apply(_argocd(_homelab("service")), "argocd-controller")
    # What External Secrets Operator made from the ExternalSecret: the Secret, owned by it, and Ready status.
    es = cluster.get("external-secrets.io/v1", "ExternalSecret", "app-qdrant-api-key")
    api.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "app-qdrant-api-key", "namespace": NS,
                             "labels": {"reconcile.external-secrets.io/managed": "true"},
                             "ownerReferences": [{"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                                                  "name": "app-qdrant-api-key", "uid": es["metadata"]["uid"],
                                                  "controller": True, "blockOwnerDeletion": True}]},
                "data": {"QDRANT__SERVICE__API_KEY": base64.b64encode(KEY.encode()).decode()}}, "external-secrets")
    cluster.emu.set_status("external-secrets.io/v1", "ExternalSecret", NS, "app-qdrant-api-key", {
        "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                        "message": "secret synced", "lastTransitionTime": "2026-01-01T00:00:00Z"}]})


HOMELAB_VARS = ("-e", "qdrant_storage_class=proxmox-csi", "-e", "qdrant_secret_backend=external-secrets")


def test_homelab_takeover_refused_previewed_adopted_then_idempotent(make_local_cluster):
    cluster = make_local_cluster()
    _seed_homelab(cluster)
    old_dep = cluster.get("apps/v1", "Deployment", "qdrant")
    assert old_dep["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
    pvc_before = _pvc_identity(cluster, "qdrant-storage")
    assert pvc_before[1:3] == ("proxmox-csi", "50Gi")

    # 1. As the user ran it: refused before any write, naming object, field and way out. qdrant_adopt is
    # given as the string "false" from -e (test_reliability_booleans.py's table points here): it must refuse too.
    cluster.emu.reset_requests()
    refused = cluster.run(*HOMELAB_VARS, "-e", "qdrant_adopt=false")
    assert refused.rc != 0, refused.tail()
    assert _applied_writes(cluster) == [], "nothing may be written before the refusal"
    out = _flat(refused)
    for text in ('Deployment qdrant/qdrant: spec.selector is {"app": "qdrant"}',
                 "spec.selector is immutable", "spec.strategy is RollingUpdate",
                 "containers[qdrant].securityContext.runAsGroup is 3000",
                 "managed by Argo CD application qdrant", "argocd app delete qdrant --cascade=false",
                 "-e qdrant_adopt=true", "Service qdrant/qdrant: spec.selector"):
        assert text in out, (text, refused.tail())

    # 2. --check --diff with the opt-in: says what would be replaced, writes nothing.
    cluster.emu.reset_requests()
    preview = cluster.run(*HOMELAB_VARS, "-e", "qdrant_adopt=true", "-e", '{"qdrant_routes_replace": ["qdrant-http"]}',
                          check=True, diff=True)
    assert preview.rc == 0, preview.tail()
    assert _applied_writes(cluster) == []
    assert "replace Deployment qdrant/qdrant (uid %s, image qdrant/qdrant:v1.18.1" % old_dep["metadata"]["uid"] \
        in _flat(preview), preview.tail()
    assert "remove from Service qdrant: labels ['app']" in _flat(preview)
    assert "WARNING: HTTPRoute qdrant/qdrant-http also claims qdrant.peekoff.com on Gateway(s) gateway/external, " \
        "gateway/internal" in _flat(preview)
    assert cluster.get("apps/v1", "Deployment", "qdrant")["metadata"]["uid"] == old_dep["metadata"]["uid"]

    # 3. Adopt.
    adopted = cluster.run(*HOMELAB_VARS, "-e", "qdrant_adopt=true", "-e", '{"qdrant_routes_replace": ["qdrant-http"]}')
    assert adopted.rc == 0, adopted.tail()
    assert _pvc_identity(cluster, "qdrant-storage") == pvc_before
    assert cluster.get("apps/v1", "Deployment", "qdrant")["metadata"]["uid"] != old_dep["metadata"]["uid"]
    _assert_one_workload_on(cluster, "qdrant-storage")
    assert "app" not in cluster.get("v1", "Service", "qdrant")["metadata"]["labels"]
    assert cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant-http") is None
    assert cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant") is not None
    for api_version, kind, name in (("v1", "Service", "qdrant"), ("v1", "PersistentVolumeClaim", "qdrant-storage"),
                                    ("v1", "Namespace", NS),
                                    ("external-secrets.io/v1", "ExternalSecret", "app-qdrant-api-key")):
        obj = cluster.get(api_version, kind, name, namespace="" if kind == "Namespace" else None)
        assert _no_foreign_marks(obj) == [], (kind, obj["metadata"])
    # the verify play proved the adopted instance with the key External Secrets Operator wrote
    assert "Qdrant 1.19.0 is ready and its authentication holds" in _flat(adopted)

    # 4. Ours alone now: a second run changes nothing.
    again = cluster.run(*HOMELAB_VARS, "-e", "qdrant_adopt=true", "-e", '{"qdrant_routes_replace": ["qdrant-http"]}')
    assert again.rc == 0 and again.recap["changed"] == 0, again.tail()


def _seed_helm(cluster, release="qdrant"):
    """The objects `helm install qdrant qdrant/qdrant` makes (charts/qdrant/templates/statefulset.yaml, service.yaml),
    created by Helm's client (manager ``helm``), and the claim the StatefulSet controller made from its
    volumeClaimTemplate (template labels plus the selector's, no Helm marks: it is not part of the release)."""
    api = Api(cluster.emu)
    selector = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": release}
    labels = dict(selector, **{"helm.sh/chart": "qdrant-1.16.3", "app.kubernetes.io/version": "v1.18.1",
                               "app.kubernetes.io/managed-by": "Helm"})
    ann = {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": NS}
    api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, "kubectl-create")
    api.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "qdrant-storage-%s-0" % release, "namespace": NS, "labels": dict(selector, app="qdrant")},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}},
               "kube-controller-manager")
    api.create({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": release, "namespace": NS, "labels": labels, "annotations": ann},
                "spec": {"type": "ClusterIP", "selector": selector,
                         "ports": [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"}
                                   for n, p in (("http", 6333), ("grpc", 6334), ("p2p", 6335))]}}, "helm")
    ports = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in (("http", 6333), ("grpc", 6334), ("p2p", 6335))]
    container = {"name": "qdrant", "image": "docker.io/qdrant/qdrant:v1.18.1", "command": ["/bin/bash", "-c"],
                 "args": ["./config/initialize.sh"], "ports": ports,
                 "securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "runAsNonRoot": True,
                                     "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                 "volumeMounts": [{"name": "qdrant-storage", "mountPath": "/qdrant/storage"},
                                  {"name": "qdrant-snapshots", "mountPath": "/qdrant/snapshots"},
                                  {"name": "qdrant-init", "mountPath": "/qdrant/init"}]}
    pod_spec = {"containers": [container], "securityContext": {"fsGroup": 3000, "fsGroupChangePolicy": "Always"},
                "volumes": [{"name": "qdrant-snapshots", "emptyDir": {}}, {"name": "qdrant-init", "emptyDir": {}}]}
    claim_template = {"metadata": {"name": "qdrant-storage", "labels": {"app": "qdrant"}},
                      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}
    api.create({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": release, "namespace": NS, "labels": labels, "annotations": ann},
                "spec": {"replicas": 1, "podManagementPolicy": "Parallel", "selector": {"matchLabels": selector},
                         "serviceName": release + "-headless",
                         "template": {"metadata": {"labels": selector}, "spec": pod_spec},
                         "volumeClaimTemplates": [claim_template]}},
               "helm")


def test_helm_chart_takeover_names_the_claim_then_adopts_it(make_local_cluster):
    cluster = make_local_cluster()
    _seed_helm(cluster)
    claim = "qdrant-storage-qdrant-0"
    pvc_before = _pvc_identity(cluster, claim)

    cluster.emu.reset_requests()
    refused = cluster.run("-e", "qdrant_adopt=true")
    assert refused.rc != 0, refused.tail()
    assert _applied_writes(cluster) == []
    for text in ("StatefulSet qdrant/qdrant keeps Qdrant's data in PVC %s (mounted at /qdrant/storage)" % claim,
                 "-e qdrant_storage_pvc_name=%s" % claim, "helm uninstall qdrant -n qdrant --keep-history",
                 "kubectl -n qdrant delete secret -l owner=helm,name=qdrant",
                 "StatefulSet qdrant/qdrant: kind is a StatefulSet; this collection runs a Deployment"):
        assert text in _flat(refused), (text, refused.tail())
    assert cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage") is None

    args = ("-e", "qdrant_adopt=true", "-e", "qdrant_storage_pvc_name=" + claim, "-e", "qdrant_storage_size=10Gi")
    adopted = cluster.run(*args)
    assert adopted.rc == 0, adopted.tail()
    assert _pvc_identity(cluster, claim) == pvc_before
    assert cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage") is None, "no second, empty volume"
    _assert_one_workload_on(cluster, claim)
    for kind, name in (("Service", "qdrant"), ("PersistentVolumeClaim", claim)):
        obj = cluster.get("v1", kind, name)
        assert _no_foreign_marks(obj) == [], obj["metadata"]
    assert "app" not in cluster.get("v1", "PersistentVolumeClaim", claim)["metadata"]["labels"]

    again = cluster.run(*args)
    assert again.rc == 0 and again.recap["changed"] == 0, again.tail()


def test_upgrade_across_one_minor_recreates_and_proves_the_new_version(make_local_cluster):
    cluster = make_local_cluster()
    first = cluster.run("-e", "qdrant_version=1.18.0")
    assert first.rc == 0, first.tail()
    assert "Qdrant 1.18.0 is ready and its authentication holds" in _flat(first)
    [old_pod] = _pods(cluster)
    assert old_pod["spec"]["containers"][0]["image"] == "qdrant/qdrant:v1.18.0-unprivileged"

    upgraded = cluster.run("-e", "qdrant_version=1.19.0")
    assert upgraded.rc == 0, upgraded.tail()
    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    [new_pod] = _pods(cluster)
    assert new_pod["metadata"]["uid"] != old_pod["metadata"]["uid"]
    assert new_pod["spec"]["containers"][0]["image"] == "qdrant/qdrant:v1.19.0-unprivileged"
    # qdrant_check's expect_version=1.19.0 passed: the stand-in reports the version of the image the pod runs
    assert "Qdrant 1.19.0 is ready and its authentication holds" in _flat(upgraded)

    skipped = cluster.run("-e", "qdrant_version=1.21.0")
    assert skipped.rc != 0 and "is not the same or the next minor version" in _flat(skipped), skipped.tail()


def test_our_own_older_selector_goes_through_adoption(make_local_cluster):
    """A later release changing our own labels/selector: the Deployment of the earlier release is ours
    (managed-by peekoff.qdrant) but its selector differs, so the same refusal and adoption apply."""
    cluster = make_local_cluster()
    assert cluster.run().rc == 0
    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    old_selector = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant"}
    dep["spec"]["selector"] = {"matchLabels": old_selector}
    for k in ("uid", "resourceVersion", "creationTimestamp", "generation"):
        dep["metadata"].pop(k, None)
    dep.pop("status", None)
    cluster.emu.delete_object("apps/v1", "Deployment", NS, "qdrant")
    cluster.emu.create_object(dep)
    cluster.emu.reset_requests()
    refused = cluster.run()
    assert refused.rc != 0 and _applied_writes(cluster) == []
    assert "Deployment qdrant/qdrant: spec.selector is" in _flat(refused) and "-e qdrant_adopt=true" in _flat(refused)
    adopted = cluster.run("-e", "qdrant_adopt=true")
    assert adopted.rc == 0, adopted.tail()
    _assert_one_workload_on(cluster, "qdrant-storage")
