"""Least privilege: every request that a converge (with verify), ``--check --diff``, ``--tags qdrant_verify`` and
``qdrant_state=absent`` (with the PVC) send is allowed by the Role and ClusterRole shipped in
docs/rbac/qdrant-deployer.yaml.

The emulator records each request (method, path, query); ``request_attributes`` turns it into what the API server's
RBAC authorizer sees, following k8s.io/apiserver/pkg/endpoints/request/requestinfo.go (RequestInfoFactory.
NewRequestInfo: verb from the method, list/watch for collections, deletecollection, subresources such as
services/proxy). Discovery paths are non-resource URLs that the default ClusterRole system:discovery opens to
every authenticated user. A PATCH also needs ``create`` because server-side apply may create the object
(k8s.io/apiserver/pkg/endpoints/handlers/patch.go checks create authorization when the patch creates).
"""
import pathlib
import urllib.parse

import yaml

from test_site_playbook import NS

ROOT = pathlib.Path(__file__).resolve().parents[2]
RBAC = ROOT / "docs" / "rbac" / "qdrant-deployer.yaml"
RBAC_RUNS = ["converge", "check_diff", "verify", "absent_with_pvc"]
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def request_attributes(method, path, query):
    """(namespace, apiGroup, resource, name, verb) or None for a non-resource (discovery) path."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"]:
        group, rest = (parts[1] if len(parts) > 1 else ""), parts[3:]
    else:
        return None  # /version, /openapi/..., /healthz
    if not rest:
        return None  # /api, /api/v1, /apis, /apis/<group>/<version>: discovery
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource += "/" + rest[2]
    q = urllib.parse.parse_qs(query or "")
    if method == "GET":
        verb = "get" if name else ("watch" if q.get("watch", [""])[0] in ("1", "true") else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS[method]
    return namespace, group, resource, name, verb


def _rules():
    doc = yaml.safe_load(RBAC.read_text())
    assert doc["kind"] == "List"  # one YAML document (ansible-test's yamllint); kubectl apply -f takes a List
    docs = doc["items"]
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    role = kinds[("Role", "qdrant-deployer")]
    cluster_role = kinds[("ClusterRole", "qdrant-deployer")]
    assert role["metadata"]["namespace"] == NS
    bound = {(d["roleRef"]["kind"], d["roleRef"]["name"]) for d in docs if d["kind"].endswith("Binding")}
    assert bound == {("Role", "qdrant-deployer"), ("ClusterRole", "qdrant-deployer")}
    for d in (role, cluster_role):
        for rule in d["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], "wildcard in %s" % rule
    return role["rules"], cluster_role["rules"]


def _allows(rules, group, resource, name, verb):
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               and (not r.get("resourceNames") or name in r["resourceNames"]) for r in rules)


def denied(requests):
    ns_rules, cluster_rules = _rules()
    refused = []
    for method, path, query in requests:
        attrs = request_attributes(method, path, query)
        if attrs is None:
            continue
        namespace, group, resource, name, verb = attrs
        rules = cluster_rules + (ns_rules if namespace == NS else [])
        for needed in [verb] + (["create"] if verb == "patch" else []):
            if not _allows(rules, group, resource, name, needed):
                refused.append("%s %s?%s -> %s %s/%s %s in %s" % (
                    method, path, query or "", needed, group, resource, name, namespace))
    return sorted(set(refused))


def test_request_attributes_follow_the_apiserver():
    assert request_attributes("GET", "/api/v1/namespaces/qdrant", "") == (None, "", "namespaces", "qdrant", "get")
    assert request_attributes("PATCH", "/apis/apps/v1/namespaces/qdrant/deployments/qdrant", "fieldManager=x") == (
        "qdrant", "apps", "deployments", "qdrant", "patch")
    assert request_attributes("GET", "/api/v1/namespaces/qdrant/pods", "watch=true") == (
        "qdrant", "", "pods", None, "watch")
    assert request_attributes("DELETE", "/api/v1/namespaces/qdrant/services/qdrant:6333/proxy/collections/x", "") == (
        "qdrant", "", "services/proxy", "qdrant:6333", "delete")
    assert request_attributes("GET", "/apis/gateway.networking.k8s.io/v1", "") is None
    assert request_attributes("GET", "/apis", "") is None and request_attributes("GET", "/api", "") is None
    # the checker can fail: a Secret read in another namespace, a cluster-wide list
    assert denied([("GET", "/api/v1/namespaces/kube-system/secrets/x", "")])
    assert denied([("GET", "/api/v1/namespaces", "")])


def test_every_request_of_every_mode_is_allowed_by_the_shipped_rbac(make_local_cluster):
    cluster = make_local_cluster()
    refused = {}
    for mode, args, kwargs in [
            ("converge", ["-e", "qdrant_read_only_api_key_enabled=true"], {}),
            ("check_diff", ["-e", "qdrant_storage_size=60Gi"], {"check": True, "diff": True}),
            ("verify", ["--tags", "qdrant_verify"], {}),
            ("absent_with_pvc", ["-e", "qdrant_state=absent", "-e", "qdrant_storage_delete=true"], {})]:
        cluster.emu.reset_requests()
        run = cluster.run(*args, **kwargs)
        assert run.rc == 0, run.tail()
        assert cluster.emu.requests, mode
        refused[mode] = denied(list(cluster.emu.requests))
    assert sorted(refused) == sorted(RBAC_RUNS)
    assert all(not v for v in refused.values()), "requests outside docs/rbac/qdrant-deployer.yaml: %s" % {
        k: v for k, v in refused.items() if v}
