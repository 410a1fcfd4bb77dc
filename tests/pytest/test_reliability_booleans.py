"""Every boolean variable works from the command line both ways: ``-e name=true`` and ``-e name=false`` arrive as
strings, and must mean the same as YAML true/false (issue: ``-e qdrant_storage_delete=true``, the form the README
shows, failed with a string conditional; ``-e qdrant_jwt_rbac=false`` would have been truthy in a template).

``BOOLEAN_CASES`` maps each boolean to the run where it is ``true``, the run where it is ``false`` and what tells them
apart in the cluster or the output; ``test_every_boolean_variable_is_in_the_table`` keeps it complete against the
roles' argument_specs. Seven playbook runs cover all of them.
"""
import pathlib
import re

import yaml

from test_site_playbook import NS, SECRET, RO_KEY_FIELD, _failure_text

ROOT = pathlib.Path(__file__).resolve().parents[2]

# variable -> (run where it is "true", run where it is "false"); the checks are in the tests below.
BOOLEAN_CASES = {
    "qdrant_namespace_create": ("all_true", "all_false"),
    "qdrant_wait": ("all_true", "all_false"),
    "qdrant_read_only_api_key_enabled": ("all_true", "all_false"),
    "qdrant_jwt_rbac": ("all_true", "all_false"),
    "qdrant_telemetry_disabled": ("all_true", "all_false"),
    "qdrant_network_policy_egress_dns": ("all_true", "all_false"),
    "qdrant_grpc_route_enabled": ("all_true", "all_false"),
    "qdrant_check_validate_certs": ("all_true", "all_false"),
    "qdrant_network_policy_enabled": ("all_true", "policies_and_check_off"),
    "qdrant_check_enabled": ("all_true", "policies_and_check_off"),
    "qdrant_image_allow_minor_skip": ("minor_skip_allowed", "minor_skip_refused"),
    "qdrant_storage_delete": ("absent_delete", "absent_keep"),
    # "false": test_reliability_faults.py::test_gateway_api_not_installed_is_refused_before_any_write
    "qdrant_gateway_routes_enabled": ("all_true", "in_test_reliability_faults"),
    "qdrant_reloader_enabled": ("all_true", "all_false"),
    "qdrant_service_monitor_enabled": ("all_true", "all_false"),
    "qdrant_grafana_dashboard_enabled": ("all_true", "all_false"),
    # both ways from -e: test_takeover.py::test_homelab_takeover_refused_previewed_adopted_then_idempotent ("false" refuses, "true" adopts)
    "qdrant_adopt": ("in_test_takeover", "in_test_takeover"),
}
PLAYBOOK_BOOLEANS = {"qdrant_check_enabled", "qdrant_gateway_routes_enabled"}  # site.yml's own (README)


def _e(**values):
    args = []
    for name, value in values.items():
        args += ["-e", "%s=%s" % (name, value)]
    return args


def _task_result(output, task):
    """The first result line after the task's header ("ok", "changed", "skipping", "fatal") or None."""
    m = re.search(r"TASK \[[^\]]*%s\][^\n]*\n+(\w+)" % re.escape(task), output)
    return m.group(1) if m else None


def _env(cluster):
    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    return {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0].get("env") or []}


def _egress_ports(cluster):
    pol = cluster.get("networking.k8s.io/v1", "NetworkPolicy", "qdrant-egress")
    return [p.get("port") for rule in pol["spec"].get("egress") or [] for p in rule.get("ports") or []]


def _reloader_annotation(cluster):
    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    return (dep["metadata"].get("annotations") or {}).get("secret.reloader.stakater.com/reload")


def _namespace_writes(cluster):
    return [(m, p) for m, p, q in list(cluster.emu.requests)
            if m in ("PATCH", "POST", "PUT") and p == "/api/v1/namespaces/" + NS and "dryRun" not in (q or "")]


def test_every_boolean_variable_is_in_the_table():
    found = set(PLAYBOOK_BOOLEANS)
    for spec in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            found |= {name for name, opt in (entry.get("options") or {}).items()
                      if opt.get("type") == "bool" and not name.startswith("_")}
    assert found == set(BOOLEAN_CASES), "booleans not tested from -e: %s; stale: %s" % (
        sorted(found - set(BOOLEAN_CASES)), sorted(set(BOOLEAN_CASES) - found))


def test_booleans_from_the_command_line_apply_both_ways(make_local_cluster):
    cluster = make_local_cluster()
    on = {name: "true" for name, (t, _f) in BOOLEAN_CASES.items() if t == "all_true"}

    # ---- all "true"
    run = cluster.run(*_e(**on))
    assert run.rc == 0, run.tail()
    assert _namespace_writes(cluster), "qdrant_namespace_create=true did not apply the Namespace"
    # qdrant_wait=true: the wait phase runs. Its module call is skipped when the live read already shows the
    # Deployment rolled out (roles/qdrant/tasks/wait.yml; tests/pytest/test_read_wait.py shows it waits otherwise).
    assert _task_result(run.output, "Qdrant | Wait for Qdrant to be available") == "included", run.tail()
    assert _task_result(run.output, "Qdrant | Wait for the Deployment to be available") in ("ok", "skipping"), run.tail()
    assert RO_KEY_FIELD in cluster.get("v1", "Secret", SECRET)["data"]
    env = _env(cluster)
    assert RO_KEY_FIELD in env, "qdrant_read_only_api_key_enabled=true: no read-only key in the pod"
    assert env.get("QDRANT__SERVICE__JWT_RBAC", {}).get("value") == "true"
    assert env["QDRANT__TELEMETRY_DISABLED"]["value"] == "true"
    assert cluster.get("networking.k8s.io/v1", "NetworkPolicy", "qdrant-ingress") is not None
    assert 53 in _egress_ports(cluster), "qdrant_network_policy_egress_dns=true: no DNS egress"
    assert cluster.get("gateway.networking.k8s.io/v1", "GRPCRoute", "qdrant-grpc") is not None
    assert _reloader_annotation(cluster) == SECRET, "qdrant_reloader_enabled=true: no Reloader annotation"
    assert cluster.get("monitoring.coreos.com/v1", "ServiceMonitor", "qdrant") is not None
    assert cluster.get("v1", "ConfigMap", "qdrant-grafana-dashboard") is not None
    # qdrant_check_enabled / qdrant_check_validate_certs: the check ran, including the read-only and JWT checks
    assert "is ready and its authentication holds" in run.output, run.tail()
    assert "read_only_key_refused_writes" in run.output and "jwt_read_token_reads" in run.output

    # ---- all "false" (NetworkPolicies and the check stay on, so that DNS egress and validate_certs show)
    cluster.emu.reset_requests()
    off = {name: "false" for name, (_t, f) in BOOLEAN_CASES.items() if f == "all_false"}
    run = cluster.run(*_e(**off))
    assert run.rc == 0, run.tail()
    assert _namespace_writes(cluster) == [], "qdrant_namespace_create=false still applied the Namespace"
    assert _task_result(run.output, "Qdrant | Wait for Qdrant to be available") == "skipping", (
        "qdrant_wait=false still waited:\n" + run.tail())
    assert _task_result(run.output, "Qdrant | Wait for the Deployment to be available") is None, (
        "qdrant_wait=false still waited:\n" + run.tail())
    assert RO_KEY_FIELD not in cluster.get("v1", "Secret", SECRET)["data"], "read-only key kept when false"
    env = _env(cluster)
    assert RO_KEY_FIELD not in env and "QDRANT__SERVICE__JWT_RBAC" not in env, sorted(env)
    assert env["QDRANT__TELEMETRY_DISABLED"]["value"] == "false"
    assert 53 not in _egress_ports(cluster), "qdrant_network_policy_egress_dns=false still allows DNS"
    assert cluster.get("gateway.networking.k8s.io/v1", "GRPCRoute", "qdrant-grpc") is None
    assert _reloader_annotation(cluster) is None, "qdrant_reloader_enabled=false: Reloader annotation kept"
    assert cluster.get("monitoring.coreos.com/v1", "ServiceMonitor", "qdrant") is None
    assert cluster.get("v1", "ConfigMap", "qdrant-grafana-dashboard") is None
    assert "is ready and its authentication holds" in run.output, run.tail()
    assert "read_only_key_refused_writes" not in run.output and "jwt_read_token_reads" not in run.output

    # ---- NetworkPolicies and the check off
    run = cluster.run(*_e(qdrant_network_policy_enabled="false", qdrant_check_enabled="false"))
    assert run.rc == 0, run.tail()
    for name in ("qdrant-ingress", "qdrant-egress"):
        assert cluster.get("networking.k8s.io/v1", "NetworkPolicy", name) is None, name
    assert "is ready and its authentication holds" not in run.output

    # ---- a skipped minor version: refused with "false", let through (preflight only) with "true"
    run = cluster.run("--tags", "qdrant_preflight", *_e(qdrant_version="1.21.0", qdrant_image_allow_minor_skip="false"))
    assert run.rc != 0 and "qdrant_image_allow_minor_skip" in _failure_text(run), run.tail()
    run = cluster.run("--tags", "qdrant_preflight", *_e(qdrant_version="1.21.0", qdrant_image_allow_minor_skip="true"))
    assert run.rc == 0, run.tail()

    # ---- removal: the PVC stays with "false" and goes with "true"
    uid = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["metadata"]["uid"]
    run = cluster.run(*_e(qdrant_state="absent", qdrant_storage_delete="false"))
    assert run.rc == 0, run.tail()
    assert cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")["metadata"]["uid"] == uid
    run = cluster.run(*_e(qdrant_state="absent", qdrant_storage_delete="true"))
    assert run.rc == 0, run.tail()
    assert cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage") is None
