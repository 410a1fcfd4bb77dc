"""The Kubernetes API emulator answers like a real kube-apiserver (1.32) where this project depends on it.

Expected messages/codes are those of a real API server; every test can fail. kubectl and kubernetes.core are
run for real against the emulator.
"""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3

from crds import crd_dir
from kube_emulator import KubeEmulator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable


@pytest.fixture(scope="module")
def emu():
    e = KubeEmulator(crd_dir=crd_dir())
    e.start()
    yield e
    e.stop()


class Client:
    def __init__(self, emu, token=True):
        self.emu = emu
        self.pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_cert_data=emu.ca_pem.decode())
        self.token = emu.token if token is True else token

    def __call__(self, method, path, body=None, ct="application/json", headers=None):
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer %s" % self.token
        if body is not None:
            h["Content-Type"] = ct
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        h.update(headers or {})
        r = self.pool.request(method, self.emu.url + path, body=body, headers=h, retries=False)
        try:
            data = json.loads(r.data) if r.data else None
        except ValueError:
            data = r.data
        return r.status, data


@pytest.fixture(scope="module")
def api(emu):
    return Client(emu)


@pytest.fixture
def ns(api):
    name = "t-" + uuid.uuid4().hex[:8]
    s, _body = api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert s == 201
    return name


def deployment(name="web", image="nginx:1.27", **spec_extra):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": "main", "image": image,
                                                        "ports": [{"containerPort": 80}]}]}}}}
    d["spec"].update(spec_extra)
    return d


def pvc(name="data", size="1Gi", **spec_extra):
    d = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}
    d["spec"].update(spec_extra)
    return d


def status_of(body):
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    return body


# ------------------------------------------------------------------------------------------ discovery, auth
def test_discovery_and_version(api):
    s, v = api("GET", "/version")
    assert s == 200 and v["gitVersion"].startswith("v1.32")
    s, apis = api("GET", "/api")
    assert s == 200 and apis["versions"] == ["v1"]
    s, groups = api("GET", "/apis")
    names = {g["name"] for g in groups["groups"]}
    assert {"apps", "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "apiextensions.k8s.io",
            "gateway.networking.k8s.io", "external-secrets.io"} <= names
    s, core = api("GET", "/api/v1")
    core_names = {r["name"] for r in core["resources"]}
    assert {"namespaces", "configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims",
            "pods", "services/proxy"} <= core_names
    s, es = api("GET", "/apis/external-secrets.io/v1")
    assert s == 200 and [r["kind"] for r in es["resources"] if r["name"] == "externalsecrets"] == ["ExternalSecret"]
    # v1beta1 is not served by the pinned CRD: not in discovery, its paths 404 like a real server
    eg = [g for g in groups["groups"] if g["name"] == "external-secrets.io"][0]
    assert [v["version"] for v in eg["versions"]] == ["v1"]
    s, body = api("GET", "/apis/external-secrets.io/v1beta1")
    assert s == 404 and status_of(body)["message"] == "the server could not find the requested resource"


def test_auth_required(emu):
    for token in (None, "wrong"):
        s, body = Client(emu, token=token)("GET", "/api/v1/namespaces")
        assert s == 401
        assert status_of(body)["reason"] == "Unauthorized" and body["message"] == "Unauthorized"


# ------------------------------------------------------------------------------------------ CRUD and errors
def test_create_twice_is_409_already_exists(api, ns):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    s, created = api("POST", "/api/v1/namespaces/%s/configmaps" % ns, cm)
    assert s == 201 and created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    assert "creationTimestamp" in created["metadata"]
    s, body = api("POST", "/api/v1/namespaces/%s/configmaps" % ns, cm)
    assert s == 409
    assert status_of(body)["reason"] == "AlreadyExists"
    assert body["message"] == 'configmaps "c" already exists'
    assert body["details"] == {"name": "c", "kind": "configmaps"}
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment())
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment())
    assert s == 409 and body["message"] == 'deployments.apps "web" already exists'


def test_not_found_messages(api, ns):
    s, body = api("GET", "/apis/apps/v1/namespaces/%s/deployments/x" % ns)
    assert s == 404 and status_of(body)["message"] == 'deployments.apps "x" not found'
    assert body["details"] == {"name": "x", "group": "apps", "kind": "deployments"}
    s, body = api("GET", "/api/v1/namespaces/%s/secrets/x" % ns)
    assert s == 404 and body["message"] == 'secrets "x" not found'
    s, body = api("POST", "/api/v1/namespaces/nope-%s/configmaps" % ns,
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert s == 404 and body["message"] == 'namespaces "nope-%s" not found' % ns
    s, body = api("DELETE", "/api/v1/namespaces/%s/configmaps/x" % ns)
    assert s == 404 and body["message"] == 'configmaps "x" not found'


def test_invalid_deployment_is_422_with_causes(api, ns):
    bad = deployment()
    bad["spec"]["template"]["spec"] = {}
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, bad)
    assert s == 422
    assert status_of(body)["reason"] == "Invalid"
    assert body["message"] == 'Deployment.apps "web" is invalid: spec.template.spec.containers: Required value'
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                          "field": "spec.template.spec.containers"}]
    bad = deployment()
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, bad)
    assert s == 422 and "spec.template.metadata.labels" in body["message"]
    assert "`selector` does not match template `labels`" in body["message"]
    bad = deployment()
    bad["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "nope", "mountPath": "/x"}]
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, bad)
    assert s == 422 and 'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "nope"' in body["message"]
    bad = deployment(name="Bad_Name")
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, bad)
    assert s == 422 and body["message"].startswith('Deployment.apps "Bad_Name" is invalid: metadata.name: '
                                                   'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    assert api("GET", "/apis/apps/v1/namespaces/%s/deployments/web" % ns)[0] == 404


def test_schema_types_and_unknown_fields(api, ns):
    bad = deployment(replicas="three")
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, bad)
    assert s == 400 and status_of(body)["reason"] == "BadRequest"
    assert body["message"].startswith('Deployment in version "v1" cannot be handled as a Deployment: json: '
                                      "cannot unmarshal string into Go struct field")
    bad = deployment()
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments?fieldValidation=Strict" % ns, bad)
    assert s == 400 and body["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: strict '
                                            'decoding error: unknown field '
                                            '"spec.template.spec.containers[0].imagePullPolicyy"')
    # Warn (the real default) drops the field and warns
    r = Client(api.emu).pool.request(
        "POST", api.emu.url + "/apis/apps/v1/namespaces/%s/deployments?fieldValidation=Warn" % ns,
        body=json.dumps(bad), headers={"Authorization": "Bearer " + api.emu.token,
                                       "Content-Type": "application/json"})
    assert r.status == 201 and "imagePullPolicyy" in r.headers.get("Warning", "")
    assert "imagePullPolicyy" not in json.dumps(json.loads(r.data))


def test_resource_version_conflict_409(api, ns):
    path = "/api/v1/namespaces/%s/configmaps" % ns
    s, cm = api("POST", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                               "data": {"a": "1"}})
    stale = json.loads(json.dumps(cm))
    cm["data"]["a"] = "2"
    s, updated = api("PUT", path + "/c", cm)
    assert s == 200 and updated["metadata"]["resourceVersion"] != stale["metadata"]["resourceVersion"]
    stale["data"]["a"] = "3"
    s, body = api("PUT", path + "/c", stale)
    assert s == 409 and status_of(body)["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "c": the object has been modified; '
                               'please apply your changes to the latest version and try again')
    s, body = api("PATCH", path + "/c", {"metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
                                         "data": {"a": "4"}}, ct="application/merge-patch+json")
    assert s == 409
    assert api("GET", path + "/c")[1]["data"] == {"a": "2"}


def test_dry_run_stores_nothing(api, ns, emu):
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    s, body = api("POST", path + "?dryRun=All", deployment())
    assert s == 201 and body["spec"]["replicas"] == 1 and body["metadata"]["uid"]
    assert emu.get("apps/v1", "Deployment", ns, "web") is None
    s, live = api("POST", path, deployment())
    rv = emu.get("apps/v1", "Deployment", ns, "web")["metadata"]["resourceVersion"]
    s, body = api("PATCH", path + "/web?dryRun=All", {"spec": {"replicas": 3}},
                  ct="application/strategic-merge-patch+json")
    assert s == 200 and body["spec"]["replicas"] == 3 and body["metadata"]["generation"] == 2
    s, body = api("PATCH", path + "/web?dryRun=All&fieldManager=t&force=true", json.dumps(deployment(replicas=5)),
                  ct="application/apply-patch+yaml")
    assert s == 200 and body["spec"]["replicas"] == 5
    s, body = api("DELETE", path + "/web?dryRun=All")
    assert s == 200
    after = emu.get("apps/v1", "Deployment", ns, "web")
    assert after["spec"]["replicas"] == 1 and after["metadata"]["resourceVersion"] == rv
    s, body = api("POST", path + "?dryRun=All", deployment())
    assert s == 409


def test_defaults_and_generation(api, ns):
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    s, d = api("POST", path, deployment())
    spec = d["spec"]
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                           "maxSurge": "25%"}}
    c = spec["template"]["spec"]["containers"][0]
    assert c["terminationMessagePath"] == "/dev/termination-log" and c["imagePullPolicy"] == "IfNotPresent"
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert d["metadata"]["generation"] == 1
    s, d2 = api("PATCH", path + "/web", {"metadata": {"labels": {"x": "y"}}}, ct="application/merge-patch+json")
    assert d2["metadata"]["generation"] == 1
    assert int(d2["metadata"]["resourceVersion"]) > int(d["metadata"]["resourceVersion"])
    s, d3 = api("PATCH", path + "/web", {"spec": {"replicas": 2}}, ct="application/merge-patch+json")
    assert d3["metadata"]["generation"] == 2
    # a no-op patch changes nothing, not even resourceVersion
    s, d4 = api("PATCH", path + "/web", deployment(replicas=2), ct="application/strategic-merge-patch+json")
    s, d5 = api("PATCH", path + "/web", deployment(replicas=2), ct="application/strategic-merge-patch+json")
    assert d4["metadata"]["resourceVersion"] == d5["metadata"]["resourceVersion"]
    s, svc = api("POST", "/api/v1/namespaces/%s/services" % ns, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["clusterIP"].startswith("10.96.")
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert "generation" not in svc["metadata"]
    s, claim = api("POST", "/api/v1/namespaces/%s/persistentvolumeclaims" % ns, pvc())
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["spec"]["storageClassName"] == "standard"


def test_strategic_merge_patch_merges_by_key(api, ns):
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    api("POST", path, d)
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]},
        {"name": "side", "image": "busybox:1.36"}]}}}}
    s, out = api("PATCH", path + "/web", patch, ct="application/strategic-merge-patch+json")
    assert s == 200, out
    cs = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in cs] == ["main", "side"]
    assert cs[0]["image"] == "nginx:1.27" and cs[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert cs[0]["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]
    # merge patch replaces lists wholesale
    s, out = api("PATCH", path + "/web", {"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "nginx:1.27"}]}}}}, ct="application/merge-patch+json")
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["only"]
    s, out = api("PATCH", path + "/web", [{"op": "replace", "path": "/spec/replicas", "value": 4}],
                 ct="application/json-patch+json")
    assert s == 200 and out["spec"]["replicas"] == 4
    s, body = api("PATCH", path + "/web", {"spec": {}}, ct="application/x-yaml")
    assert s == 415 and status_of(body)["reason"] == "UnsupportedMediaType"


def test_server_side_apply(api, ns):
    path = "/apis/apps/v1/namespaces/%s/deployments/web" % ns
    y = "application/apply-patch+yaml"
    s, first = api("PATCH", path + "?fieldManager=ansible", json.dumps(deployment(replicas=2)), ct=y)
    assert s == 201 and first["spec"]["replicas"] == 2
    s, again = api("PATCH", path + "?fieldManager=ansible", json.dumps(deployment(replicas=2)), ct=y)
    assert s == 200
    live = api("GET", path)[1]
    assert again["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    assert again["metadata"]["generation"] == live["metadata"]["generation"]
    s, _body = api("PATCH", path + "?fieldManager=ansible", json.dumps(deployment(replicas=2)), ct=y)
    assert api("GET", path)[1]["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    # another manager setting the same field to another value conflicts unless forced
    s, body = api("PATCH", path + "?fieldManager=other", json.dumps(deployment(replicas=3)), ct=y)
    assert s == 409 and body["message"] == 'Apply failed with 1 conflict: conflict with "ansible": .spec.replicas'
    s, body = api("PATCH", path + "?fieldManager=other&force=true", json.dumps(deployment(replicas=3)), ct=y)
    assert s == 200 and body["spec"]["replicas"] == 3 and body["metadata"]["generation"] == 2
    # a field dropped from the manager's config is removed
    labelled = deployment(replicas=3)
    labelled["metadata"]["labels"] = {"team": "a"}
    s, body = api("PATCH", path + "?fieldManager=ansible&force=true", json.dumps(labelled), ct=y)
    assert body["metadata"]["labels"] == {"team": "a"}
    s, body = api("PATCH", path + "?fieldManager=ansible&force=true", json.dumps(deployment(replicas=3)), ct=y)
    assert "team" not in (body["metadata"].get("labels") or {})
    s, body = api("PATCH", path, json.dumps(deployment()), ct=y)
    assert s == 422 and "fieldManager" in body["message"]


def test_server_side_apply_removes_a_dropped_list_item_whole(api, ns):
    """A list-map item (volumeMount, volume) the manager stops applying goes as a whole, key included, as on
    a real server; leaving a husk without its name would make the next apply invalid (422)."""
    path = "/apis/apps/v1/namespaces/%s/deployments/web?fieldManager=ansible&force=true" % ns
    y = "application/apply-patch+yaml"
    with_config = deployment()
    pod = with_config["spec"]["template"]["spec"]
    pod["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"},
                                            {"name": "config", "mountPath": "/cfg/local.yaml", "subPath": "local.yaml",
                                             "readOnly": True}]
    pod["volumes"] = [{"name": "data", "emptyDir": {}}, {"name": "config", "configMap": {"name": "web-config"}}]
    assert api("PATCH", path, json.dumps(with_config), ct=y)[0] == 201
    without = json.loads(json.dumps(with_config))
    pod = without["spec"]["template"]["spec"]
    pod["containers"][0]["volumeMounts"] = pod["containers"][0]["volumeMounts"][:1]
    pod["volumes"] = pod["volumes"][:1]
    s, body = api("PATCH", path, json.dumps(without), ct=y)
    assert s == 200, body
    live = body["spec"]["template"]["spec"]
    assert live["containers"][0]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert live["volumes"] == [{"name": "data", "emptyDir": {}}]


def test_pvc_immutability(api, ns):
    path = "/api/v1/namespaces/%s/persistentvolumeclaims" % ns
    s, claim = api("POST", path, pvc(size="2Gi"))
    assert s == 201
    bound = api("GET", path + "/data")[1]
    assert bound["status"]["phase"] == "Bound" and bound["spec"]["volumeName"]
    s, body = api("PATCH", path + "/data", {"spec": {"resources": {"requests": {"storage": "1Gi"}}}},
                  ct="application/strategic-merge-patch+json")
    assert s == 422
    assert body["message"] == ('PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: '
                               'Forbidden: field can not be less than previous value')
    s, body = api("PATCH", path + "/data", {"spec": {"storageClassName": "fast"}},
                  ct="application/merge-patch+json")
    assert s == 422 and body["message"].startswith('PersistentVolumeClaim "data" is invalid: spec: Forbidden: '
                                                   "spec is immutable after creation")
    s, body = api("PATCH", path + "/data", {"spec": {"resources": {"requests": {"storage": "3Gi"}}}},
                  ct="application/strategic-merge-patch+json")
    assert s == 200 and body["spec"]["resources"]["requests"]["storage"] == "3Gi"
    # re-applying the original manifest (without volumeName) is accepted and a no-op
    s, body = api("PATCH", path + "/data", pvc(size="3Gi"), ct="application/strategic-merge-patch+json")
    assert s == 200


def test_other_immutable_fields(api, ns):
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    api("POST", path, deployment())
    d = deployment()
    d["spec"]["selector"]["matchLabels"]["tier"] = "x"
    d["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    s, body = api("PUT", path + "/web", d)
    assert s == 422 and body["message"].startswith('Deployment.apps "web" is invalid: spec.selector: Invalid value: '
                                                   "v1.LabelSelector{")
    assert body["message"].endswith("field is immutable")
    spath = "/api/v1/namespaces/%s/services" % ns
    s, svc = api("POST", spath, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                 "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    ip = svc["spec"]["clusterIP"]
    s, body = api("PATCH", spath + "/web", {"spec": {"clusterIP": "10.96.200.200"}}, ct="application/merge-patch+json")
    assert s == 422 and "spec.clusterIPs[0]: Invalid value" in body["message"] and "may not change once set" in \
        body["message"]
    # PUT without clusterIP keeps the allocated one (like the real registry)
    s, body = api("PUT", spath + "/web", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                          "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert s == 200 and body["spec"]["clusterIP"] == ip


def test_custom_resources_validated_against_crd(api, ns):
    path = "/apis/gateway.networking.k8s.io/v1/namespaces/%s/httproutes" % ns
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
             "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "qdrant", "port": 6333}]}]}}
    s, body = api("POST", path, route)
    assert s == 201, body
    assert body["spec"]["parentRefs"][0]["kind"] == "Gateway"  # CRD schema defaults applied
    assert body["metadata"]["generation"] == 1
    bad = json.loads(json.dumps(route))
    bad["metadata"]["name"] = "bad"
    bad["spec"]["rules"][0]["backendRefs"][0]["port"] = "http"
    s, body = api("POST", path, bad)
    assert s == 422 and status_of(body)["reason"] == "Invalid"
    assert body["message"].startswith('HTTPRoute.gateway.networking.k8s.io "bad" is invalid: '
                                      "spec.rules[0].backendRefs[0].port: Invalid value: \"string\"")
    s, body = api("PATCH", path + "/r", {"spec": {"hostnames": ["a.example.com"]}},
                  ct="application/strategic-merge-patch+json")
    assert s == 415 and body["message"].startswith("the body of the request was in an unknown format - accepted "
                                                   "media types include: application/json-patch+json, "
                                                   "application/merge-patch+json, application/apply-patch+yaml")
    s, body = api("PATCH", path + "/r", {"spec": {"hostnames": ["a.example.com"]}},
                  ct="application/merge-patch+json")
    assert s == 200 and body["spec"]["hostnames"] == ["a.example.com"] and body["metadata"]["generation"] == 2
    es = {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret", "metadata": {"name": "k"},
          "spec": {"secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"}, "target": {"name": "k"},
                   "data": [{"secretKey": "api-key", "remoteRef": {"key": "qdrant", "property": "api-key"}}]}}
    s, body = api("POST", "/apis/external-secrets.io/v1beta1/namespaces/%s/externalsecrets" % ns, es)
    assert s == 404 and body["message"] == "the server could not find the requested resource"
    es["apiVersion"] = "external-secrets.io/v1"
    s, body = api("POST", "/apis/external-secrets.io/v1/namespaces/%s/externalsecrets" % ns, es)
    assert s == 201, body


def test_crd_install_makes_resource_discoverable(api, emu):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                      "spec": {"type": "object", "required": ["size"],
                                               "properties": {"size": {"type": "integer", "minimum": 1}}}}}}},
                                 {"name": "v2", "served": False, "storage": False,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    assert api("GET", "/apis/example.com/v1")[0] == 404
    s, body = api("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert s == 201, body
    s, rl = api("GET", "/apis/example.com/v1")
    assert s == 200 and rl["resources"][0]["name"] == "widgets" and rl["resources"][0]["namespaced"] is True
    assert api("GET", "/apis/example.com/v2")[0] == 404
    s, body = api("POST", "/apis/example.com/v1/namespaces/default/widgets",
                  {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 0}})
    assert s == 422 and "spec.size in body should be greater than or equal to 1" in body["message"]
    s, body = api("POST", "/apis/example.com/v1/namespaces/default/widgets",
                  {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}})
    assert s == 422 and body["message"] == 'Widget.example.com "w" is invalid: spec.size: Required value'
    s, body = api("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert s == 200
    assert api("GET", "/apis/example.com/v1")[0] == 404


def test_selectors_and_namespace_deletion(api, ns):
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        api("POST", "/api/v1/namespaces/%s/configmaps" % ns, {"apiVersion": "v1", "kind": "ConfigMap",
                                                              "metadata": {"name": name, "labels": {"tier": tier}}})

    def names(q):
        s, body = api("GET", "/api/v1/namespaces/%s/configmaps?%s" % (ns, q))
        assert s == 200 and body["kind"] == "ConfigMapList"
        return [i["metadata"]["name"] for i in body["items"]]
    assert names("labelSelector=tier%3Dweb") == ["a", "c"]
    assert names("labelSelector=tier%20in%20(db)") == ["b"]
    assert names("labelSelector=tier!%3Dweb") == ["b"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    s, body = api("GET", "/api/v1/namespaces/%s/configmaps?fieldSelector=data.x%%3D1" % ns)
    assert s == 400 and body["message"] == "field label not supported: data.x"
    s, body = api("DELETE", "/api/v1/namespaces/%s" % ns)
    assert s == 200 and body["kind"] == "Namespace" and body["status"]["phase"] == "Terminating"
    s, body = api("POST", "/api/v1/namespaces/%s/configmaps" % ns, {"apiVersion": "v1", "kind": "ConfigMap",
                                                                    "metadata": {"name": "late"}})
    assert s == 403 and body["message"] == ('configmaps "late" is forbidden: unable to create new content in '
                                            "namespace %s because it is being terminated" % ns)
    assert api.emu.wait_for(lambda: api("GET", "/api/v1/namespaces/%s" % ns)[0] == 404, timeout=5)
    s, body = api("GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%%3D%s" % ns)
    assert body["items"] == []


def test_delete_responses(api, ns):
    api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment())
    s, body = api("DELETE", "/apis/apps/v1/namespaces/%s/deployments/web?propagationPolicy=Foreground" % ns)
    assert s == 200 and body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "web" and body["details"]["kind"] == "deployments"
    api("POST", "/api/v1/namespaces/%s/services" % ns, {"apiVersion": "v1", "kind": "Service",
                                                        "metadata": {"name": "s"}, "spec": {"ports": [{"port": 1}]}})
    s, body = api("DELETE", "/api/v1/namespaces/%s/services/s" % ns,
                  {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"})
    assert s == 200 and body["kind"] == "Service"


def test_statefulset_claims_defaults_and_forbidden_updates(api, ns):
    path = "/apis/apps/v1/namespaces/%s/statefulsets" % ns
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
                        {"name": "db", "image": "qdrant/qdrant:v1.19.0",
                         "volumeMounts": [{"name": "data", "mountPath": "/qdrant/storage"}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
    s, body = api("POST", path, sts)
    assert s == 201, body
    assert body["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert body["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    st = api("GET", path + "/db")[1]["status"]
    assert st["readyReplicas"] == 1 and st["currentRevision"] == st["updateRevision"]
    s, body = api("PATCH", path + "/db", {"spec": {"serviceName": "other"}}, ct="application/merge-patch+json")
    assert s == 422 and body["message"].startswith('StatefulSet.apps "db" is invalid: spec: Forbidden: updates to '
                                                   "statefulset spec for fields other than 'replicas'")


# ------------------------------------------------------------------------------------------ controller, proxy, faults
def test_controller_and_manual_readiness():
    e = KubeEmulator(auto_ready=False)
    e.start()
    try:
        c = Client(e)
        c("POST", "/apis/apps/v1/namespaces/default/deployments", deployment(replicas=2))
        assert e.get("apps/v1", "Deployment", "default", "web")["status"] == {}
        e.mark_ready("apps/v1", "Deployment", "default", "web")
        st = e.get("apps/v1", "Deployment", "default", "web")["status"]
        assert st["availableReplicas"] == 2 and st["observedGeneration"] == 1
        assert {c_["type"]: c_["reason"] for c_ in st["conditions"]} == {
            "Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
        e.set_status("apps/v1", "Deployment", "default", "web", {"availableReplicas": 1, "unavailableReplicas": 1})
        assert e.get("apps/v1", "Deployment", "default", "web")["status"]["unavailableReplicas"] == 1
        assert len(e.list("v1", "Pod", "default")) == 2
    finally:
        e.stop()


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"method": self.command, "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": self.rfile.read(n).decode()}).encode()
        self.send_response(201 if self.command == "PUT" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _reply


def test_service_proxy(api, emu, ns):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = "/api/v1/namespaces/%s/services/qdrant:6333/proxy" % ns
        s, body = api("GET", base + "/collections")
        assert s == 404 and body["message"] == 'services "qdrant" not found'
        api("POST", "/api/v1/namespaces/%s/services" % ns, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "qdrant"},
            "spec": {"selector": {"app": "qdrant"}, "ports": [{"port": 6333, "name": "http"}]}})
        emu.register_service_backend(ns, "qdrant", 6333, "http://127.0.0.1:%d" % srv.server_port)
        s, body = api("GET", base + "/collections")
        assert s == 503 and status_of(body)["reason"] == "ServiceUnavailable"
        assert body["message"] == 'no endpoints available for service "qdrant:6333"'
        api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment(name="qdrant"))
        s, body = api("PUT", base + "/collections/c1?wait=true", {"vectors": {"size": 4}},
                      headers={"api-key": "k1"})
        assert s == 201
        assert body["method"] == "PUT" and body["path"] == "/collections/c1?wait=true"
        assert body["headers"]["api-key"] == "k1" and "authorization" not in body["headers"]
        assert json.loads(body["body"]) == {"vectors": {"size": 4}}
        s, body = api("GET", "/api/v1/namespaces/%s/services/qdrant:http/proxy/" % ns)
        assert s == 200 and body["path"] == "/"
    finally:
        srv.shutdown()
        srv.server_close()


def test_fault_injection_and_request_log(api, emu):
    emu.reset_requests()
    emu.inject_fault(method="GET", path=r"/api/v1/namespaces/default$", status=503, count=2)
    assert api("GET", "/api/v1/namespaces/default")[0] == 503
    s, body = api("GET", "/api/v1/namespaces/default")
    assert s == 503 and body["reason"] == "ServiceUnavailable"
    assert api("GET", "/api/v1/namespaces/default")[0] == 200
    emu.inject_fault(path="/api/v1/namespaces/kube-system", status=429)
    r = Client(emu).pool.request("GET", emu.url + "/api/v1/namespaces/kube-system",
                                 headers={"Authorization": "Bearer " + emu.token}, retries=False)
    assert r.status == 429 and r.headers["Retry-After"] == "1"
    emu.inject_fault(path="/api/v1/namespaces/kube-public", status=None, delay=0.3)
    t = time.time()
    assert api("GET", "/api/v1/namespaces/kube-public")[0] == 200 and time.time() - t >= 0.3
    assert emu.count_requests("GET", r"^/api/v1/namespaces/default$") == 3
    assert ("GET", "/api/v1/namespaces/kube-public", "") in emu.requests


# ------------------------------------------------------------------------------------------ real clients
MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: %(ns)s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %(ns)s}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: main, image: "nginx:1.27", ports: [{containerPort: 80, name: http}], env: [{name: A, value: "1"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %(ns)s}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http, name: http}]
"""


def test_kubectl_apply_get_delete(emu, tmp_path):
    kc = emu.write_kubeconfig(str(tmp_path / "kubeconfig"))
    f = tmp_path / "m.yaml"
    f.write_text(MANIFEST % {"ns": "kubectl-test"})
    env = dict(os.environ, KUBECONFIG=kc)

    def kubectl(*args):
        return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    r = kubectl("apply", "-f", str(f))
    assert r.returncode == 0, r.stderr
    assert "deployment.apps/web created" in r.stdout and "service/web created" in r.stdout
    r = kubectl("apply", "-f", str(f))
    assert r.returncode == 0 and r.stdout.count("unchanged") == 3, r.stdout + r.stderr
    r = kubectl("get", "deploy", "web", "-n", "kubectl-test", "-o", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["status"]["availableReplicas"] == 1
    r = kubectl("get", "pods", "-n", "kubectl-test", "-l", "app=web", "-o", "name")
    assert r.returncode == 0 and r.stdout.startswith("pod/web-")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kubectl-test}\nbogus: 1\n")
    r = kubectl("apply", "-f", str(bad))
    assert r.returncode != 0 and 'unknown field "bogus"' in r.stderr
    r = kubectl("delete", "-f", str(f))
    assert r.returncode == 0, r.stderr
    assert emu.wait_for(lambda: emu.get("v1", "Namespace", None, "kubectl-test") is None, timeout=5)
    r = kubectl("get", "deploy", "web", "-n", "kubectl-test")
    assert r.returncode != 0 and 'namespaces "kubectl-test" not found' in r.stderr or "NotFound" in r.stderr


def _ansible(emu, tmp_path, args, check=False):
    kc = emu.write_kubeconfig(str(tmp_path / "kubeconfig"))
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=kc, ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               TMPDIR=str(tmp_path), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    cmd = [os.path.join(os.path.dirname(PY), "ansible"), "localhost", "-m", "kubernetes.core.k8s", "-a",
           json.dumps(args)]
    if check:
        cmd.append("--check")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    marker = re.search(r"^localhost \| [A-Z!]+ => ", r.stdout, re.M)
    assert marker, r.stdout + r.stderr
    res = json.JSONDecoder().raw_decode(r.stdout[marker.end():])[0]
    res["failed"] = "FAILED" in marker.group(0)
    return res


def test_kubernetes_core_k8s_idempotent_and_check_mode(emu, tmp_path):
    import yaml
    docs = list(yaml.safe_load_all(MANIFEST % {"ns": "ansible-test"}))
    args = {"definition": docs, "wait": True, "wait_timeout": 20}
    res = _ansible(emu, tmp_path, {"definition": docs[:1]}, check=True)
    assert res.get("changed") is True and not res.get("failed"), res
    assert emu.get("v1", "Namespace", None, "ansible-test") is None
    res = _ansible(emu, tmp_path, args)
    assert res.get("changed") is True and not res.get("failed"), res
    assert emu.get("apps/v1", "Deployment", "ansible-test", "web") is not None
    rv = emu.get("apps/v1", "Deployment", "ansible-test", "web")["metadata"]["resourceVersion"]
    res = _ansible(emu, tmp_path, args)
    assert res.get("changed") is False and not res.get("failed"), res
    ssa = dict(args, apply=True, server_side_apply={"field_manager": "peekoff"})
    res = _ansible(emu, tmp_path, ssa)
    assert not res.get("failed"), res
    res = _ansible(emu, tmp_path, ssa)
    assert res.get("changed") is False, res
    assert emu.get("apps/v1", "Deployment", "ansible-test", "web")["metadata"]["resourceVersion"] == rv
    bad = json.loads(json.dumps(docs[1]))
    bad["metadata"]["name"] = "web2"
    bad["spec"]["template"]["spec"]["containers"][0].pop("image")
    res = _ansible(emu, tmp_path, {"definition": bad})
    assert res.get("failed") and "spec.template.spec.containers[0].image: Required value" in res["msg"]
    res = _ansible(emu, tmp_path, {"definition": docs[2], "state": "absent"})
    assert res.get("changed") is True
    assert emu.get("v1", "Service", "ansible-test", "web") is None


# ------------------------------------------------------------------------------------------ CLI and local_env
def test_cli_serve(tmp_path):
    kc = tmp_path / "kc"
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tests", "support"))
    p = subprocess.Popen([PY, "-m", "kube_emulator", "serve", "--kubeconfig", str(kc)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        assert "kube_emulator serving https://127.0.0.1:" in line and kc.exists()
        r = subprocess.run(["kubectl", "--kubeconfig", str(kc), "get", "ns", "-o", "name"], capture_output=True,
                           text=True, timeout=30, check=False)
        assert r.returncode == 0 and "namespace/default" in r.stdout
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0


def test_local_env_wires_standin_keys_from_secret(tmp_path):
    state = str(tmp_path / "state")
    le = [PY, os.path.join(REPO, "tests", "support", "local_env.py")]
    r = subprocess.run(le + ["start", "--state-dir", state], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    try:
        info = json.load(open(os.path.join(state, "env.json")))
        assert set(info) >= {"kube_url", "qdrant_url", "pid"}
        import yaml
        kc = yaml.safe_load(open(os.path.join(state, "kubeconfig")))
        token = kc["users"][0]["user"]["token"]
        ca = base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        pool = urllib3.PoolManager(ca_cert_data=ca)
        hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

        def post(path, obj):
            r_ = pool.request("POST", info["kube_url"] + path, body=json.dumps(obj), headers=hdr)
            assert r_.status == 201, r_.data
        proxy = info["kube_url"] + "/api/v1/namespaces/qdrant/services/qdrant:6333/proxy/collections"
        assert pool.request("GET", proxy, headers=hdr).status == 404  # no namespace/service yet: fresh cluster
        post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "qdrant"}})
        post("/api/v1/namespaces/qdrant/services", {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "qdrant"}, "spec": {"selector": {"app": "qdrant"}, "ports": [{"port": 6333, "name": "http"}]}})
        r = pool.request("GET", proxy, headers=hdr)
        assert r.status == 503 and b'no endpoints available for service' in r.data
        post("/api/v1/namespaces/qdrant/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": "qdrant-keys"}, "stringData": {"api-key": "full-key", "ro": "ro-key"}})
        dep = deployment(name="qdrant", image="qdrant/qdrant:v1.19.0")
        dep["spec"]["template"]["spec"]["containers"][0]["env"] = [
            {"name": "QDRANT__SERVICE__API_KEY", "valueFrom": {"secretKeyRef": {"name": "qdrant-keys",
                                                                                "key": "api-key"}}},
            {"name": "QDRANT__SERVICE__READ_ONLY_API_KEY", "valueFrom": {"secretKeyRef": {"name": "qdrant-keys",
                                                                                          "key": "ro"}}}]
        post("/apis/apps/v1/namespaces/qdrant/deployments", dep)
        assert pool.request("GET", proxy, headers=hdr).status == 401
        assert pool.request("GET", proxy, headers=dict(hdr, **{"api-key": "wrong"})).status == 401
        assert pool.request("GET", proxy, headers=dict(hdr, **{"api-key": "full-key"})).status == 200
        assert pool.request("GET", proxy, headers=dict(hdr, **{"api-key": "ro-key"})).status == 200
        r = subprocess.run(le + ["status", "--state-dir", state], capture_output=True, text=True, timeout=30, check=False)
        assert r.returncode == 0 and json.loads(r.stdout)["running"] is True
    finally:
        r = subprocess.run(le + ["stop", "--state-dir", state], capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0
    r = subprocess.run(le + ["status", "--state-dir", state], capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode != 0 and json.loads(r.stdout)["running"] is False


# ------------------------------------------------------------------------------------------ takeover (issue 9)
def test_recreate_over_defaulted_rolling_update_is_refused_with_the_selector_like_the_apiserver(api, ns):
    """A Deployment created without a strategy gets RollingUpdate 25%/25% (SetDefaults_Deployment,
    pkg/apis/apps/v1/defaults.go). A server-side apply that switches to Recreate and does not name
    rollingUpdate keeps it (apply leaves fields it does not own), so ValidateDeploymentStrategy refuses
    (pkg/apis/apps/validation/validation.go); a changed selector is refused in the same 422, after the spec's
    own errors (ValidateUpdate in pkg/registry/apps/deployment/strategy.go)."""
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    s, created = api("POST", path + "?fieldManager=argocd-controller", deployment())
    assert s == 201 and created["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
    rv = api("GET", path + "/web")[1]["metadata"]["resourceVersion"]
    y = "application/apply-patch+yaml"
    recreate = deployment(strategy={"type": "Recreate"})
    s, body = api("PATCH", path + "/web?fieldManager=peekoff.qdrant&force=true", json.dumps(recreate), ct=y)
    assert s == 422 and status_of(body)["reason"] == "Invalid"
    assert body["message"] == ('Deployment.apps "web" is invalid: spec.strategy.rollingUpdate: Forbidden: may not be '
                               "specified when strategy `type` is 'Recreate'")
    other = deployment(strategy={"type": "Recreate"})
    other["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "db"}}
    other["spec"]["template"]["metadata"]["labels"]["tier"] = "db"
    s, body = api("PATCH", path + "/web?fieldManager=peekoff.qdrant&force=true", json.dumps(other), ct=y)
    assert s == 422
    assert body["message"].startswith('Deployment.apps "web" is invalid: [spec.strategy.rollingUpdate: Forbidden: '
                                      "may not be specified when strategy `type` is 'Recreate', spec.selector: "
                                      "Invalid value: ")
    assert body["message"].endswith(": field is immutable]")
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.strategy.rollingUpdate", "spec.selector"]
    assert api("GET", path + "/web")[1]["metadata"]["resourceVersion"] == rv


def test_merge_patch_with_null_drops_the_defaulted_rolling_update(api, ns):
    """What does work on a real server: one JSON merge patch (RFC 7386: null removes) that sets Recreate and
    removes rollingUpdate in the same request; the strategic-merge form needs $retainKeys."""
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    assert api("POST", path, deployment())[0] == 201
    s, body = api("PATCH", path + "/web", {"spec": {"strategy": {"type": "Recreate"}}},
                  ct="application/strategic-merge-patch+json")
    assert s == 422 and "spec.strategy.rollingUpdate: Forbidden" in body["message"]
    s, body = api("PATCH", path + "/web", {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}}},
                  ct="application/merge-patch+json")
    assert s == 200 and body["spec"]["strategy"] == {"type": "Recreate"}
    s, body = api("PATCH", path + "/web", {"spec": {"strategy": {"$retainKeys": ["type"], "type": "RollingUpdate"}}},
                  ct="application/strategic-merge-patch+json")
    assert s == 200 and body["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}


def test_unknown_strategy_type_is_unsupported(api, ns):
    s, body = api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment(strategy={"type": "Blue"}))
    assert s == 422 and 'spec.strategy.type: Unsupported value: "Blue": supported values: "Recreate", ' \
        '"RollingUpdate"' in body["message"]


def test_routes_are_accepted_by_every_parent(api, ns):
    """The emulated Gateway controller writes status.parents[] (RouteParentStatus) with Accepted=True."""
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
             "spec": {"parentRefs": [{"name": "external", "namespace": "gateway"}], "hostnames": ["a.example.com"],
                      "rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]}}
    s, _body = api("POST", "/apis/gateway.networking.k8s.io/v1/namespaces/%s/httproutes" % ns, route)
    assert s == 201
    got = api("GET", "/apis/gateway.networking.k8s.io/v1/namespaces/%s/httproutes/r" % ns)[1]
    [parent] = got["status"]["parents"]
    assert parent["parentRef"]["name"] == "external" and parent["parentRef"]["namespace"] == "gateway"
    assert {c["type"]: c["status"] for c in parent["conditions"]} == {"Accepted": "True", "ResolvedRefs": "True"}


def _fields(body, manager):
    [entry] = [m for m in body["metadata"]["managedFields"] if m["manager"] == manager]
    return entry


def test_managed_fields_client_side_creator_owns_the_defaults(api, ns):
    """Updater.Update (structured-merge-diff merge/update.go) on create compares against an empty object after
    defaulting: a kubectl/Argo CD client-side creator owns the defaulted rollingUpdate (as a real server shows:
    f:strategy: {f:rollingUpdate: {f:maxSurge, f:maxUnavailable}, f:type})."""
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    s, body = api("POST", path + "?fieldManager=argocd-controller", deployment())
    assert s == 201
    entry = _fields(api("GET", path + "/web")[1], "argocd-controller")
    assert entry["operation"] == "Update" and entry["fieldsType"] == "FieldsV1" and entry["apiVersion"] == "apps/v1"
    strategy = entry["fieldsV1"]["f:spec"]["f:strategy"]
    assert strategy == {"f:type": {}, "f:rollingUpdate": {"f:maxSurge": {}, "f:maxUnavailable": {}}}
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert '.' in containers['k:{"name":"main"}']


def test_managed_fields_defaults_after_an_apply_are_owned_by_nobody(api, ns):
    """Updater.Apply: the applier owns exactly its configuration; the defaulted rollingUpdate is nobody's and
    stays, which is why a later Recreate apply is refused (see the test above)."""
    y = "application/apply-patch+yaml"
    path = "/apis/apps/v1/namespaces/%s/deployments/web" % ns
    s, body = api("PATCH", path + "?fieldManager=argocd-controller", json.dumps(deployment()), ct=y)
    assert s == 201 and body["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
    entry = _fields(body, "argocd-controller")
    assert entry["operation"] == "Apply" and "f:strategy" not in entry["fieldsV1"]["f:spec"]
    assert [m["manager"] for m in body["metadata"]["managedFields"]] == ["argocd-controller"]


def test_apply_conflicts_with_an_update_manager_and_keeps_fields_it_co_owns(api, ns):
    """Conflicts are fields another manager owns, Update managers included, whose value the apply changes; a
    field the applier stops applying stays while another manager still owns it."""
    y = "application/apply-patch+yaml"
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    dep = deployment()
    dep["metadata"]["labels"] = {"team": "a"}
    assert api("POST", path + "?fieldManager=kubectl-client-side-apply", dep)[0] == 201
    s, body = api("PATCH", path + "/web?fieldManager=peekoff.qdrant", json.dumps(deployment(replicas=2)), ct=y)
    assert s == 409 and status_of(body)["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply": .spec.replicas'
    s, body = api("PATCH", path + "/web?fieldManager=peekoff.qdrant&force=true",
                  json.dumps(dict(dep, spec=dict(dep["spec"], replicas=2))), ct=y)
    assert s == 200 and body["spec"]["replicas"] == 2
    creator = _fields(body, "kubectl-client-side-apply")["fieldsV1"]["f:spec"]
    assert "f:replicas" not in creator, "a forced apply takes the field from the Update manager"
    # dropping the label it shares with the client-side creator leaves it in place
    s, body = api("PATCH", path + "/web?fieldManager=peekoff.qdrant&force=true", json.dumps(deployment(replicas=2)),
                  ct=y)
    assert s == 200 and body["metadata"]["labels"] == {"team": "a"}
