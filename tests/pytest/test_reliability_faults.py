"""Kubernetes API faults injected by the emulator during a cold converge of site.yml; after each, a plain re-run
converges to the same objects as a converge that saw no fault: nothing duplicated, the API key the faulty run
wrote (if it got that far) not rotated, the PVC the faulty run created (if it did) the same object.

Fault bodies follow the real kube-apiserver:
- 500: apierrors.NewInternalError (k8s.io/apimachinery/pkg/api/errors/errors.go), reason InternalError;
- dropped connection: the server closes the TCP connection without answering (an apiserver restarting or a load
  balancer idle cut), the client sees http.client.RemoteDisconnected;
- 409: apierrors.NewConflict as the generic registry store answers an optimistic-concurrency clash
  (k8s.io/apiserver/pkg/registry/generic/registry/store.go, "the object has been modified; please apply your changes
  to the latest version and try again");
- 429: apierrors.NewTooManyRequests with a Retry-After header, as the max-in-flight and priority-and-fairness
  filters answer (k8s.io/apiserver/pkg/server/filters/maxinflight.go, tooManyRequests);
- 401: the authentication filter's answer to an expired or unknown token (k8s.io/apiserver/pkg/endpoints/filters/
  authentication.go, Unauthorized -> apierrors.NewUnauthorized("Unauthorized"));
- slow answers: every GET of the Deployment delayed;
- missing CRDs: the Gateway API's HTTPRoute or External Secrets Operator's ExternalSecret not served (404 on
  discovery), refused before any write naming the CRD and the way out.

``FAULTS`` (plus the two missing-CRD cases) is counted for the README reliability section.
"""
import base64
import os

import pytest

from test_site_playbook import NS, SECRET, KEY_FIELD, _applied_writes, _failure_text

NS_PATH = "^/api/v1/namespaces/%s/" % NS
CONFLICT = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Conflict",
            "code": 409, "details": {"name": "qdrant", "group": "gateway.networking.k8s.io", "kind": "httproutes"},
            "message": 'Operation cannot be fulfilled on httproutes.gateway.networking.k8s.io "qdrant": the object '
                       "has been modified; please apply your changes to the latest version and try again"}
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}
NO_CHECK = ("-e", "qdrant_check_enabled=false")

# (id, inject_fault arguments, whether the faulty run may still succeed)
FAULTS = [
    ("http500_on_the_pvc_apply",
     dict(method="PATCH", path=NS_PATH + "persistentvolumeclaims/qdrant-storage$", status=500, count=None), False),
    ("dropped_connection_on_the_deployment_apply",
     dict(method="PATCH", path="/apis/apps/v1/namespaces/%s/deployments/qdrant$" % NS, drop=True, count=None),
     False),
    ("conflict_409_on_the_httproute_apply",
     dict(method="PATCH", path="/namespaces/%s/httproutes/qdrant$" % NS, status=409, body=CONFLICT, count=None),
     False),
    ("throttled_429_with_retry_after_on_the_service_apply",
     dict(method="PATCH", path=NS_PATH + "services/qdrant$", status=429, retry_after=1, count=None), False),
    ("expired_token_401_from_the_storage_role_on",
     dict(path="/persistentvolumeclaims", status=401, body=UNAUTHORIZED, count=None), False),
    ("slow_answers_on_every_deployment_get",
     dict(method="GET", path="/deployments/qdrant$", status=None, delay=1.5, count=None), True),
]
MISSING_CRDS = ["gateway_api_not_installed", "external_secrets_not_installed"]


def _objects(cluster):
    """The objects in the namespace; pods (named by the emulator's Deployment controller at random) by count."""
    return [(g, p, "<pod>" if p in ("pods", "replicasets") else n) for g, p, n in cluster.objects_in(NS)]


def _state(cluster):
    """What a converge leaves: the objects in the namespace, the key, the PVC's uid."""
    secret = cluster.get("v1", "Secret", SECRET)
    pvc = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")
    return (_objects(cluster),
            None if secret is None else base64.b64decode(secret["data"][KEY_FIELD]).decode(),
            None if pvc is None else pvc["metadata"]["uid"])


@pytest.fixture(scope="module")
def reference_objects(local_cluster):
    run = local_cluster.run()
    assert run.rc == 0, run.tail()
    return _objects(local_cluster)


@pytest.mark.parametrize("case_id, fault, may_succeed", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_plain_rerun_after_an_api_fault_converges(make_local_cluster, reference_objects, case_id, fault,
                                                    may_succeed):
    cluster = make_local_cluster()
    injected = cluster.emu.inject_fault(**fault)
    run = cluster.run(*NO_CHECK)
    cluster.emu.clear_faults()
    assert injected.hits > 0, "%s: the fault never fired:\n%s" % (case_id, run.tail())
    if not may_succeed:
        assert run.rc != 0, "%s: a run whose requests failed reported success:\n%s" % (case_id, run.tail())
    _objects, key, pvc_uid = _state(cluster)

    rerun = cluster.run()
    assert rerun.rc == 0, "%s: the plain re-run did not converge:\n%s" % (case_id, rerun.tail())
    assert "is ready and its authentication holds" in rerun.output
    objects, key_after, pvc_uid_after = _state(cluster)
    assert objects == reference_objects, "%s: objects differ from a fault-free converge" % case_id
    if key is not None:
        assert key_after == key, "%s: the re-run rotated the key the faulty run had written" % case_id
    if pvc_uid is not None:
        assert pvc_uid_after == pvc_uid, "%s: the PVC was replaced" % case_id


def test_dropped_connection_is_a_closed_connection_without_answer(make_local_cluster):
    """The emulator's drop fault: the client gets no status line at all (http.client.RemoteDisconnected)."""
    import http.client
    import ssl
    from urllib.parse import urlsplit
    cluster = make_local_cluster()
    cluster.emu.inject_fault(method="GET", path="^/api/v1/namespaces$", drop=True)
    u = urlsplit(cluster.emu.url)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=5)
    conn.request("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer %s" % cluster.emu.token})
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    conn.close()


def test_gateway_api_not_installed_is_refused_before_any_write(make_local_cluster, reference_objects):
    cluster = make_local_cluster()
    cluster.emu.delete_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None,
                              "httproutes.gateway.networking.k8s.io")
    run = cluster.run(*NO_CHECK)
    assert run.rc != 0, run.tail()
    failure = _failure_text(run)
    assert "httproutes.gateway.networking.k8s.io" in failure and "qdrant_gateway_routes_enabled=false" in failure, (
        run.tail())
    assert "standard-install.yaml" in failure, run.tail()
    assert _applied_writes(cluster) == [] and cluster.objects_in(NS) == [], _applied_writes(cluster)

    # The way out the message names: without the routes the rest deploys (verified through the API proxy).
    run = cluster.run("-e", "qdrant_gateway_routes_enabled=false")
    assert run.rc == 0, run.tail()
    key = _state(cluster)[1]
    # Then the Gateway API is installed and a plain run adds the route: the same objects as a fault-free converge.
    from crds import crd_dir
    cluster.emu.install_crd(__import__("yaml").safe_load(
        open(os.path.join(crd_dir(), "gateway.networking.k8s.io_httproutes.yaml")).read()))
    run = cluster.run()
    assert run.rc == 0, run.tail()
    objects, key_after, _uid = _state(cluster)
    assert objects == reference_objects and key_after == key


def test_external_secrets_not_installed_is_refused_before_any_write(make_local_cluster):
    cluster = make_local_cluster()
    cluster.emu.delete_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None,
                              "externalsecrets.external-secrets.io")
    run = cluster.run(*NO_CHECK, "-e", "qdrant_secret_backend=external-secrets")
    assert run.rc != 0, run.tail()
    failure = _failure_text(run)
    assert "externalsecrets.external-secrets.io" in failure and "qdrant_secret_backend=kubernetes" in failure, (
        run.tail())
    assert _applied_writes(cluster) == [] and cluster.objects_in(NS) == [], _applied_writes(cluster)
