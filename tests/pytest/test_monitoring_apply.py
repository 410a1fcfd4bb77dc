"""The monitoring objects on the local cluster (emulator with the real ServiceMonitor CRD installed, so the API
validates the object against its schema): applied when switched on, removed again when switched off."""
import base64

SECRET = "app-qdrant-api-key"


def test_service_monitor_and_dashboard_applied_then_removed(make_local_cluster):
    cluster = make_local_cluster()
    on = cluster.run("-e", "qdrant_service_monitor_enabled=true", "-e", "qdrant_grafana_dashboard_enabled=true",
                     "-e", "qdrant_read_only_api_key_enabled=true")
    assert on.rc == 0, on.tail()
    sm = cluster.get("monitoring.coreos.com/v1", "ServiceMonitor", "qdrant")
    assert sm is not None
    assert sm["spec"]["endpoints"][0]["authorization"]["credentials"] == {
        "name": SECRET, "key": "QDRANT__SERVICE__READ_ONLY_API_KEY"}
    cm = cluster.get("v1", "ConfigMap", "qdrant-grafana-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    for value in cluster.get("v1", "Secret", SECRET)["data"].values():
        assert base64.b64decode(value).decode() not in on.output

    off = cluster.run("-e", "qdrant_read_only_api_key_enabled=true")
    assert off.rc == 0, off.tail()
    assert cluster.get("monitoring.coreos.com/v1", "ServiceMonitor", "qdrant") is None
    assert cluster.get("v1", "ConfigMap", "qdrant-grafana-dashboard") is None
    assert cluster.get("apps/v1", "Deployment", "qdrant") is not None
