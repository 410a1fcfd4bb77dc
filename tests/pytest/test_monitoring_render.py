"""Monitoring objects of the qdrant role in render mode (issue 12 part 5): the ServiceMonitor validates against the
real Prometheus Operator CRD (v0.93.0, ../shared/crds), scrapes /metrics on the http port with a reference to the
key Secret (the read-only key when enabled) and never the key itself; the ingress NetworkPolicy admits the
monitoring namespace to the HTTP port only; the Grafana dashboard ConfigMap carries the sidecar label and real
Qdrant metric names; both leave the render dir when switched off."""
import base64
import json

import jsonschema
import kubernetes_validate
import yaml

from test_roles_render import K8S_VERSION, crd_dir, load_dir, run_roles

SM_FILE = "monitoring.coreos.com_servicemonitors.yaml"
# Metric names Qdrant v1.19.0 exports (src/common/metrics.rs: app_info, collections_total, collection_points,
# cluster_peers_total, memory_resident_bytes; OperationDurationMetricsBuilder::build: <rest|grpc>_responses_*).
QDRANT_METRICS = {"app_info", "collections_total", "collection_points", "cluster_peers_total",
                  "memory_resident_bytes", "rest_responses_total", "rest_responses_avg_duration_seconds",
                  "grpc_responses_total"}


def servicemonitor_schema():
    crd = yaml.safe_load((crd_dir() / SM_FILE).read_text())
    (v1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    assert v1["served"]
    return v1["schema"]["openAPIV3Schema"]


def render(tmp_path, **extra):
    """Render the secrets and qdrant roles; the plain Secret goes outside the render dir (qdrant_render_secret_path),
    and is returned among the objects under its usual file name so that the tests can look for its values."""
    secret_path = tmp_path / "secret.yaml"
    proc, out = run_roles(tmp_path, {"qdrant_secret_backend": "kubernetes",
                                     "qdrant_render_secret_path": str(secret_path), **extra},
                          roles=["secrets", "qdrant"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    objs = load_dir(out)
    assert "secret-app-qdrant-api-key.yaml" not in objs
    objs["secret-app-qdrant-api-key.yaml"] = yaml.safe_load(secret_path.read_text())
    return proc, out, objs


def test_service_monitor_and_dashboard_validate_and_reference_the_secret(tmp_path):
    proc, out, objs = render(tmp_path, qdrant_service_monitor_enabled=True, qdrant_grafana_dashboard_enabled=True,
                             qdrant_read_only_api_key_enabled=True,
                             qdrant_service_monitor_labels={"release": "kube-prometheus-stack"})
    sm = objs["servicemonitor-qdrant.yaml"]
    jsonschema.validate(sm, servicemonitor_schema())
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (ep,) = sm["spec"]["endpoints"]
    assert (ep["port"], ep["path"], ep["scheme"]) == ("http", "/metrics", "http")
    assert ep["authorization"] == {"type": "Bearer", "credentials": {
        "name": "app-qdrant-api-key", "key": "QDRANT__SERVICE__READ_ONLY_API_KEY"}}
    svc = objs["service-qdrant.yaml"]
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["qdrant"]}
    assert all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items())
    assert "http" in [p["name"] for p in svc["spec"]["ports"]]
    secret = objs["secret-app-qdrant-api-key.yaml"]
    text = (out / "servicemonitor-qdrant.yaml").read_text() + (out / "configmap-qdrant-grafana-dashboard.yaml").read_text()
    for value in secret["data"].values():
        assert value not in text and base64.b64decode(value).decode() not in text
        assert base64.b64decode(value).decode() not in proc.stdout + proc.stderr

    cm = objs["configmap-qdrant-grafana-dashboard.yaml"]
    kubernetes_validate.validate(cm, K8S_VERSION, strict=True)
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dash = json.loads(cm["data"]["qdrant.json"])
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    assert {m for m in QDRANT_METRICS if m + "{" in exprs or m + "[" in exprs} == QDRANT_METRICS
    assert 'namespace="qdrant", service="qdrant"' in exprs and "__" not in dash["uid"] + dash["title"]
    assert len(dash["uid"]) <= 40

    ing = objs["networkpolicy-qdrant-ingress.yaml"]
    kubernetes_validate.validate(ing, K8S_VERSION, strict=True)
    scrape = ing["spec"]["ingress"][1]
    assert scrape["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["monitoring"]
    assert scrape["ports"] == [{"protocol": "TCP", "port": 6333}]


def test_full_key_without_read_only_key_and_switched_off_objects_leave(tmp_path):
    dummy, out, objs = render(tmp_path, qdrant_service_monitor_enabled="true", qdrant_grafana_dashboard_enabled="true")
    creds = objs["servicemonitor-qdrant.yaml"]["spec"]["endpoints"][0]["authorization"]["credentials"]
    assert creds == {"name": "app-qdrant-api-key", "key": "QDRANT__SERVICE__API_KEY"}
    dummy, out, objs = render(tmp_path)
    assert "servicemonitor-qdrant.yaml" not in objs and "configmap-qdrant-grafana-dashboard.yaml" not in objs
    kustomization = (out / "kustomization.yaml").read_text()
    assert "servicemonitor" not in kustomization and "grafana" not in kustomization
    assert len(objs["networkpolicy-qdrant-ingress.yaml"]["spec"]["ingress"]) == 1  # no scrape rule when off
