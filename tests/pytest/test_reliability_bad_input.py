"""Bad input: every case in ``BAD_INPUTS`` is refused by site.yml's first play (the validation that runs before any
role applies anything) with one message naming the variable, and the emulator records no write at all.

To keep this cheap, all cases run in ONE run of the real site.yml: each case is an inventory host (local
connection) whose host vars carry the bad values, so the cases fail independently and side by side (forks);
values that users type with ``-e`` are given as strings. A few cases also run alone with ``-e`` JSON
(``test_site_refuses_bad_input_before_any_write``; more in test_site_playbook.py).

``BAD_INPUTS`` is counted for the README reliability section (scripts/gen_reliability_docs.py).
"""
import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from test_site_playbook import NS, _applied_writes, _failure_text

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = {"qdrant_secret_backend": "kubernetes"}
LONG = "k" * 40

# (id, vars of the case, the variable the message must name)
BAD_INPUTS = [
    # names
    ("namespace_upper_case", {"qdrant_namespace": "Qdrant"}, "qdrant_namespace"),
    ("namespace_too_long", {"qdrant_namespace": "q" * 64}, "qdrant_namespace"),
    ("namespace_empty", {"qdrant_namespace": ""}, "qdrant_namespace"),
    ("namespace_with_dot", {"qdrant_namespace": "qdrant.prod"}, "qdrant_namespace"),
    ("name_with_underscore", {"qdrant_name": "my_qdrant"}, "qdrant_name"),
    ("pvc_name_with_slash", {"qdrant_storage_pvc_name": "data/qdrant"}, "qdrant_storage_pvc_name"),
    ("secret_name_upper_case", {"qdrant_api_key_secret_name": "App-Key"}, "qdrant_api_key_secret_name"),
    ("secret_data_key_with_space", {"qdrant_api_key_secret_key": "api key"}, "qdrant_api_key_secret_key"),
    ("same_data_key_for_both_keys", {"qdrant_read_only_api_key_secret_key": "QDRANT__SERVICE__API_KEY"},
     "qdrant_read_only_api_key_secret_key"),
    ("secret_store_with_space", {"qdrant_secret_store": "bitwarden backend"}, "qdrant_secret_store"),
    # choices and types
    ("state_unknown", {"qdrant_state": "gone"}, "qdrant_state"),
    ("pss_level_unknown", {"qdrant_namespace_pss_level": "strict"}, "qdrant_namespace_pss_level"),
    ("secret_backend_unknown", {"qdrant_secret_backend": "vault"}, "qdrant_secret_backend"),
    ("secret_store_kind_unknown", {"qdrant_secret_store_kind": "Store"}, "qdrant_secret_store_kind"),
    ("access_mode_many", {"qdrant_storage_access_mode": "ReadWriteMany"}, "qdrant_storage_access_mode"),
    ("pull_policy_unknown", {"qdrant_image_pull_policy": "Sometimes"}, "qdrant_image_pull_policy"),
    ("log_level_unknown", {"qdrant_log_level": "VERBOSE"}, "qdrant_log_level"),
    ("service_type_external_name", {"qdrant_service_type": "ExternalName"}, "qdrant_service_type"),
    ("check_via_port_forward", {"qdrant_check_via": "port-forward"}, "qdrant_check_via"),
    ("boolean_maybe", {"qdrant_jwt_rbac": "maybe"}, "qdrant_jwt_rbac"),
    ("namespace_create_maybe", {"qdrant_namespace_create": "perhaps"}, "qdrant_namespace_create"),
    ("node_selector_a_word", {"qdrant_node_selector": "linux"}, "qdrant_node_selector"),
    ("tolerations_a_word", {"qdrant_tolerations": "all"}, "qdrant_tolerations"),
    ("config_a_string", {"qdrant_config": "service: {}"}, "qdrant_config"),
    # quantities
    ("storage_size_lots", {"qdrant_storage_size": "lots"}, "qdrant_storage_size"),
    ("storage_size_negative", {"qdrant_storage_size": "-1Gi"}, "qdrant_storage_size"),
    ("storage_size_zero", {"qdrant_storage_size": "0Gi"}, "qdrant_storage_size"),
    ("storage_size_decimal_bytes_suffix", {"qdrant_storage_size": "50GB"}, "qdrant_storage_size"),
    ("storage_size_number", {"qdrant_storage_size": 50}, "qdrant_storage_size"),
    ("snapshots_limit_big", {"qdrant_snapshots_size_limit": "big"}, "qdrant_snapshots_size_limit"),
    ("tmp_limit_negative", {"qdrant_tmp_size_limit": "-2Gi"}, "qdrant_tmp_size_limit"),
    ("resources_memory_lots", {"qdrant_resources": {"limits": {"memory": "lots"}}}, "qdrant_resources"),
    ("resources_unknown_key", {"qdrant_resources": {"limit": {"memory": "4Gi"}}}, "qdrant_resources"),
    ("storage_class_with_space", {"qdrant_storage_class": "fast ssd"}, "qdrant_storage_class"),
    # numbers and timeouts
    ("http_port_too_big", {"qdrant_http_port": 70000}, "qdrant_http_port"),
    ("http_port_a_word", {"qdrant_http_port": "http"}, "qdrant_http_port"),
    ("grpc_port_same_as_http", {"qdrant_grpc_port": "6333"}, "qdrant_grpc_port"),
    ("grpc_port_cluster_port", {"qdrant_grpc_port": 6335}, "qdrant_grpc_port"),
    ("wait_timeout_negative", {"qdrant_wait_timeout": "-5"}, "qdrant_wait_timeout"),
    ("wait_timeout_huge", {"qdrant_wait_timeout": "999999999"}, "qdrant_wait_timeout"),
    ("wait_timeout_lots", {"qdrant_wait_timeout": "lots"}, "qdrant_wait_timeout"),
    ("probe_threshold_zero", {"qdrant_startup_probe_failure_threshold": 0}, "qdrant_startup_probe_failure_threshold"),
    ("check_timeout_zero", {"qdrant_check_timeout": "0"}, "qdrant_check_timeout"),
    ("check_timeout_huge", {"qdrant_check_timeout": "100000"}, "qdrant_check_timeout"),
    ("check_wait_timeout_negative", {"qdrant_check_wait_timeout": "-1"}, "qdrant_check_wait_timeout"),
    ("key_length_short", dict(K8S, qdrant_api_key_length=8), "qdrant_api_key_length"),
    ("key_length_lots", dict(K8S, qdrant_api_key_length="lots"), "qdrant_api_key_length"),
    # versions
    ("version_latest", {"qdrant_version": "latest"}, "qdrant_version"),
    ("image_tag_latest", {"qdrant_image_tag": "latest"}, "qdrant_image_tag"),
    # keys
    ("api_key_short", dict(K8S, qdrant_api_key="short"), "qdrant_api_key"),
    ("read_only_key_equals_full_key", dict(K8S, qdrant_api_key=LONG, qdrant_read_only_api_key=LONG),
     "qdrant_read_only_api_key"),
    ("refresh_interval_hourly", {"qdrant_secret_refresh_interval": "hourly"}, "qdrant_secret_refresh_interval"),
    ("remote_key_empty", {"qdrant_secret_remote_key": ""}, "qdrant_secret_remote_key"),
    ("config_sets_the_api_key", {"qdrant_config": {"service": {"api_key": LONG}}}, "qdrant_config"),
    ("config_sets_the_http_port", {"qdrant_config": {"service": {"http_port": 7000}}}, "qdrant_config"),
    ("extra_env_sets_the_api_key", {"qdrant_extra_env": [{"name": "QDRANT__SERVICE__API_KEY", "value": LONG}]},
     "qdrant_extra_env"),
    ("extra_env_sets_the_http_port", {"qdrant_extra_env": [{"name": "QDRANT__SERVICE__HTTP_PORT", "value": "7000"}]},
     "qdrant_extra_env"),
    ("extra_env_without_name", {"qdrant_extra_env": [{"value": "x"}]}, "qdrant_extra_env"),
    # network
    ("ingress_namespace_with_space", {"qdrant_network_policy_ingress_namespaces": ["gateway ns"]},
     "qdrant_network_policy_ingress_namespaces"),
    ("dns_namespace_with_underscore", {"qdrant_network_policy_dns_namespace": "kube_system"},
     "qdrant_network_policy_dns_namespace"),
    ("hostnames_empty", {"qdrant_hostnames": []}, "qdrant_hostnames"),
    ("hostname_with_space", {"qdrant_hostnames": ["qdrant peekoff.com"]}, "qdrant_hostnames"),
    ("hostname_upper_case", {"qdrant_hostnames": ["Qdrant.Example.com"]}, "qdrant_hostnames"),
    ("hostname_with_port", {"qdrant_hostnames": ["qdrant.example.com:443"]}, "qdrant_hostnames"),
    ("hostname_with_scheme", {"qdrant_hostnames": ["https://qdrant.example.com"]}, "qdrant_hostnames"),
    ("parent_refs_empty", {"qdrant_gateway_parent_refs": []}, "qdrant_gateway_parent_refs"),
    ("parent_refs_empty_entry", {"qdrant_gateway_parent_refs": [{}]}, "qdrant_gateway_parent_refs"),
    ("parent_refs_null_entry", {"qdrant_gateway_parent_refs": [None]}, "qdrant_gateway_parent_refs"),
    ("parent_ref_without_name", {"qdrant_gateway_parent_refs": [{"namespace": "gateway"}]},
     "qdrant_gateway_parent_refs"),
    ("parent_ref_unknown_key", {"qdrant_gateway_parent_refs": [{"name": "external", "gateway": "x"}]},
     "qdrant_gateway_parent_refs"),
    ("parent_ref_port_a_word", {"qdrant_gateway_parent_refs": [{"name": "external", "port": "https"}]},
     "qdrant_gateway_parent_refs"),
    ("parent_ref_bad_namespace", {"qdrant_gateway_parent_refs": [{"name": "external", "namespace": "Gateway"}]},
     "qdrant_gateway_parent_refs"),
    ("grpc_hostname_same_as_http", {"qdrant_grpc_route_enabled": True, "qdrant_grpc_hostnames": ["qdrant.peekoff.com"]},
     "qdrant_grpc_hostnames"),
    ("check_url_without_scheme", {"qdrant_check_url": "qdrant.example.com"}, "qdrant_check_url"),
    ("check_ca_path_missing", {"qdrant_check_ca_path": "/nonexistent/ca.pem"}, "qdrant_check_ca_path"),
    # render dir
    ("render_dir_relative", {"qdrant_render_dir": "rendered"}, "qdrant_render_dir"),
    ("render_dir_a_file", {"qdrant_render_dir": "@FILE@"}, "qdrant_render_dir"),
]


def _inventory(tmp_path, cases):
    """One inventory host per case (local connection), its host vars the case's bad values."""
    hosts = {}
    for case_id, case_vars, _variable in cases:
        hosts[case_id] = dict(case_vars, ansible_connection="local", ansible_python_interpreter=sys.executable)
    path = tmp_path / "bad_inputs.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"bad_inputs": {"hosts": hosts}}}}))
    return path


def _last_results(tree_dir):
    """{host: its last task result} as the tree callback writes them: for a host that failed, the failure.
    (ansible.builtin.tree is deprecated for removal in ansible-core 2.23; ansible-core ships no json callback.)"""
    return {p.name: json.loads(p.read_text()) for p in pathlib.Path(tree_dir).iterdir()}


def test_case_table_is_big_enough_and_unique():
    ids = [c[0] for c in BAD_INPUTS]
    assert len(ids) == len(set(ids)) and len(ids) >= 40


def test_every_bad_input_is_refused_before_any_write_naming_the_variable(local_cluster, tmp_path):
    """All cases in one run of the real site.yml: each case is a host, so they fail independently (forks run them
    side by side); a case that got through validation would go on to deploy and show up as a write."""
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    cases = [(i, {k: (str(a_file) if v == "@FILE@" else v) for k, v in vs.items()}, var) for i, vs, var in BAD_INPUTS]
    inventory = _inventory(tmp_path, cases)
    local_cluster.emu.reset_requests()
    # tests/pytest/conftest.py's helpers, found through the fixture (a plain "import conftest" may get tests/unit's)
    conf = type(local_cluster).run.__globals__  # the defining module's namespace
    tree = tmp_path / "tree"
    env = dict(local_cluster.env(), ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree", ANSIBLE_CALLBACK_TREE_DIR=str(tree))
    proc = subprocess.run([conf["ansible_playbook_exe"](), "site.yml", "-i", str(inventory), "-e", "qdrant_hosts=bad_inputs",
                           "-f", "8"], cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=1500,
                          stdin=subprocess.DEVNULL, check=False)
    assert tree.is_dir(), proc.stdout[-3000:] + proc.stderr[-3000:]
    results = _last_results(tree)
    recaps = conf["parse_recap"](proc.stdout)
    problems = []
    for case_id, _vars, variable in cases:
        result = results.get(case_id) or {}
        if not recaps.get(case_id, {}).get("failed"):
            problems.append("%s: accepted" % case_id)
            continue
        # A loop's failure: its failed items' messages (the tree callback drops "failed"; the passed items say so).
        failed_items = [r.get("msg") or "" for r in result.get("results") or []
                        if r.get("evaluated_to") is not True and "passed" not in (r.get("msg") or "")]
        text = " ".join([result.get("msg") or ""] + failed_items)
        if not re.search(r"(?<![A-Za-z_])%s(?![A-Za-z_])" % re.escape(variable), text):
            problems.append("%s: message does not name %s: %s" % (case_id, variable, text[:300]))
        if "Traceback" in text or "is undefined" in text or "Error while evaluating" in text:
            problems.append("%s: not a validation message: %s" % (case_id, text[:300]))
    assert not problems, "\n".join(problems)
    assert _applied_writes(local_cluster) == [], "validation wrote to the cluster: %s" % _applied_writes(local_cluster)
    assert local_cluster.objects_in(NS) == []


@pytest.mark.parametrize("case_id", ["storage_size_negative", "extra_env_sets_the_http_port",
                                     "resources_memory_lots"])
def test_site_refuses_bad_input_before_any_write(make_local_cluster, case_id):
    """The real site.yml, given the case with -e (JSON), refuses before the first write."""
    case_vars, variable = next((v, var) for i, v, var in BAD_INPUTS if i == case_id)
    cluster = make_local_cluster()
    run = cluster.run("-e", json.dumps(case_vars))
    assert run.rc != 0, run.tail()
    assert variable in _failure_text(run), run.tail()
    assert _applied_writes(cluster) == [] and cluster.objects_in(NS) == [], _applied_writes(cluster)
