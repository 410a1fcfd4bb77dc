"""The lookup peekoff.qdrant.qdrant_k8s_info (plugins/lookup/qdrant_k8s_info.py), run in this process against the
Kubernetes API emulator: it answers as kubernetes.core.k8s_info does (module_utils/k8s/service.py K8sService.find:
api_found false when discovery does not know the kind, api_found true and no resources for a missing object), and
an API error (discovery or read failing) is raised, never read as "kind not served": the CRD checks of the
secrets and gateway_routes roles say "not installed" only when the API server really does not serve the kind."""
import os
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for p in (os.path.join(ROOT, "tests", "support"), os.path.join(ROOT, ".collections")):
    if p not in sys.path:
        sys.path.insert(0, p)

from crds import crd_dir  # noqa: E402
from kube_emulator import KubeEmulator  # noqa: E402

from ansible_collections.peekoff.qdrant.plugins.lookup.qdrant_k8s_info import LookupModule  # noqa: E402

GW = "gateway.networking.k8s.io/v1"


@pytest.fixture
def emu(tmp_path, monkeypatch):
    e = KubeEmulator(crd_dir=crd_dir())
    e.start()
    kubeconfig = str(tmp_path / "kubeconfig")
    e.write_kubeconfig(kubeconfig)
    # kubernetes.core keeps its discovery cache in $TMPDIR (k8srcp-*.json): one of this test's own.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for var in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    e.kubeconfig_path = kubeconfig
    yield e
    e.stop()


def _read(emu, **kw):
    return LookupModule().run([], kubeconfig=emu.kubeconfig_path, **kw)


def _route(name, namespace="qdrant", labels=None):
    return {"apiVersion": GW, "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"parentRefs": [{"name": "gw", "namespace": "gateway"}], "hostnames": ["q.example.com"],
                     "rules": [{"backendRefs": [{"name": "qdrant", "port": 6333}]}]}}


def test_served_kind_reads_the_object_by_name_and_a_missing_one_as_none(emu):
    emu.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "qdrant"}})
    emu.create_object(_route("qdrant"))
    [found] = _read(emu, api_version=GW, kind="HTTPRoute", namespace="qdrant", resource_name="qdrant")
    assert found["api_found"] is True
    assert [r["metadata"]["name"] for r in found["resources"]] == ["qdrant"]
    assert found["resources"][0]["spec"]["hostnames"] == ["q.example.com"]
    assert _read(emu, api_version=GW, kind="HTTPRoute", namespace="qdrant", resource_name="other") == [
        {"api_found": True, "resources": []}]


def test_list_across_namespaces_and_by_label_selector(emu):
    for ns in ("qdrant", "apps"):
        emu.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    emu.create_object(_route("qdrant", labels={"app": "qdrant", "tier": "db"}))
    emu.create_object(_route("web", "apps", labels={"app": "web"}))
    [every] = _read(emu, api_version=GW, kind="HTTPRoute")
    assert sorted((r["metadata"]["namespace"], r["metadata"]["name"]) for r in every["resources"]) == [
        ("apps", "web"), ("qdrant", "qdrant")]
    [selected] = _read(emu, api_version=GW, kind="HTTPRoute", label_selector="app=qdrant,tier=db")
    assert [r["metadata"]["name"] for r in selected["resources"]] == ["qdrant"]


def test_kind_not_served_reads_as_api_found_false(emu):
    # The CRD removed: discovery no longer lists grpcroutes, as on a cluster without the Gateway API's GRPCRoute.
    emu.delete_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "grpcroutes.gateway.networking.k8s.io")
    assert _read(emu, api_version=GW, kind="GRPCRoute", namespace="qdrant", resource_name="qdrant-grpc") == [
        {"api_found": False, "resources": []}]
    # A group the server never served at all (External Secrets Operator not installed).
    emu.delete_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "externalsecrets.external-secrets.io")
    assert _read(emu, api_version="external-secrets.io/v1", kind="ExternalSecret", namespace="qdrant",
                 resource_name="qdrant-api-key") == [{"api_found": False, "resources": []}]


def test_a_failing_read_is_raised_not_taken_for_a_missing_kind(emu):
    emu.inject_fault(method="GET", path="/httproutes", status=403, count=None,
                     body={"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                           "message": 'httproutes.gateway.networking.k8s.io is forbidden: User "x" cannot list'})
    with pytest.raises(Exception) as err:
        _read(emu, api_version=GW, kind="HTTPRoute")
    assert "forbidden" in str(err.value).lower()


def test_failing_discovery_is_raised_not_taken_for_a_missing_kind(emu):
    # Every discovery request answers 503 (an API server restarting): the kind is unknown, not absent.
    emu.inject_fault(method="GET", path="^/apis", status=503, count=None)
    with pytest.raises(Exception) as err:
        _read(emu, api_version=GW, kind="GRPCRoute", namespace="qdrant", resource_name="qdrant-grpc")
    assert "503" in str(err.value) or "unavailable" in str(err.value).lower()


def test_unreachable_api_server_is_raised(emu):
    emu.stop()
    with pytest.raises(Exception) as err:
        _read(emu, api_version=GW, kind="GRPCRoute", namespace="qdrant")
    assert "refused" in str(err.value).lower() or "max retries" in str(err.value).lower(), err.value
    emu.start()
