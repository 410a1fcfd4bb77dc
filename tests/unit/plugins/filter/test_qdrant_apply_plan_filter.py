"""The peekoff.qdrant.qdrant_apply_plan filter (issue 11: no write for an object that already matches).

managedFields below are written the way kube-apiserver returns them for a server-side apply
(structured-merge-diff fieldpath/serialize.go and serialize-pe.go: "f:" fields, "k:" list-map keys, "v:" set
values, "." for a path that is owned and has children), next to Update entries of controllers."""
import copy
import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_apply_plan import FilterModule, qdrant_apply_existing, qdrant_apply_plan, unchanged

MGR = "peekoff.qdrant"
LABELS = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/managed-by": "peekoff.qdrant"}
SELECTOR = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/component": "database"}


def k(**key):
    return "k:" + json.dumps(key, separators=(",", ":"), sort_keys=True)


def labels_fields(labels):
    return {"f:" + name: {} for name in labels}


def deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "qdrant", "namespace": "qdrant", "labels": dict(LABELS)},
            "spec": {"replicas": 1, "selector": {"matchLabels": dict(SELECTOR)}, "strategy": {"type": "Recreate"},
                     "template": {"metadata": {"labels": dict(SELECTOR),
                                               "annotations": {"peekoff.qdrant/config-checksum": "abc"}},
                                  "spec": {"containers": [{
                                      "name": "qdrant", "image": "qdrant/qdrant:v1.19.0-unprivileged",
                                      "args": ["./config/config.yaml"],
                                      "ports": [{"name": "http", "containerPort": 6333, "protocol": "TCP"}],
                                      "env": [{"name": "QDRANT__LOG_LEVEL", "value": "INFO"}],
                                      "resources": {"limits": {"memory": "1Gi", "cpu": 1}},
                                      "volumeMounts": [{"name": "storage", "mountPath": "/qdrant/storage"}]}],
                                      "volumes": [{"name": "storage",
                                                   "persistentVolumeClaim": {"claimName": "qdrant-storage"}}]}}}}


def deployment_fields():
    container = {".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                 "f:ports": {k(containerPort=6333, protocol="TCP"): {".": {}, "f:containerPort": {}, "f:name": {},
                                                                     "f:protocol": {}}},
                 "f:env": {k(name="QDRANT__LOG_LEVEL"): {".": {}, "f:name": {}, "f:value": {}}},
                 "f:resources": {"f:limits": {"f:cpu": {}, "f:memory": {}}},
                 "f:volumeMounts": {k(mountPath="/qdrant/storage"): {".": {}, "f:mountPath": {}, "f:name": {}}}}
    return {"f:metadata": {"f:labels": labels_fields(LABELS)},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:strategy": {"f:type": {}},
                       "f:template": {"f:metadata": {"f:labels": labels_fields(SELECTOR),
                                                     "f:annotations": {"f:peekoff.qdrant/config-checksum": {}}},
                                      "f:spec": {"f:containers": {k(name="qdrant"): container},
                                                 "f:volumes": {k(name="storage"): {
                                                     ".": {}, "f:name": {},
                                                     "f:persistentVolumeClaim": {"f:claimName": {}}}}}}}}


def entry(fields, manager=MGR, operation="Apply", api_version="apps/v1", subresource=None):
    out = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": "2026-12-01T23:00:00Z",
           "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        out["subresource"] = subresource
    return out


def live_deployment():
    """What the API server returns after our apply: server defaults, status, a controller's Update entry."""
    obj = deployment()
    obj["metadata"].update({"uid": "0b6f", "resourceVersion": "4711", "generation": 1,
                            "creationTimestamp": "2026-12-01T23:00:00Z"})
    obj["spec"].update({"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600})
    pod = obj["spec"]["template"]["spec"]
    pod.update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
                "terminationGracePeriodSeconds": 30, "securityContext": {}})
    pod["containers"][0].update({"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
                                 "terminationMessagePolicy": "File"})
    pod["containers"][0]["resources"]["limits"]["cpu"] = "1"
    obj["status"] = {"replicas": 1, "readyReplicas": 1, "observedGeneration": 1}
    obj["metadata"]["managedFields"] = [
        entry(deployment_fields()),
        entry({"f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}},
               "f:status": {"f:replicas": {}, "f:readyReplicas": {}}},
              manager="kube-controller-manager", operation="Update", subresource="status")]
    obj["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    return obj


def service():
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "qdrant", "namespace": "qdrant", "labels": dict(LABELS)},
            "spec": {"type": "ClusterIP", "selector": dict(SELECTOR),
                     "ports": [{"name": "http", "port": 6333, "targetPort": "http"},
                               {"name": "grpc", "port": 6334, "targetPort": "grpc"}]}}


def live_service():
    obj = service()
    obj["metadata"].update({"uid": "5c1d", "resourceVersion": "4712"})
    obj["spec"].update({"clusterIP": "10.43.0.12", "clusterIPs": ["10.43.0.12"], "ipFamilies": ["IPv4"],
                        "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"})
    for port in obj["spec"]["ports"]:
        port["protocol"] = "TCP"
    obj["status"] = {"loadBalancer": {}}
    ports = {k(port=p, protocol="TCP"): {".": {}, "f:name": {}, "f:port": {}, "f:targetPort": {}}
             for p in (6333, 6334)}
    obj["metadata"]["managedFields"] = [entry(
        {"f:metadata": {"f:labels": labels_fields(LABELS)},
         "f:spec": {"f:type": {}, "f:selector": {}, "f:ports": ports}}, api_version="v1")]
    return obj


def network_policy():
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "qdrant-ingress", "namespace": "qdrant", "labels": dict(LABELS)},
            "spec": {"podSelector": {"matchLabels": dict(SELECTOR)}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                         "kubernetes.io/metadata.name": "traefik"}}}],
                         "ports": [{"protocol": "TCP", "port": 6333}]}]}}


def live_network_policy():
    obj = network_policy()
    obj["metadata"].update({"uid": "77aa", "resourceVersion": "4713", "generation": 1})
    obj["metadata"]["managedFields"] = [entry(
        {"f:metadata": {"f:labels": labels_fields(LABELS)},
         "f:spec": {"f:podSelector": {}, "f:policyTypes": {}, "f:ingress": {}}}, api_version="networking.k8s.io/v1")]
    return obj


def secret():
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "qdrant-api-key", "namespace": "qdrant", "labels": dict(LABELS),
                         "annotations": {"argocd.argoproj.io/sync-wave": "-1"}},
            "data": {"api-key": "c2VjcmV0LWtleQ==", "read-only-api-key": "cmVhZC1vbmx5"}}


def live_secret():
    obj = secret()
    obj["metadata"].update({"uid": "99bb", "resourceVersion": "4714"})
    obj["metadata"]["managedFields"] = [entry(
        {"f:metadata": {"f:labels": labels_fields(LABELS), "f:annotations": {"f:argocd.argoproj.io/sync-wave": {}}},
         "f:type": {}, "f:data": {"f:api-key": {}, "f:read-only-api-key": {}}}, api_version="v1")]
    return obj


CASES = [(deployment, live_deployment), (service, live_service), (network_policy, live_network_policy),
         (secret, live_secret)]


@pytest.mark.parametrize("rendered, live", CASES, ids=["deployment", "service", "networkpolicy", "secret"])
def test_unchanged_object_is_skipped(rendered, live):
    assert unchanged(rendered(), live(), MGR)
    assert qdrant_apply_plan([rendered()], [live_service(), live()], MGR) == []


@pytest.mark.parametrize("rendered, live", CASES, ids=["deployment", "service", "networkpolicy", "secret"])
def test_missing_object_is_applied(rendered, live):
    assert qdrant_apply_plan([rendered()], [], MGR) == [rendered()]


def test_changed_value_is_applied():
    want = deployment()
    want["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "DEBUG"
    assert qdrant_apply_plan([want, service()], [live_deployment(), live_service()], MGR) == [want]


def test_changed_secret_value_is_applied():
    want = secret()
    want["data"]["api-key"] = "bmV3LWtleQ=="
    assert not unchanged(want, live_secret(), MGR)


def test_added_field_is_applied():
    want = service()
    want["metadata"]["annotations"] = {"example.com/x": "1"}
    assert not unchanged(want, live_service(), MGR)
    # even when the field is already there live (set by someone else): our manager must come to own it
    live = live_service()
    live["metadata"]["annotations"] = {"example.com/x": "1"}
    assert not unchanged(want, live, MGR)


def test_removed_field_still_owned_is_applied():
    # A label we applied earlier and no longer render: live still has it and our managedFields still own it, so
    # only an apply removes it.
    live = live_deployment()
    live["metadata"]["labels"]["example.com/old"] = "yes"
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:labels"]["f:example.com/old"] = {}
    assert not unchanged(deployment(), live, MGR)


def test_removed_list_item_still_owned_is_applied():
    live = live_service()
    live["spec"]["ports"].append({"name": "p2p", "port": 6335, "targetPort": "p2p", "protocol": "TCP"})
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:ports"][k(port=6335, protocol="TCP")] = {
        ".": {}, "f:name": {}, "f:port": {}, "f:targetPort": {}}
    assert not unchanged(service(), live, MGR)


def test_field_owned_by_another_manager_is_applied():
    # kubectl edit took the image: the value matches again, but the field is not ours any more.
    live = live_deployment()
    container = live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    del container[k(name="qdrant")]["f:image"]
    live["metadata"]["managedFields"].append(entry(
        {"f:spec": {"f:template": {"f:spec": {"f:containers": {k(name="qdrant"): {"f:image": {}}}}}}},
        manager="kubectl-edit", operation="Update"))
    assert not unchanged(deployment(), live, MGR)


def test_server_added_sidecar_is_applied():
    live = live_deployment()
    live["spec"]["template"]["spec"]["containers"].append({"name": "istio-proxy", "image": "istio/proxyv2:1.24"})
    assert not unchanged(deployment(), live, MGR)


def test_atomic_map_changed_by_another_writer_is_applied():
    # spec.selector is atomic (f:selector: {}): kubectl edit adding a label to it takes the whole field (an Update
    # moves the fields it changes to its manager, structured-merge-diff merge/update.go), so ours no longer owns it.
    live = live_service()
    live["spec"]["selector"]["extra"] = "x"
    del live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:selector"]
    live["metadata"]["managedFields"].append(entry({"f:spec": {"f:selector": {}}}, manager="kubectl-edit",
                                                   operation="Update", api_version="v1"))
    assert not unchanged(service(), live, MGR)


def httproute():
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "qdrant", "namespace": "qdrant", "labels": dict(LABELS)},
            "spec": {"parentRefs": [{"name": "external", "namespace": "gateway"}], "hostnames": ["qdrant.example.com"],
                     "rules": [{"backendRefs": [{"name": "qdrant", "port": 6333}]}]}}


def live_httproute():
    obj = httproute()
    obj["metadata"].update({"uid": "1d2e", "resourceVersion": "4720", "generation": 1})
    # The CRD's defaults, inside lists the CRD leaves atomic (no x-kubernetes-list-type): owned as a whole by us.
    obj["spec"]["parentRefs"][0].update({"group": "gateway.networking.k8s.io", "kind": "Gateway"})
    obj["spec"]["rules"][0]["matches"] = [{"path": {"type": "PathPrefix", "value": "/"}}]
    obj["spec"]["rules"][0]["backendRefs"][0].update({"group": "", "kind": "Service", "weight": 1})
    obj["metadata"]["managedFields"] = [entry(
        {"f:metadata": {"f:labels": labels_fields(LABELS)},
         "f:spec": {"f:parentRefs": {}, "f:hostnames": {}, "f:rules": {}}}, api_version="gateway.networking.k8s.io/v1")]
    return obj


def test_defaults_inside_atomic_list_are_skipped():
    assert unchanged(httproute(), live_httproute(), MGR)
    want = httproute()
    want["spec"]["rules"][0]["backendRefs"][0]["port"] = 6334
    assert not unchanged(want, live_httproute(), MGR)
    want = httproute()
    want["spec"]["hostnames"].append("qdrant.example.org")
    assert not unchanged(want, live_httproute(), MGR)


def test_number_rendered_where_the_server_keeps_a_string():
    # resources.limits.cpu rendered as 1, returned as "1".
    assert live_deployment()["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "1"
    assert unchanged(deployment(), live_deployment(), MGR)
    want = deployment()
    want["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "2"
    assert not unchanged(want, live_deployment(), MGR)


@pytest.mark.parametrize("written", ["1000m", "1", "1.0", "1e0", 1])
def test_quantity_written_in_another_form(written):
    # The API server keeps a quantity in canonical form (k8s.io/apimachinery pkg/api/resource/quantity.go): "1000m"
    # reads back as "1", and an apply of "1000m" changes nothing. Compared by value, not as strings.
    want = deployment()
    want["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = written
    assert unchanged(want, live_deployment(), MGR)


@pytest.mark.parametrize("written,stored,same", [("10240Mi", "10Gi", True), ("1.5Gi", "1536Mi", True),
                                                 ("0.5Ti", "512Gi", True), ("10Gi", "10G", False),
                                                 ("1Gi", "1025Mi", False)])
def test_storage_request_compared_by_value(written, stored, same):
    want = deployment()
    live = live_deployment()
    want["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = written
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = stored
    assert unchanged(want, live, MGR) is same


def test_port_key_with_defaulted_protocol():
    # the Service ports are rendered without protocol; their FieldsV1 keys carry the defaulted "TCP"
    assert "protocol" not in service()["spec"]["ports"][0]
    assert unchanged(service(), live_service(), MGR)


@pytest.mark.parametrize("change", ["no_entry", "update_entry", "other_version", "other_manager", "two_entries"])
def test_no_apply_entry_of_ours_is_applied(change):
    live = live_deployment()
    ours = live["metadata"]["managedFields"][0]
    if change == "no_entry":
        live["metadata"]["managedFields"] = live["metadata"]["managedFields"][1:]
    elif change == "update_entry":
        ours["operation"] = "Update"
    elif change == "other_version":
        ours["apiVersion"] = "apps/v1beta2"
    elif change == "other_manager":
        ours["manager"] = "kubectl"
    else:
        live["metadata"]["managedFields"].append(copy.deepcopy(ours))
        live["metadata"]["managedFields"][-1]["subresource"] = "scale"
        assert unchanged(deployment(), live, MGR)
        live["metadata"]["managedFields"].append(copy.deepcopy(ours))
    assert not unchanged(deployment(), live, MGR)


def test_null_in_rendered_object_is_applied():
    want = deployment()
    want["spec"]["replicas"] = None
    assert not unchanged(want, live_deployment(), MGR)


def test_order_kept_and_identity_by_kind_and_name():
    other = deployment()
    other["metadata"]["name"] = "qdrant-2"
    sts = deployment()
    sts["kind"] = "StatefulSet"
    assert qdrant_apply_plan([other, deployment(), sts, service()], [live_deployment(), live_service()], MGR) == [other, sts]


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="must be lists"):
        qdrant_apply_plan({}, [], MGR)
    assert FilterModule().filters()["qdrant_apply_plan"] is qdrant_apply_plan


def test_existing_only():
    gone = network_policy()
    gone["metadata"]["name"] = "qdrant-egress"
    assert qdrant_apply_existing([network_policy(), gone], [live_network_policy(), live_service()]) == [network_policy()]
    assert qdrant_apply_existing([gone], []) == []
    with pytest.raises(AnsibleFilterError, match="must be lists"):
        qdrant_apply_existing([gone], None)
    with pytest.raises(AnsibleFilterError, match="must be lists"):
        qdrant_apply_existing([gone], [], {})


def test_existing_leaves_out_what_is_applied_after_all():
    # A switched-off object the role renders after all (same kind, namespace and name, any apiVersion) is not removed;
    # another kind of the same name is.
    policy = network_policy()
    older = network_policy()
    older["apiVersion"] = "networking.k8s.io/v1beta1"
    service_named_alike = service()
    service_named_alike["metadata"]["name"] = policy["metadata"]["name"]
    live = [live_network_policy()]
    assert qdrant_apply_existing([policy], live, [older]) == []
    assert qdrant_apply_existing([policy], live, [service_named_alike]) == [policy]
    assert qdrant_apply_existing([policy], live, []) == [policy]
    assert FilterModule().filters()["qdrant_apply_existing"] is qdrant_apply_existing


def test_ansible_unsafe_strings_compare_as_strings():
    # Ansible hands the filter AnsibleUnsafeText (a str subclass) for templated values.
    from ansible.utils.unsafe_proxy import wrap_var
    assert unchanged(wrap_var(service()), live_service(), MGR)
    want = service()
    want["spec"]["ports"][0]["port"] = "6333"
    assert not unchanged(want, live_service(), MGR)
    want = service()
    want["spec"]["type"] = True
    assert not unchanged(want, live_service(), MGR)
