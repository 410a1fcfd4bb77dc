"""The peekoff.qdrant.qdrant_takeover_plan and qdrant_route_rivals filters (takeover preflight, issue 9)."""
import copy

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_takeover import FilterModule
from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_takeover import qdrant_route_rivals, qdrant_takeover_plan

SELECTOR = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant",
            "app.kubernetes.io/component": "database"}
LABELS = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant", "app.kubernetes.io/part-of": "qdrant",
          "app.kubernetes.io/managed-by": "peekoff.qdrant"}
WANT = {"name": "qdrant", "namespace": "qdrant", "kind": "Deployment", "selector": SELECTOR, "labels": LABELS,
        "claim": "qdrant-storage", "gid": 1000}


def ours():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "qdrant", "namespace": "qdrant", "uid": "u1", "labels": dict(LABELS)},
            "spec": {"selector": {"matchLabels": dict(SELECTOR)}, "strategy": {"type": "Recreate"},
                     "template": {"metadata": {"labels": dict(SELECTOR)}, "spec": {
                         "securityContext": {"runAsGroup": 1000},
                         "containers": [{"name": "qdrant", "image": "qdrant/qdrant:v1.19.0-unprivileged",
                                         "volumeMounts": [{"name": "storage", "mountPath": "/qdrant/storage"}]}],
                         "volumes": [{"name": "storage", "persistentVolumeClaim": {"claimName": "qdrant-storage"}}]}}}}


def homelab():
    d = ours()
    d["metadata"]["labels"] = {"app": "qdrant"}
    d["metadata"]["annotations"] = {"argocd.argoproj.io/tracking-id": "homelab:apps/Deployment:qdrant/qdrant",
                                    "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    d["spec"]["selector"] = {"matchLabels": {"app": "qdrant"}}
    d["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    pod = d["spec"]["template"]["spec"]
    pod["containers"][0]["securityContext"] = {"runAsGroup": 3000}
    pod["containers"][0]["volumeMounts"][0]["name"] = "data"
    pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "qdrant-storage"}},
                      {"name": "backup", "persistentVolumeClaim": {"claimName": "qdrant-storage"}}]
    return d


def service(selector=None, labels=None, annotations=None):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "qdrant", "namespace": "qdrant", "labels": labels or dict(LABELS),
                         "annotations": annotations or {}},
            "spec": {"selector": selector or dict(SELECTOR)}}


def test_filters_are_registered():
    assert FilterModule().filters() == {"qdrant_takeover_plan": qdrant_takeover_plan,
                                        "qdrant_route_rivals": qdrant_route_rivals}


def test_our_own_objects_need_nothing():
    plan = qdrant_takeover_plan(WANT, [ours()], [], [service()], [])
    assert plan["conflicts"] == [] and plan["replace"] == [] and plan["cleanup"] == [] and not plan["refuse"]


def test_homelab_deployment_is_refused_naming_each_field_and_the_way_out():
    plan = qdrant_takeover_plan(WANT, [homelab()], [], [service({"app": "qdrant"}, {"app": "qdrant"})], [])
    assert plan["refuse"]
    text = plan["message"]
    for fragment in ('Deployment qdrant/qdrant: spec.selector is {"app": "qdrant"}', "spec.selector is immutable",
                     "spec.strategy is RollingUpdate with rollingUpdate", "also as backup",
                     "containers[qdrant].securityContext.runAsGroup is 3000",
                     "managed by Argo CD application homelab", "argocd app delete homelab --cascade=false",
                     'Service qdrant/qdrant: spec.selector is {"app": "qdrant"}', "-e qdrant_adopt=true"):
        assert fragment in text, fragment
    assert [r["name"] for r in plan["replace"]] == ["qdrant"] and plan["replace"][0]["uid"] == "u1"
    assert plan["replace"][0]["claim"] == "qdrant-storage"


def test_with_adopt_nothing_is_refused_and_the_cleanup_patches_remove_foreign_marks():
    want = dict(WANT, adopt=True)
    svc = service({"app": "qdrant"}, dict(LABELS, app="qdrant"), {"argocd.argoproj.io/tracking-id": "x:/Service:q/q"})
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": "qdrant-storage", "namespace": "qdrant", "labels": {"app": "qdrant"},
                        "annotations": {"meta.helm.sh/release-name": "qdrant", "volume.kubernetes.io/x": "keep"}}}
    ns = {"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "qdrant", "labels": {"name": "qdrant"},
                       "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}}
    plan = qdrant_takeover_plan(want, [homelab()], [], [svc], [pvc, ns])
    assert not plan["refuse"] and plan["message"] == ""
    patches = {c["kind"]: c["patch"] for c in plan["cleanup"]}
    assert patches["Service"] == [{"op": "remove", "path": "/metadata/labels/app"},
                                  {"op": "remove", "path": "/metadata/annotations/argocd.argoproj.io~1tracking-id"}]
    assert patches["PersistentVolumeClaim"] == [{"op": "remove", "path": "/metadata/labels/app"},
                                                {"op": "remove", "path": "/metadata/annotations/meta.helm.sh~1release-name"}]
    # a Namespace keeps its labels (NetworkPolicies elsewhere may select on them); only the tracking mark goes
    assert patches["Namespace"] == [
        {"op": "remove", "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"}]


def test_helm_statefulset_needs_its_claim_named_even_with_adopt():
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "qdrant", "namespace": "qdrant",
                        "labels": {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "qdrant-1.16.3"},
                        "annotations": {"meta.helm.sh/release-name": "qdrant", "meta.helm.sh/release-namespace": "qdrant"}},
           "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "qdrant"}},
                    "template": {"spec": {"containers": [{"name": "qdrant", "image": "qdrant/qdrant:v1.18.1",
                                                          "volumeMounts": [{"name": "qdrant-storage",
                                                                            "mountPath": "/qdrant/storage"}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "qdrant-storage"}}]}}
    plan = qdrant_takeover_plan(dict(WANT, adopt=True), [], [sts], [], [])
    assert plan["refuse"]
    assert "PVC qdrant-storage-qdrant-0 (mounted at /qdrant/storage)" in plan["message"]
    assert "-e qdrant_storage_pvc_name=qdrant-storage-qdrant-0" in plan["message"]
    assert "helm uninstall qdrant -n qdrant --keep-history" in plan["message"]
    assert "kind is a StatefulSet; this collection runs a Deployment" in plan["message"]
    named = qdrant_takeover_plan(dict(WANT, adopt=True, claim="qdrant-storage-qdrant-0"), [], [sts], [], [])
    assert not named["refuse"] and [r["kind"] for r in named["replace"]] == ["StatefulSet"]


def test_our_earlier_release_with_another_selector_goes_through_adoption():
    old = ours()
    old["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "qdrant"}}
    plan = qdrant_takeover_plan(WANT, [old], [], [service()], [])
    assert plan["refuse"] and "Deployment qdrant/qdrant: spec.selector is" in plan["message"]
    assert not qdrant_takeover_plan(dict(WANT, adopt=True), [old], [], [service()], [])["refuse"]


def test_a_second_qdrant_on_the_claim_is_found_by_its_claim():
    other = ours()
    other["metadata"]["name"] = "qdrant-old"
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox"
    plan = qdrant_takeover_plan(WANT, [ours(), other], [], [service()], [])
    assert plan["refuse"] and "Deployment qdrant/qdrant-old: metadata.name is another Qdrant workload" in plan["message"]


def test_unrelated_workloads_are_left_alone():
    web = copy.deepcopy(ours())
    web["metadata"] = {"name": "web", "namespace": "qdrant"}
    pod = web["spec"]["template"]["spec"]
    pod["containers"][0]["image"] = "nginx:1.27"
    pod["volumes"][0]["persistentVolumeClaim"]["claimName"] = "web-data"
    assert qdrant_takeover_plan(WANT, [ours(), web], [], [service()], [])["conflicts"] == []


def test_another_instance_of_this_collection_is_left_alone():
    second = ours()
    second["metadata"]["name"] = "vectors"
    second["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "vectors-storage"
    assert qdrant_takeover_plan(WANT, [ours(), second], [], [service()], [])["conflicts"] == []
    second["metadata"]["labels"] = {"app": "vectors"}
    assert "Deployment qdrant/vectors: metadata.name is another Qdrant workload" in \
        qdrant_takeover_plan(WANT, [ours(), second], [], [service()], [])["message"]


def test_bad_input_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="needs claim"):
        qdrant_takeover_plan({k: v for k, v in WANT.items() if k != "claim"})


def test_route_rivals_share_hostname_and_gateway():
    def route(name, hosts, parents, ns="qdrant"):
        return {"metadata": {"name": name, "namespace": ns}, "spec": {"hostnames": hosts, "parentRefs": parents}}
    gw = [{"name": "external", "namespace": "gateway"}]
    routes = [route("qdrant", ["q.example.com"], gw), route("qdrant-http", ["q.example.com"], gw),
              route("other-gw", ["q.example.com"], [{"name": "lab"}]), route("other-host", ["x.example.com"], gw),
              route("elsewhere", ["q.example.com"], gw, ns="apps")]
    rivals = qdrant_route_rivals(routes, {"namespace": "qdrant", "name": "qdrant"}, ["q.example.com"], gw)
    assert [(r["namespace"], r["name"]) for r in rivals] == [("qdrant", "qdrant-http"), ("apps", "elsewhere")]
    assert rivals[0]["gateways"] == ["gateway/external"] and rivals[0]["hostnames"] == ["q.example.com"]
