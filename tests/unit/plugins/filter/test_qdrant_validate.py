"""The peekoff.qdrant.qdrant_validation_errors filter: each role's variable checks (issue 11, point 3).

Every role accepts its own defaults (read from roles/<role>/defaults/main.yml) and values as typed with -e
(strings such as '5' and 'true'); each bad value is refused with the message the role's assert showed before.
"""
import json
import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_validate import FilterModule, qdrant_validation_errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
LONG = "k" * 40


def defaults(role):
    """The role's defaults as the play sees them (the two templated defaults filled in as Jinja would)."""
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as f:
        values = yaml.safe_load(f)
    for name, value in list(values.items()):
        if isinstance(value, str) and "{{" in value:
            values[name] = (value.replace("{{ qdrant_name }}", values["qdrant_name"])
                            .replace("{{ qdrant_version }}", str(values.get("qdrant_version"))))
    assert not [v for v in values.values() if isinstance(v, str) and "{{" in v]
    return values


def errors(role, **changes):
    values = defaults(role)
    values.update(changes)
    return qdrant_validation_errors(values, role)


def one_error(role, **changes):
    found = errors(role, **changes)
    assert len(found) == 1, found
    return found[0]


ROLES = ["secrets", "storage", "qdrant", "gateway_routes", "verify"]


def test_the_filter_is_registered():
    assert FilterModule().filters()["qdrant_validation_errors"] is qdrant_validation_errors


@pytest.mark.parametrize("role", ROLES)
def test_each_role_accepts_its_defaults(role):
    assert errors(role) == []


def test_kubernetes_backend_defaults_pass():
    assert errors("secrets", qdrant_secret_backend="kubernetes") == []


def test_unknown_role_and_missing_variable_are_errors():
    with pytest.raises(AnsibleFilterError, match="unknown role"):
        qdrant_validation_errors({}, "nope")
    with pytest.raises(AnsibleFilterError, match="lacks the variable 'qdrant_namespace'"):
        qdrant_validation_errors({}, "storage")
    with pytest.raises(AnsibleFilterError, match="must be a dict"):
        qdrant_validation_errors("x", "storage")


# ---- names -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["secrets", "storage"])
@pytest.mark.parametrize("bad", ["Qdrant", "q" * 64, "", "qdrant.prod", 5, None])
def test_namespace_refused_with_its_message(role, bad):
    import json
    assert one_error(role, qdrant_namespace=bad) == (
        "qdrant_namespace=%s is not a valid Namespace name: use lower-case letters, digits and '-', at most 63 "
        "characters (for example qdrant)." % json.dumps(bad))


@pytest.mark.parametrize("role", ROLES[:4])
def test_a_good_non_default_namespace_passes(role):
    assert errors(role, qdrant_namespace="vectors-2") == []
    assert errors(role, qdrant_namespace="q" * 63) == []


def test_qdrant_names():
    assert one_error("qdrant", qdrant_name="my_qdrant") == (
        "qdrant_name=\"my_qdrant\" is not a valid name: use lower-case letters, digits and '-', at most 63 characters.")
    assert one_error("storage", qdrant_storage_pvc_name="data/qdrant") == (
        "qdrant_storage_pvc_name=\"data/qdrant\" is not a valid object name: use lower-case letters, digits and '-', "
        "at most 63 characters.")
    assert one_error("gateway_routes", qdrant_name="Q") == (
        "qdrant_name=\"Q\" is not a valid name: use lower-case letters, digits and '-', at most 63 characters.")
    assert one_error("qdrant", qdrant_api_key_secret_name="App-Key") == (
        "qdrant_api_key_secret_name=\"App-Key\" is not a valid Secret name: use lower-case letters, digits, '-' and "
        "'.' (default app-qdrant-api-key).")
    assert errors("qdrant", qdrant_api_key_secret_name="app.qdrant-key") == []


# ---- secrets -----------------------------------------------------------------------------------------------------

def test_secret_names_and_data_keys():
    assert one_error("secrets", qdrant_secret_store="bitwarden backend") == (
        "qdrant_secret_store=\"bitwarden backend\" is not a valid Kubernetes object name: use lower-case letters, "
        "digits, '-' and '.'.")
    bad_key = errors("secrets", qdrant_api_key_secret_key="api key")
    assert bad_key == [
        "qdrant_api_key_secret_key=\"api key\" is not usable: a Secret data key has only letters, digits, '-', '_' and "
        "'.', and the full and read-only keys need different names (defaults QDRANT__SERVICE__API_KEY and "
        "QDRANT__SERVICE__READ_ONLY_API_KEY)."]
    # The same name for both keys: both are named.
    same = errors("secrets", qdrant_read_only_api_key_secret_key="QDRANT__SERVICE__API_KEY")
    assert [m.split("=")[0] for m in same] == ["qdrant_api_key_secret_key", "qdrant_read_only_api_key_secret_key"]
    assert errors("secrets", qdrant_api_key_secret_key="api-key.v2") == []


def test_external_secrets_settings():
    assert one_error("secrets", qdrant_secret_refresh_interval="hourly") == (
        "qdrant_secret_refresh_interval=\"hourly\" is not a duration: use for example 1h, 15m or 1h30m "
        "(0 disables refreshing).")
    for good in ("0", "15m", "1h30m", "1.5h"):
        assert errors("secrets", qdrant_secret_refresh_interval=good) == []
    assert "must name the entries in the secret store" in one_error("secrets", qdrant_secret_remote_key="")
    # Only checked for the external-secrets backend.
    assert errors("secrets", qdrant_secret_backend="kubernetes", qdrant_secret_refresh_interval="hourly",
                  qdrant_secret_remote_key="") == []


WEAK = ("Weak or reused key: qdrant_api_key_length must be at least 32, qdrant_api_key (when set) at least 16 "
        "characters, and qdrant_read_only_api_key must differ from qdrant_api_key (values not shown).")


@pytest.mark.parametrize("changes", [
    {"qdrant_api_key_length": 8}, {"qdrant_api_key_length": "31"}, {"qdrant_api_key_length": "lots"},
    {"qdrant_api_key_length": True}, {"qdrant_api_key": "short"},
    {"qdrant_api_key": LONG, "qdrant_read_only_api_key": LONG}])
def test_weak_or_reused_keys_refused_without_the_values(changes):
    message = one_error("secrets", qdrant_secret_backend="kubernetes", **changes)
    assert message == WEAK
    assert "short" not in message and LONG not in message


def test_given_keys_and_lengths_from_the_command_line_pass():
    assert errors("secrets", qdrant_secret_backend="kubernetes", qdrant_api_key_length="48",
                  qdrant_api_key=LONG, qdrant_read_only_api_key="r" * 40) == []


def test_the_key_is_never_rendered_into_the_render_dir(tmp_path):
    render = str(tmp_path / "render")
    base = dict(qdrant_secret_backend="kubernetes", qdrant_render_dir=render)
    message = one_error("secrets", qdrant_render_secret_path="", **base)
    assert message.startswith("qdrant_secret_backend=kubernetes with qdrant_render_dir=%s would put the API key" % (
        '"%s"' % render))
    assert message.endswith("(got qdrant_render_secret_path=\"\").")
    assert one_error("secrets", qdrant_render_secret_path=render + "/secret.yaml", **base) == message.replace(
        'qdrant_render_secret_path=""', 'qdrant_render_secret_path="%s/secret.yaml"' % render)
    assert len(errors("secrets", qdrant_render_secret_path="secret.yaml", **base)) == 1
    assert errors("secrets", qdrant_render_secret_path=str(tmp_path / "secret.yaml"), **base) == []
    # external-secrets renders no key; absent renders nothing.
    assert errors("secrets", qdrant_render_dir=render, qdrant_render_secret_path="") == []
    assert errors("secrets", qdrant_state="absent", qdrant_render_secret_path="", **base) == []


# ---- storage -----------------------------------------------------------------------------------------------------

SIZE = ("qdrant_storage_size=%s is not a Kubernetes storage quantity: set a number above zero with a binary suffix, "
        "for example 50Gi or 200Gi.")


@pytest.mark.parametrize("bad", ["lots", "-1Gi", "0Gi", "0.0Mi", "50GB", "500m", 50, ""])
def test_storage_size_refused(bad):
    import json
    assert one_error("storage", qdrant_storage_size=bad) == SIZE % json.dumps(bad)


@pytest.mark.parametrize("good", ["1Gi", "200Gi", "1.5Ti", "100G", "1000000"])
def test_storage_size_accepted(good):
    assert errors("storage", qdrant_storage_size=good) == []


def test_storage_class_and_render_dir(tmp_path):
    assert one_error("storage", qdrant_storage_class="fast ssd") == (
        "qdrant_storage_class=\"fast ssd\" is not a valid StorageClass name: use the name shown by `kubectl get "
        "storageclass`, or \"\" for the cluster default.")
    assert errors("storage", qdrant_storage_class="local-path") == []
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for bad in ("rendered", str(a_file)):
        assert one_error("storage", qdrant_render_dir=bad) == (
            "qdrant_render_dir=\"%s\" must be an absolute path of a directory, not of a file (or \"\" to apply to the "
            "cluster)." % bad)
    assert errors("storage", qdrant_render_dir=str(tmp_path)) == []
    assert errors("storage", qdrant_render_dir=str(tmp_path / "new")) == []


@pytest.mark.parametrize("role", ["storage", "qdrant"])
@pytest.mark.parametrize("bad", ["0", 0, "2", 2, "abc", "-3", True, "3.0"])
def test_replicas_refused(role, bad):
    import json
    message = [m for m in errors(role, qdrant_replicas=bad) if m.startswith("qdrant_replicas=")]
    assert len(message) == 1 and message[0].startswith(
        "qdrant_replicas=%s is not usable: give a whole number, 1 (single node) or 3 or more peers" % json.dumps(bad))
    assert "2 is refused: raft needs a majority" in message[0]


@pytest.mark.parametrize("good", ["1", 1, "3", 5])
def test_replicas_accepted(good):
    assert errors("storage", qdrant_replicas=good) == []
    assert errors("qdrant", qdrant_replicas=good) == []


# ---- qdrant ------------------------------------------------------------------------------------------------------

def test_versions():
    assert one_error("qdrant", qdrant_version="latest") == (
        "qdrant_version=\"latest\" / qdrant_image_tag=\"v1.19.0-unprivileged\" are not usable: qdrant_version is X.Y.Z "
        "(for example 1.19.0) and qdrant_image_tag a release tag such as v1.19.0-unprivileged (never latest or dev: "
        "the upgrade guard needs the version).".replace("v1.19.0-unprivileged\" are", defaults("qdrant")["qdrant_image_tag"]
                                                        + "\" are"))
    assert "qdrant_image_tag=\"latest\"" in one_error("qdrant", qdrant_image_tag="latest")
    assert errors("qdrant", qdrant_version="1.18.2", qdrant_image_tag="v1.18.2") == []
    assert errors("qdrant", qdrant_image_tag="1.18.2-rc.1") == []


PORTS = ("qdrant_http_port=%s and qdrant_grpc_port=%s must be two different ports between 1 and 65535, not 6335 "
         "(Qdrant's cluster port); defaults 6333 and 6334.")


@pytest.mark.parametrize("http, grpc", [(70000, 6334), ("http", 6334), (6333, "6333"), (6333, 6335), (0, 6334),
                                        ("6333", "6333")])
def test_ports_refused(http, grpc):
    assert one_error("qdrant", qdrant_http_port=http, qdrant_grpc_port=grpc) == PORTS % (http, grpc)


def test_ports_from_the_command_line_pass():
    assert errors("qdrant", qdrant_http_port="8080", qdrant_grpc_port="8081") == []
    assert errors("gateway_routes", qdrant_http_port="8080", qdrant_grpc_port="65535") == []
    assert one_error("gateway_routes", qdrant_http_port="70000") == (
        "qdrant_http_port and qdrant_grpc_port must be ports between 1 and 65535 (defaults 6333 and 6334).")


def test_size_limits_threshold_and_timeout():
    assert one_error("qdrant", qdrant_snapshots_size_limit="big") == (
        "qdrant_snapshots_size_limit=\"big\" is not a Kubernetes quantity: use for example 20Gi.")
    assert "qdrant_tmp_size_limit=\"-2Gi\"" in one_error("qdrant", qdrant_tmp_size_limit="-2Gi")
    assert errors("qdrant", qdrant_snapshots_size_limit="500Mi", qdrant_tmp_size_limit="1G") == []
    for changes in ({"qdrant_wait_timeout": "-5"}, {"qdrant_wait_timeout": "999999999"}, {"qdrant_wait_timeout": "lots"},
                    {"qdrant_startup_probe_failure_threshold": 0}):
        message = one_error("qdrant", **changes)
        assert "must be whole numbers: the threshold at least 1, the timeout between 1 and 86400 seconds" in message
    assert errors("qdrant", qdrant_wait_timeout="86400", qdrant_startup_probe_failure_threshold="1") == []


def test_network_policy_namespaces_checked_only_when_enabled():
    message = one_error("qdrant", qdrant_network_policy_ingress_namespaces=["gateway ns"])
    assert message == ("qdrant_network_policy_ingress_namespaces=[\"gateway ns\"] and qdrant_network_policy_dns_namespace="
                       "\"kube-system\" must be Namespace names (lower-case letters, digits, '-'), for example [gateway].")
    assert "qdrant_network_policy_dns_namespace=\"kube_system\"" in one_error(
        "qdrant", qdrant_network_policy_dns_namespace="kube_system")
    # | bool: 'false' and 'no' from the command line switch the check off, 'true' keeps it on.
    for off in ("false", "no", False, "0"):
        assert errors("qdrant", qdrant_network_policy_enabled=off, qdrant_network_policy_ingress_namespaces=["x y"]) == []
    assert len(errors("qdrant", qdrant_network_policy_enabled="true",
                      qdrant_network_policy_ingress_namespaces=["x y"])) == 1


def test_settings_the_role_owns():
    assert one_error("qdrant", qdrant_config={"service": {"api_key": LONG}}) == (
        "qdrant_config.service.api_key is not allowed: a ConfigMap or plain env is readable by anyone who can read the "
        "namespace. Use the Secret the secrets role provides (qdrant_secret_backend, qdrant_api_key_secret_name).")
    assert one_error("qdrant", qdrant_extra_env=[{"name": "qdrant__service__metrics_port", "value": "9"}]) == (
        "qdrant_extra_env must not set QDRANT__SERVICE__METRICS_PORT: Qdrant serves /metrics on that port without any "
        "authentication. Use nothing: scrape /metrics on qdrant_http_port with the read-only key "
        "(qdrant_read_only_api_key_enabled).")
    assert one_error("qdrant", qdrant_extra_env=[{"value": "x"}]) == (
        "Every qdrant_extra_env entry needs a name (Kubernetes EnvVar, {name ..., value ...}).")
    assert one_error("qdrant", qdrant_extra_env=[{"name": "QDRANT__SERVICE__HTTP_PORT", "value": "7000"}]) == (
        "qdrant_extra_env sets QDRANT__SERVICE__HTTP_PORT / qdrant_config.service sets no port: the role sets these "
        "itself (the Service, probes and NetworkPolicies follow them). Remove them and use qdrant_http_port, "
        "qdrant_grpc_port, qdrant_log_level or qdrant_telemetry_disabled.")
    assert one_error("qdrant", qdrant_config={"service": {"http_port": 7000}}).startswith(
        "qdrant_extra_env sets nothing managed / qdrant_config.service sets http_port: the role sets these itself")
    for cluster in ({"cluster": {"enabled": False}}, {"cluster": {"p2p": {"port": 1}}},
                    {"service": {"enforce_internal_auth": True}}):
        assert one_error("qdrant", qdrant_config=cluster).startswith(
            "qdrant_config must not set cluster.enabled, cluster.p2p.port or service.enforce_internal_auth")
    assert errors("qdrant", qdrant_config={"service": {"max_request_size_mb": 64}, "storage": {"on_disk_payload": True}},
                  qdrant_extra_env=[{"name": "QDRANT__STORAGE__OPTIMIZERS__DEFAULT_SEGMENT_NUMBER", "value": "2"}]) == []


@pytest.mark.parametrize("bad", [{"limits": {"memory": "lots"}}, {"limit": {"memory": "4Gi"}}, "1Gi",
                                 {"requests": ["cpu"]}])
def test_resources_refused(bad):
    import json
    assert one_error("qdrant", qdrant_resources=bad) == (
        "qdrant_resources=%s is not a Kubernetes ResourceRequirements: only requests, limits (and claims), each value a "
        "quantity, for example {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 4Gi}}." % json.dumps(bad))


def test_resources_accepted():
    assert errors("qdrant", qdrant_resources={"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": 4}}) == []


def test_distributed_mode_settings():
    message = one_error("qdrant", qdrant_replicas="3", qdrant_headless_service_name="qdrant")
    assert message.startswith("qdrant_headless_service_name=\"qdrant\" must be a Service name (lower-case letters, "
                              "digits, '-') other than qdrant_name; qdrant_storage_size=")
    for changes in ({"qdrant_storage_size": "0Gi"}, {"qdrant_storage_class": "a b"},
                    {"qdrant_topology_spread_constraints": ["zone"]}, {"qdrant_topology_spread_constraints": "x"}):
        assert "must be a Service name" in one_error("qdrant", qdrant_replicas=3, **changes)
        # Single node: not checked here (the storage role checks the size and class).
        assert not [m for m in errors("qdrant", **changes) if "must be a Service name" in m]
    assert errors("qdrant", qdrant_replicas="5", qdrant_topology_spread_constraints=[{"maxSkew": 1}],
                  qdrant_storage_size="100G") == []


# ---- gateway_routes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, invalid", [([], []), (["qdrant peekoff.com"], ["qdrant peekoff.com"]),
                                          (["ok.example.com", "Qdrant.Example.com"], ["Qdrant.Example.com"]),
                                          (["qdrant.example.com:443"], ["qdrant.example.com:443"])])
def test_hostnames_refused(bad, invalid):
    import json
    assert one_error("gateway_routes", qdrant_hostnames=bad) == (
        "qdrant_hostnames=%s must list at least one DNS name without spaces, ports or upper case, such as "
        "qdrant.example.com or *.example.com. Invalid: %s." % (json.dumps(bad), json.dumps(invalid)))


def test_hostnames_accepted():
    assert errors("gateway_routes", qdrant_hostnames=["*.example.com", "qdrant.example.com"]) == []


@pytest.mark.parametrize("bad", [[], [{}], [None], [{"namespace": "gateway"}], [{"name": "external", "gateway": "x"}],
                                 [{"name": "external", "port": "https"}], [{"name": "external", "port": 70000}],
                                 [{"name": "external", "namespace": "Gateway"}], [{"name": "Ext"}], "external",
                                 {"name": "external"}])
def test_parent_refs_refused(bad):
    import json
    assert one_error("gateway_routes", qdrant_gateway_parent_refs=bad) == (
        "qdrant_gateway_parent_refs=%s is not a list of Gateway references: each entry needs a name (the Gateway's) "
        "and may have namespace, sectionName, port (1-65535), group and kind only, for example "
        "[{name: external, namespace: gateway}]." % json.dumps(bad))


def test_parent_refs_accepted():
    assert errors("gateway_routes", qdrant_gateway_parent_refs=[
        {"name": "external", "namespace": "gateway", "sectionName": "https", "port": "443",
         "group": "gateway.networking.k8s.io", "kind": "Gateway"}, {"name": "internal"}]) == []


def test_grpc_hostnames_checked_when_the_grpc_route_is_on():
    hostnames = defaults("gateway_routes")["qdrant_hostnames"]
    message = one_error("gateway_routes", qdrant_grpc_route_enabled="true", qdrant_grpc_hostnames=list(hostnames))
    assert message.startswith("qdrant_grpc_hostnames=%s must list at least one valid DNS name, none of them also in "
                              "qdrant_hostnames" % __import__("json").dumps(hostnames))
    assert len(errors("gateway_routes", qdrant_grpc_route_enabled=True, qdrant_grpc_hostnames=[])) == 1
    assert errors("gateway_routes", qdrant_grpc_route_enabled="yes", qdrant_grpc_hostnames=["grpc.example.com"]) == []
    assert errors("gateway_routes", qdrant_grpc_route_enabled="false", qdrant_grpc_hostnames=[]) == []


def test_routes_replace():
    for bad in (["Old"], [5], ["qdrant"]):
        assert one_error("gateway_routes", qdrant_routes_replace=bad).startswith(
            "qdrant_routes_replace=%s must list names of HTTPRoutes in qdrant from an earlier installation (for example "
            "[qdrant-http]), never this role's own route qdrant." % __import__("json").dumps(bad))
    assert errors("gateway_routes", qdrant_routes_replace=["qdrant-http", "old.route"]) == []


# ---- verify ------------------------------------------------------------------------------------------------------

def test_verify_checks(tmp_path):
    assert one_error("verify", qdrant_check_url="qdrant.example.com") == (
        "qdrant_check_url must be an http(s) URL such as https://qdrant.example.com, or qdrant_hostnames must name a "
        "host when qdrant_check_via is gateway (got qdrant_check_url=\"qdrant.example.com\").")
    assert len(errors("verify", qdrant_check_via="gateway", qdrant_hostnames=[])) == 1
    assert errors("verify", qdrant_check_via="gateway", qdrant_hostnames=[], qdrant_check_url="http://10.0.0.1:6333") == []
    for changes in ({"qdrant_check_timeout": "0"}, {"qdrant_check_timeout": "100000"},
                    {"qdrant_check_wait_timeout": "-1"}, {"qdrant_check_wait_timeout": "86401"}):
        assert "must be whole seconds between 1 and 3600 (default 10)" in one_error("verify", **changes)
    assert errors("verify", qdrant_check_timeout="3600", qdrant_check_wait_timeout="0") == []
    assert one_error("verify", qdrant_check_ca_path="/nonexistent/ca.pem") == (
        "qdrant_check_ca_path=\"/nonexistent/ca.pem\" is not a file on the controller: give the path of a PEM CA bundle, "
        "or \"\" to use the system store.")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert errors("verify", qdrant_check_ca_path=str(ca)) == []
    assert len(errors("verify", qdrant_check_ca_path=str(tmp_path))) == 1


def test_all_failures_are_reported_together():
    found = errors("qdrant", qdrant_name="Bad_Name", qdrant_http_port="x", qdrant_replicas=2)
    assert [m.split("=")[0].split(" ")[0] for m in found] == ["qdrant_name", "qdrant_http_port", "qdrant_replicas"]


def test_byte_suffixes_are_quantities():
    """Every size the check lets through is a quantity the PVC guards (peekoff.qdrant.qdrant_quantity) can read."""
    from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_validate import BYTE_SUFFIXES
    from ansible_collections.peekoff.qdrant.plugins.plugin_utils.quantity import is_quantity
    assert all(is_quantity("1" + suffix) for suffix in BYTE_SUFFIXES)


@pytest.mark.parametrize("bad", ["10.0.0.10", "10.0.0.300/32", "apiserver/32", ["10.0.0.0/8", 5], "10.0.0.0/8", None])
def test_api_server_cidrs_refused(bad):
    assert one_error("qdrant", qdrant_network_policy_api_server_cidrs=bad).startswith(
        "qdrant_network_policy_api_server_cidrs=%s must be a list of CIDRs" % json.dumps(bad))


def test_api_server_cidrs_accepted():
    assert errors("qdrant", qdrant_network_policy_api_server_cidrs=["10.0.0.10/32", "fd00::/64"]) == []


def test_alt_api_key_secret_key():
    assert errors("qdrant", qdrant_alt_api_key_secret_key="QDRANT__SERVICE__ALT_API_KEY") == []
    for bad in ("QDRANT__SERVICE__API_KEY", "QDRANT__SERVICE__READ_ONLY_API_KEY", "with space"):
        assert one_error("qdrant", qdrant_alt_api_key_secret_key=bad).startswith(
            "qdrant_alt_api_key_secret_key=%s is not usable" % json.dumps(bad))
