"""site.yml on a real control plane (tests/support/real_cluster.py: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok), run with the token of the ServiceAccount of docs/rbac/qdrant-deployer.yaml, so the real
authorizer decides every request, the real controllers make the ReplicaSets, pods, EndpointSlices and claims, and
the API server's own service and pod proxy carry qdrant_check to the stand-in.

Storage sizes in non-canonical form: the API server keeps a quantity in canonical form (10240Mi reads back as
10Gi; k8s.io/apimachinery pkg/api/resource/quantity.go), which the emulator never did.
"""
import ipaddress
import json

import pytest

PEERS = ("-e", "qdrant_replicas=3")


def _pods(cluster):
    return [p for p in cluster.list("v1", "Pod") if not p["metadata"].get("deletionTimestamp")]


def _running_in_pod_cidr(cluster, count):
    cidr = ipaddress.ip_network(cluster.cluster.netns.pod_cidr)
    pods = _pods(cluster)
    return len(pods) == count and all(
        p["status"].get("phase") == "Running" and p["status"].get("podIP")
        and ipaddress.ip_address(p["status"]["podIP"]) in cidr for p in pods)


def test_site_converges_reruns_unchanged_and_check_is_truthful(real_cluster):
    cluster = real_cluster
    cluster.reset()

    predicted = cluster.run(check=True)
    assert predicted.rc == 0, predicted.tail()
    assert predicted.recap["changed"] > 0
    assert cluster.get("apps/v1", "Deployment", "qdrant") is None, "check mode created the Deployment"

    first = cluster.run()
    assert first.rc == 0, first.tail()
    assert first.recap["changed"] > 0
    # qdrant_check passed through the real API server's service proxy to the stand-in, at a pod IP.
    assert "is ready and its authentication holds" in first.output, first.tail()
    assert any(path == "/readyz" for _m, path, _s in cluster.standin.requests)

    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    assert dep["status"].get("readyReplicas") == 1, dep["status"]
    pvc = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert cluster.get("v1", "Service", "qdrant") is not None
    assert cluster.get("v1", "Secret", "app-qdrant-api-key") is not None
    assert cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant") is not None
    assert _running_in_pod_cidr(cluster, 1)
    slices = cluster.list("discovery.k8s.io/v1", "EndpointSlice")
    assert any(ep.get("conditions", {}).get("ready") for s in slices if s["metadata"]["labels"].get(
        "kubernetes.io/service-name") == "qdrant" for ep in s.get("endpoints") or []), slices

    rv = cluster.get("apps/v1", "Deployment", "qdrant")["metadata"]["resourceVersion"]
    again = cluster.run()
    assert again.rc == 0 and again.recap["changed"] == 0, again.tail()
    assert cluster.get("apps/v1", "Deployment", "qdrant")["metadata"]["resourceVersion"] == rv

    check = cluster.run(check=True)
    assert check.rc == 0 and check.recap["changed"] == 0, check.tail()


@pytest.mark.parametrize("mode", ["single", "distributed"])
@pytest.mark.parametrize("size,canonical", [("10240Mi", "10Gi"), ("1.5Gi", "1536Mi"), ("0.5Ti", "512Gi")])
def test_storage_size_in_non_canonical_form(real_cluster, mode, size, canonical):
    cluster = real_cluster
    cluster.reset()
    args = ("-e", "qdrant_storage_size=" + size) + (PEERS if mode == "distributed" else ())

    first = cluster.run(*args)
    assert first.rc == 0, first.tail()
    if mode == "single":
        stored = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["spec"]["resources"]["requests"]
    else:
        sts = cluster.get("apps/v1", "StatefulSet", "qdrant")
        stored = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
        cluster.wait_for("3 peers running", lambda: _running_in_pod_cidr(cluster, 3))
        claims = ["qdrant-storage-qdrant-%d" % i for i in range(3)]
        assert all(cluster.get("v1", "PersistentVolumeClaim", c)["status"]["phase"] == "Bound" for c in claims)
    # What the real API server does and the emulator did not: the stored form is the canonical one.
    assert stored["storage"] == canonical

    again = cluster.run(*args)
    assert again.rc == 0, again.tail()
    assert "Refusing" not in again.output, again.tail()
    assert again.recap["changed"] == 0, again.tail()

    check = cluster.run(*args, check=True)
    assert check.rc == 0 and check.recap["changed"] == 0, check.tail()


def test_playbooks_run_as_the_deployer_service_account(real_cluster):
    """The kubeconfig the playbooks get holds the token of docs/rbac/qdrant-deployer.yaml's ServiceAccount, and the
    real authorizer holds it to that Role: allowed in namespace qdrant, refused elsewhere."""
    import real_cluster as rc  # tests/support, on sys.path

    cluster = real_cluster
    with open(cluster.kubeconfig, encoding="utf-8") as fh:
        token = json.load(fh)["users"][0]["user"]["token"]
    deployer = rc.Api(cluster.cluster.url, cluster.cluster.ca_file, token)
    review = deployer.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review["status"]["userInfo"]["username"] == "system:serviceaccount:qdrant:qdrant-deployer"
    assert deployer.request("GET", "/api/v1/namespaces/qdrant/secrets")["items"] is not None
    for path in ("/api/v1/namespaces/default/secrets", "/api/v1/nodes", "/api/v1/namespaces/kube-system/pods"):
        with pytest.raises(rc.ApiError) as refused:
            deployer.request("GET", path)
        assert refused.value.status == 403, path
