"""qdrant_check against the real Qdrant stand-in over HTTP and HTTPS: every check's pass and fail path."""
import dataclasses
import json
import sys
import time

import pytest

from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_check

KEY = "unit-full-key-5f2b8c0e"
RO_KEY = "unit-read-only-key-a81d77"

BASE_CHECKS = ["liveness", "readiness", "version", "no_credential_refused", "wrong_key_refused",
               "wrong_key_bearer_refused", "full_key_reads", "full_key_writes", "full_key_bearer_writes"]
RO_CHECKS = ["read_only_key_reads", "read_only_key_refused_writes", "read_only_key_bearer_reads",
             "read_only_key_bearer_refused_writes"]
JWT_CHECKS = ["jwt_read_token_reads", "jwt_read_token_refused_writes", "jwt_collection_token_scoped",
              "jwt_collection_token_refused_manage", "jwt_points_token_scoped", "jwt_expired_token_refused",
              "jwt_wrong_signature_refused", "jwt_manage_token_writes"]
# Through kubernetes_proxy the API server consumes Authorization: the Bearer probes are not run there.
BEARER_CHECKS = ["wrong_key_bearer_refused", "full_key_bearer_writes", "read_only_key_bearer_reads",
                 "read_only_key_bearer_refused_writes"]
ALL_CHECKS = BASE_CHECKS + RO_CHECKS + JWT_CHECKS
PROXY_CHECKS = [n for n in ALL_CHECKS if n not in BEARER_CHECKS]


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch):
    monkeypatch.setattr(qdrant_check, "READY_POLL_INTERVAL", 0.05)


@pytest.fixture
def secured(standin_factory):
    return standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True)


def args_for(standin, **extra):
    args = dict(url=standin.url, api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, wait_timeout=0.5,
                timeout=2)
    args.update(extra)
    return args


def failed_names(result):
    return sorted(c["name"] for c in result["checks"] if not c["passed"])


def by_name(result):
    return dict((c["name"], c) for c in result["checks"])


def assert_fails_exactly(failed, result, names):
    assert failed, "the module passed although %s should fail" % names
    assert failed_names(result) == sorted(names)
    assert result["failed_checks"] == [n for n in [c["name"] for c in result["checks"]] if n in names]
    for name in names:
        assert name in result["msg"]
    assert "NOT proven healthy and secure" in result["msg"]
    assert result["changed"] is False


# ---------------------------------------------------------------------------------------------- passing

def test_secure_instance_passes_every_check_over_http(run_module, secured):
    failed, result = run_module(qdrant_check.main, args_for(secured))
    assert not failed, result.get("msg")
    assert [c["name"] for c in result["checks"]] == ALL_CHECKS
    assert all(c["passed"] for c in result["checks"])
    assert all(set(c) == {"name", "passed", "expected", "observed"} for c in result["checks"])
    assert result["version"] == "1.19.0"
    assert result["ready"] is True
    assert result["changed"] is False
    assert result["failed_checks"] == []
    assert result["url"] == secured.url
    assert secured.collections == []  # the write probes changed nothing
    # JWTs went as Bearer, keys in api-key; nothing about headers is logged by the stand-in
    methods = [m for m, _path, _status in secured.requests]
    assert "DELETE" in methods


def test_only_base_checks_without_read_only_key_and_jwt(run_module, secured):
    failed, result = run_module(qdrant_check.main, args_for(secured, read_only_api_key=None, jwt_rbac=False))
    assert not failed
    assert [c["name"] for c in result["checks"]] == BASE_CHECKS


def test_check_mode_runs_the_same_probes_and_changes_nothing(run_module, secured):
    secured.add_collection("products")
    failed, result = run_module(qdrant_check.main, args_for(secured, _ansible_check_mode=True))
    assert not failed
    assert [c["name"] for c in result["checks"]] == ALL_CHECKS
    assert result["changed"] is False
    assert secured.collections == ["products"]
    assert any(m == "DELETE" for m, _path, _status in secured.requests)


def test_expect_version_matches(run_module, secured):
    for wanted in ("1.19.0", "v1.19.0", "1.19"):
        failed, result = run_module(qdrant_check.main, args_for(secured, expect_version=wanted))
        assert not failed, wanted


def test_readiness_waits_until_ready(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, cluster_mode=True, ready=False,
                        ready_after_requests=3)
    failed, result = run_module(qdrant_check.main, args_for(s, wait_timeout=5))
    assert not failed
    assert result["ready"] is True
    assert [p for _method, p, st in s.requests if p == "/readyz"] == ["/readyz"] * 4


# ------------------------------------------------------------------------------------ HTTPS / TLS

@pytest.fixture
def tls_standin(standin_factory, tls_material):
    return standin_factory(tls=(tls_material["certfile"], tls_material["keyfile"]),
                           api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True)


def test_https_with_ca_path_passes(run_module, tls_standin, tls_material):
    assert tls_standin.url.startswith("https://")
    failed, result = run_module(qdrant_check.main, args_for(tls_standin, ca_path=tls_material["ca_pem"]))
    assert not failed, result.get("msg")
    assert all(c["passed"] for c in result["checks"])


def test_https_without_the_ca_fails_with_a_clear_tls_message(run_module, tls_standin):
    failed, result = run_module(qdrant_check.main, args_for(tls_standin))
    assert_fails_exactly(failed, result, ALL_CHECKS)
    live = by_name(result)["liveness"]["observed"]
    assert "certificate verification failed" in live and "ca_path" in live
    assert by_name(result)["version"]["observed"].startswith("not run: the instance is unreachable")
    assert tls_standin.requests == []  # the handshake failed before any request


def test_https_validate_certs_false_passes(run_module, tls_standin):
    failed, result = run_module(qdrant_check.main, args_for(tls_standin, validate_certs=False))
    assert not failed, result.get("msg")


def test_https_with_an_unrelated_ca_fails(run_module, tls_standin, tmp_path):
    trustme = pytest.importorskip("trustme")
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    failed, result = run_module(qdrant_check.main, args_for(tls_standin, ca_path=str(other)))
    assert failed and "certificate verification failed" in by_name(result)["liveness"]["observed"]


def test_missing_ca_path_file_is_a_clear_error(run_module, tls_standin, tmp_path):
    failed, result = run_module(qdrant_check.main, args_for(tls_standin, ca_path=str(tmp_path / "nope.pem")))
    assert failed and "ca_path" in result["msg"] and "Traceback" not in result["msg"]


def test_ca_path_with_plain_http_is_refused(run_module, secured, tls_material):
    failed, result = run_module(qdrant_check.main, args_for(secured, ca_path=tls_material["ca_pem"]))
    assert failed and "https" in result["msg"]


# --------------------------------------------------------------------------------- insecure instances

def test_instance_without_authentication_fails(run_module, standin_factory):
    s = standin_factory()  # no keys at all: Qdrant's default
    failed, result = run_module(qdrant_check.main, args_for(s))
    assert_fails_exactly(failed, result, ["no_credential_refused", "wrong_key_refused", "wrong_key_bearer_refused",
                                          "read_only_key_refused_writes", "read_only_key_bearer_refused_writes",
                                          "jwt_read_token_refused_writes", "jwt_collection_token_scoped",
                                          "jwt_collection_token_refused_manage", "jwt_points_token_scoped",
                                          "jwt_expired_token_refused", "jwt_wrong_signature_refused"])
    assert "HTTP 200" in by_name(result)["no_credential_refused"]["observed"]


def test_auth_disabled_switch_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, auth_disabled=True)
    failed, result = run_module(qdrant_check.main, args_for(s, jwt_rbac=False))
    assert_fails_exactly(failed, result, ["no_credential_refused", "wrong_key_refused", "wrong_key_bearer_refused",
                                          "read_only_key_refused_writes", "read_only_key_bearer_refused_writes"])


def test_server_accepting_any_key_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, accept_any_key=True)
    failed, result = run_module(qdrant_check.main, args_for(s, jwt_rbac=False))
    assert_fails_exactly(failed, result, ["wrong_key_refused", "wrong_key_bearer_refused",
                                          "read_only_key_refused_writes", "read_only_key_bearer_refused_writes"])


def test_read_only_key_that_can_write_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, read_only_can_write=True)
    failed, result = run_module(qdrant_check.main, args_for(s))
    assert_fails_exactly(failed, result, ["read_only_key_refused_writes", "read_only_key_bearer_refused_writes"])
    assert "HTTP 200" in by_name(result)["read_only_key_refused_writes"]["observed"]


def test_wrong_read_only_key_fails_reads(run_module, secured):
    failed, result = run_module(qdrant_check.main, args_for(secured, read_only_api_key="not-the-ro-key"))
    assert_fails_exactly(failed, result, ["read_only_key_reads", "read_only_key_refused_writes",
                                          "read_only_key_bearer_reads", "read_only_key_bearer_refused_writes"])
    assert by_name(result)["read_only_key_reads"]["observed"] == \
        "HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)"
    assert by_name(result)["read_only_key_refused_writes"]["observed"] == \
        "Qdrant refused, but not as expected: HTTP 401 'Invalid API key or JWT'"


def test_full_key_that_cannot_write_fails(run_module, standin_factory):
    # the user passed the read-only key as api_key: reads work, writes do not
    s = standin_factory(api_key="the-real-full-key", read_only_api_key=KEY)
    failed, result = run_module(qdrant_check.main, args_for(s, read_only_api_key=None, jwt_rbac=False))
    assert_fails_exactly(failed, result, ["full_key_writes", "full_key_bearer_writes"])
    assert "HTTP 403 'Forbidden: Global manage access is required'" in by_name(result)["full_key_writes"]["observed"]


def test_wrong_full_key_fails_reads_and_writes(run_module, standin_factory):
    s = standin_factory(api_key="the-real-full-key")
    failed, result = run_module(qdrant_check.main, args_for(s, read_only_api_key=None, jwt_rbac=False))
    assert_fails_exactly(failed, result, ["full_key_reads", "full_key_writes", "full_key_bearer_writes"])


def test_same_key_for_both_is_refused_before_probing(run_module, secured):
    failed, result = run_module(qdrant_check.main, args_for(secured, read_only_api_key=KEY))
    assert failed and "same as api_key" in result["msg"]
    assert secured.requests == []


# ------------------------------------------------------------------------------------------ JWT paths

def test_jwt_rbac_off_on_server_fails_every_jwt_acceptance(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=False)
    failed, result = run_module(qdrant_check.main, args_for(s))
    assert_fails_exactly(failed, result, JWT_CHECKS)


def test_server_accepting_expired_tokens_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, jwt_rbac=True, jwt_leeway=10 ** 6)
    failed, result = run_module(qdrant_check.main, args_for(s, read_only_api_key=None))
    assert_fails_exactly(failed, result, ["jwt_expired_token_refused"])


def test_server_ignoring_jwt_signature_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, jwt_rbac=True, jwt_ignore_signature=True)
    failed, result = run_module(qdrant_check.main, args_for(s, read_only_api_key=None))
    assert_fails_exactly(failed, result, ["jwt_wrong_signature_refused"])


def test_server_ignoring_jwt_access_claim_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, jwt_rbac=True, jwt_ignore_access=True)
    failed, result = run_module(qdrant_check.main, args_for(s, read_only_api_key=None))
    assert_fails_exactly(failed, result, ["jwt_read_token_refused_writes", "jwt_collection_token_scoped",
                                          "jwt_collection_token_refused_manage", "jwt_points_token_scoped"])
    assert "other collection: HTTP 404" in by_name(result)["jwt_collection_token_scoped"]["observed"]


def test_jwt_tokens_never_reach_the_result_or_the_message(run_module, secured):
    failed, result = run_module(qdrant_check.main, args_for(secured))
    assert not failed
    assert "eyJ" not in json.dumps(result)  # also asserted by run_module for every test


# ------------------------------------------------------------------------------ unhealthy / odd servers

def test_readyz_stuck_at_503_fails_after_wait_timeout(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, cluster_mode=True, ready=False)
    t0 = time.monotonic()
    failed, result = run_module(qdrant_check.main, args_for(s, wait_timeout=0.6))
    took = time.monotonic() - t0
    assert_fails_exactly(failed, result, ["readiness"])
    observed = by_name(result)["readiness"]["observed"]
    assert "not ready after waiting 0.6 s (wait_timeout" in observed
    assert "HTTP 503" in observed and "some shards are not ready" in observed
    assert result["ready"] is False
    assert 0.6 <= took < 5
    assert len([p for _method, p, _status in s.requests if p == "/readyz"]) >= 3


def test_wait_timeout_zero_asks_once(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True, ready=False)
    failed, result = run_module(qdrant_check.main, args_for(s, read_only_api_key=None, jwt_rbac=False,
                                                            wait_timeout=0))
    assert_fails_exactly(failed, result, ["readiness"])
    assert [p for _method, p, _status in s.requests].count("/readyz") == 1


def test_slow_server_times_out(run_module, standin_factory):
    s = standin_factory(api_key=KEY, delay=1.0)
    t0 = time.monotonic()
    failed, result = run_module(qdrant_check.main, args_for(s, timeout=0.3, read_only_api_key=None,
                                                            jwt_rbac=False))
    assert time.monotonic() - t0 < 3
    assert_fails_exactly(failed, result, BASE_CHECKS)
    assert "no answer within 0.3 s (timeout)" in by_name(result)["liveness"]["observed"]
    assert by_name(result)["full_key_writes"]["observed"].startswith("not run")


def test_unreachable_instance(run_module, standin_factory):
    s = standin_factory(api_key=KEY)
    url = s.url
    s.stop()
    failed, result = run_module(qdrant_check.main, dict(url=url, api_key=KEY, timeout=1, wait_timeout=0))
    assert_fails_exactly(failed, result, BASE_CHECKS)
    assert "cannot connect" in by_name(result)["liveness"]["observed"]


def test_redirect_is_never_followed_and_fails(run_module, standin_factory):
    target = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True)
    s = standin_factory(api_key=KEY, redirect_to=target.url + "/elsewhere")
    failed, result = run_module(qdrant_check.main, args_for(s))
    assert_fails_exactly(failed, result, ALL_CHECKS)
    assert "HTTP 302 redirect to %s/elsewhere/livez" % target.url in by_name(result)["liveness"]["observed"]
    assert target.requests == []  # no credential was carried to the redirect target


def test_non_json_answers_fail(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, non_json=True)
    failed, result = run_module(qdrant_check.main, args_for(s))
    # every JSON answer (success and 403 JSON refusals) is an HTML page: only the bare-text answers pass
    assert_fails_exactly(failed, result, [n for n in ALL_CHECKS if n not in (
        "liveness", "readiness", "no_credential_refused", "wrong_key_refused", "wrong_key_bearer_refused",
        "jwt_expired_token_refused", "jwt_wrong_signature_refused")])
    assert "expected a JSON answer" in by_name(result)["version"]["observed"]
    assert "text/html" in by_name(result)["full_key_reads"]["observed"]


def test_wrong_expect_version_fails(run_module, secured):
    failed, result = run_module(qdrant_check.main, args_for(secured, expect_version="1.18.2"))
    assert_fails_exactly(failed, result, ["version"])
    assert by_name(result)["version"]["observed"] == "version 1.19.0"
    assert "1.18.2" in by_name(result)["version"]["expected"]
    assert result["version"] == "1.19.0"


# ---------------------------------------------------------------------------------- argument errors

@pytest.mark.parametrize("url,fragment", [
    ("ftp://127.0.0.1", "http"),
    ("127.0.0.1:6333", "http"),
    ("http://user:secretpass@127.0.0.1:6333", "user information"),
    ("http://127.0.0.1:6333/?api-key=x", "query"),
])
def test_bad_urls_are_clear_errors(run_module, url, fragment):
    failed, result = run_module(qdrant_check.main, dict(url=url, api_key=KEY))
    assert failed and fragment in result["msg"]
    assert "secretpass" not in result["msg"]


def test_url_or_kubernetes_proxy_is_required(run_module):
    failed, result = run_module(qdrant_check.main, dict(api_key=KEY))
    assert failed and "url" in result["msg"] and "kubernetes_proxy" in result["msg"]


def test_url_and_kubernetes_proxy_are_exclusive(run_module):
    failed, result = run_module(qdrant_check.main, dict(api_key=KEY, url="http://127.0.0.1:1",
                                                        kubernetes_proxy=dict(service="qdrant")))
    assert failed and "mutually exclusive" in result["msg"]


def test_api_key_is_required(run_module):
    failed, result = run_module(qdrant_check.main, dict(url="http://127.0.0.1:1"))
    assert failed and "api_key" in result["msg"]


def test_negative_wait_timeout(run_module):
    failed, result = run_module(qdrant_check.main, dict(url="http://127.0.0.1:1", api_key=KEY, wait_timeout=-1))
    assert failed and "wait_timeout" in result["msg"]


# ------------------------------------------------------------------ through the Kubernetes API proxy
# kubernetes_proxy is built by kubernetes.core's get_api_client (module_utils/qdrant_kube.py); the API server is
# the emulator, the stand-in the backend of its Service qdrant/qdrant (tests/support/proxied_qdrant.py).

@pytest.fixture
def proxied(tmp_path, monkeypatch):
    from proxied_qdrant import isolate_kubernetes_client, proxied_standin

    isolate_kubernetes_client(monkeypatch, tmp_path)
    with proxied_standin(tmp_path, api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True) as env:
        yield env


def test_through_kubernetes_proxy_with_an_exec_plugin_passes_every_check(run_module, proxied):
    kc = proxied.exec_kubeconfig(namespace="qdrant")
    args = dict(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, wait_timeout=0.5, timeout=3,
                kubernetes_proxy=dict(kubeconfig=kc, service="qdrant", port="6333"))
    failed, result = run_module(qdrant_check.main, args, secrets=[proxied.token])
    assert not failed, result.get("msg")
    assert [c["name"] for c in result["checks"]] == PROXY_CHECKS  # no Bearer probes through the API server
    assert "/api/v1/namespaces/qdrant/services/http:qdrant:6333/proxy" in result["url"]
    assert proxied.exec_runs()  # the credential came from the exec plugin
    # every probe went through the API server's service proxy; the JWT checks pass only because the tokens
    # travelled in api-key (the API server strips Authorization)
    assert len(proxied.proxy_requests()) == len(proxied.standin.requests) > len(PROXY_CHECKS)


def test_kubernetes_proxy_wrong_token_fails_clearly(run_module, proxied):
    kc = proxied.token_kubeconfig(token="wrong-k8s-token-77a1")
    args = dict(api_key=KEY, wait_timeout=0, kubernetes_proxy=dict(kubeconfig=kc, service="qdrant"))
    failed, result = run_module(qdrant_check.main, args, secrets=["wrong-k8s-token-77a1"])
    assert failed and "HTTP 401" in result["msg"] and "Kubernetes API" in result["msg"]
    assert proxied.standin.requests == []


def test_kubernetes_proxy_missing_kubeconfig(run_module, proxied, tmp_path):
    failed, result = run_module(qdrant_check.main, dict(api_key=KEY, kubernetes_proxy=dict(
        kubeconfig=str(tmp_path / "absent"), service="qdrant")))
    assert failed and "kubernetes_proxy: cannot use the Kubernetes API" in result["msg"]
    assert "Traceback" not in result["msg"]


# ------------------------------------------------------------ refusals must be Qdrant's own (false pass)

@pytest.mark.parametrize("with_read_only_key", [True, False])
def test_open_qdrant_behind_a_key_checking_gateway_fails(run_module, standin_factory, with_read_only_key):
    # The Gateway answers 401 itself for a missing or wrong key; Qdrant behind it has no key at all.
    s = standin_factory(gateway_keys=(KEY, RO_KEY))
    failed, result = run_module(qdrant_check.main, args_for(
        s, jwt_rbac=False, read_only_api_key=RO_KEY if with_read_only_key else None))
    expected = ["no_credential_refused", "wrong_key_refused", "wrong_key_bearer_refused"]
    if with_read_only_key:
        expected += ["read_only_key_refused_writes", "read_only_key_bearer_refused_writes"]
    assert_fails_exactly(failed, result, expected)
    observed = by_name(result)["no_credential_refused"]["observed"]
    assert observed.startswith("something in front of Qdrant answered instead of Qdrant")
    assert "HTTP 401 (application/json) '{\"message\":\"No API key found in request\"}'" in observed
    assert "server: kong/3.9.0" in observed  # what answered
    assert "Invalid authentication credentials" in by_name(result)["wrong_key_refused"]["observed"]
    assert "something in front of Qdrant" in result["msg"]


def test_refusal_with_qdrant_text_but_a_content_type_is_not_qdrants(run_module, standin_factory, monkeypatch):
    # A proxy that re-renders Qdrant's 401 as text/plain is not Qdrant's own answer on a direct url.
    from qdrant_standin import server as standin_server
    monkeypatch.setattr(standin_server._Handler, "_bare", lambda self, status, text: self._text(status, text))
    s = standin_factory(api_key=KEY)
    failed, result = run_module(qdrant_check.main, args_for(s, jwt_rbac=False, read_only_api_key=None))
    assert_fails_exactly(failed, result, ["no_credential_refused", "wrong_key_refused", "wrong_key_bearer_refused"])
    assert "(text/plain) 'Must provide an API key" in by_name(result)["no_credential_refused"]["observed"]


def test_authorization_header_dropped_in_front_fails_the_bearer_checks(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, strip_authorization=True)
    failed, result = run_module(qdrant_check.main, args_for(s, jwt_rbac=False))
    assert_fails_exactly(failed, result, BEARER_CHECKS)
    assert by_name(result)["wrong_key_bearer_refused"]["observed"] == (
        "Qdrant refused, but not as expected: HTTP 401 'Must provide an API key or an Authorization bearer token'")


def test_refusals_are_reported_as_qdrants_own(run_module, secured):
    failed, result = run_module(qdrant_check.main, args_for(secured))
    assert not failed
    checks = by_name(result)
    assert checks["no_credential_refused"]["observed"] == (
        "HTTP 401 'Must provide an API key or an Authorization bearer token' (Qdrant's own refusal)")
    assert checks["read_only_key_bearer_refused_writes"]["observed"] == (
        "HTTP 403 'Forbidden: Global manage access is required' (Qdrant's own refusal)")
    assert checks["jwt_collection_token_refused_manage"]["observed"] == (
        "HTTP 403 'Forbidden: Global access is required' (Qdrant's own refusal)")
    assert checks["jwt_expired_token_refused"]["observed"] == "HTTP 403 'ExpiredSignature' (Qdrant's own refusal)"
    assert checks["jwt_wrong_signature_refused"]["observed"] == "HTTP 403 'InvalidSignature' (Qdrant's own refusal)"
    assert "delete own collection: HTTP 403" in checks["jwt_points_token_scoped"]["observed"]


# ------------------------------------------------------------------- startup within wait_timeout (false fail)

def test_port_opening_late_passes_within_wait_timeout(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, startup_delay=1.0)
    t0 = time.monotonic()
    failed, result = run_module(qdrant_check.main, args_for(s, wait_timeout=10))
    assert not failed, result.get("msg")
    assert time.monotonic() - t0 >= 1.0
    assert by_name(result)["liveness"]["observed"] == "HTTP 200 (text/plain) 'healthz check passed'"
    assert result["ready"] is True and result["version"] == "1.19.0"


def test_port_still_closed_at_the_deadline_is_unreachable(run_module, standin_factory):
    s = standin_factory(api_key=KEY, startup_delay=30)
    t0 = time.monotonic()
    failed, result = run_module(qdrant_check.main, args_for(s, wait_timeout=0.6, read_only_api_key=None,
                                                            jwt_rbac=False))
    assert 0.6 <= time.monotonic() - t0 < 5
    assert_fails_exactly(failed, result, BASE_CHECKS)
    observed = by_name(result)["liveness"]["observed"]
    assert observed.startswith("not up after waiting 0.6 s (wait_timeout, ")
    assert "cannot connect" in observed and "Connection refused" in observed
    assert by_name(result)["readiness"]["observed"].startswith("not run: the instance is unreachable")


def test_proxy_answering_503_first_passes_within_wait_timeout(run_module, standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, proxy_503_for=0.8)
    failed, result = run_module(qdrant_check.main, args_for(s, wait_timeout=10))
    assert not failed, result.get("msg")
    assert ("GET", "/livez", 503) in s.requests and ("GET", "/livez", 200) in s.requests


def test_proxy_answering_503_at_the_deadline_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, proxy_503_for=30)
    failed, result = run_module(qdrant_check.main, args_for(s, wait_timeout=0.5, read_only_api_key=None,
                                                            jwt_rbac=False))
    assert_fails_exactly(failed, result, BASE_CHECKS)
    assert "last answer: HTTP 503 (text/plain) 'no healthy upstream'" in by_name(result)["liveness"]["observed"]


def test_version_is_polled_while_the_proxy_answers_503(run_module, standin_factory):
    # liveness and readiness pass, then / answers 503 twice before Qdrant's version document
    s = standin_factory(api_key=KEY)

    def config():
        if len([1 for _m, p, _s in s.requests if p == "/"]) < 2 and any(p == "/readyz" for _m, p, _s in s.requests):
            return dataclasses.replace(s.config, proxy_503_requests=10 ** 6)
        return s.config
    s.config_provider = config
    failed, result = run_module(qdrant_check.main, args_for(s, wait_timeout=5, read_only_api_key=None,
                                                            jwt_rbac=False))
    assert not failed, result.get("msg")
    assert [st for _m, p, st in s.requests if p == "/"] == [503, 503, 200]


# -------------------------------------------------------------------------------- warnings and doors

@pytest.fixture
def warnings(monkeypatch):
    from ansible.module_utils import basic
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: seen.append(warning))
    return seen


def test_token_without_exp_accepted_gives_a_warning(run_module, secured, warnings):
    failed, _result = run_module(qdrant_check.main, args_for(secured))
    assert not failed
    found = [w for w in warnings if "JWT without exp" in w]
    assert len(found) == 1 and "never expires" in found[0]


def test_no_exp_warning_without_jwt_rbac(run_module, secured, warnings):
    failed, _result = run_module(qdrant_check.main, args_for(secured, jwt_rbac=False))
    assert not failed and not [w for w in warnings if "exp" in w]


def test_short_api_key_with_jwt_rbac_warns(run_module, standin_factory, warnings):
    short = "short-key-" + "x" * 10
    s = standin_factory(api_key=short, jwt_rbac=True)
    failed, _result = run_module(qdrant_check.main, dict(url=s.url, api_key=short, jwt_rbac=True, wait_timeout=1))
    assert not failed
    assert any("20 bytes long" in w and "at least 32 bytes" in w for w in warnings)
    assert not any(short in w for w in warnings)


def test_plain_http_to_a_remote_host_fails_before_probing(run_module, warnings):
    failed, result = run_module(qdrant_check.main, dict(url="http://qdrant.example.com:6333", api_key=KEY))
    assert failed
    assert "plain http:// to qdrant.example.com" in result["msg"] and "allow_plain_http=true" in result["msg"]
    assert result["checks"] == []


def test_plain_http_allowed_warns_and_probes(run_module, secured, warnings):
    # 0.0.0.0 is not a loopback address by name, but reaches the local stand-in
    url = secured.url.replace("127.0.0.1", "0.0.0.0")
    failed, result = run_module(qdrant_check.main, args_for(secured, url=url, allow_plain_http=True))
    assert not failed, result.get("msg")
    assert any("clear text" in w and "allowed by allow_plain_http=true" in w for w in warnings)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6333", "http://localhost:6333", "http://[::1]:6333"])
def test_plain_http_to_loopback_is_fine(url):
    assert qdrant_check.plain_http_host(url) is None
    assert qdrant_check.plain_http_host("http://10.0.0.5:6333") == "10.0.0.5"
    assert qdrant_check.plain_http_host("https://qdrant.example.com") is None


@pytest.fixture
def client_cert(tls_material, tmp_path):
    cert = tls_material["ca"].issue_cert("qdrant-check@example.com")
    path = tmp_path / "client.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(path))
    return str(path)


def test_client_certificate_opens_an_instance_that_requires_one(run_module, standin_factory, tls_material,
                                                                client_cert):
    s = standin_factory(tls=(tls_material["certfile"], tls_material["keyfile"]), client_ca=tls_material["ca_pem"],
                        api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True)
    failed, result = run_module(qdrant_check.main, args_for(s, ca_path=tls_material["ca_pem"], wait_timeout=0))
    observed = by_name(result)["liveness"]["observed"]
    assert failed and ("TLS failed" in observed or "reset by peer" in observed), observed  # TLS 1.3: after handshake
    assert s.requests == []  # the handshake failed: no request reached Qdrant
    failed, result = run_module(qdrant_check.main, args_for(s, ca_path=tls_material["ca_pem"],
                                                            client_cert=client_cert, client_key=client_cert))
    assert not failed, result.get("msg")
    assert [c["name"] for c in result["checks"]] == ALL_CHECKS


def test_client_cert_needs_https_and_a_key(run_module, secured, client_cert):
    failed, result = run_module(qdrant_check.main, args_for(secured, client_cert=client_cert, client_key=client_cert))
    assert failed and "client_cert and client_key need an https:// url" in result["msg"]
    failed, result = run_module(qdrant_check.main, args_for(secured, client_cert=client_cert))
    assert failed and "client_key" in result["msg"]


def test_only_kubernetes_proxy_needs_the_kubernetes_library(run_module, secured, monkeypatch):
    for name in [m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    failed, result = run_module(qdrant_check.main, args_for(secured))
    assert not failed, result.get("msg")
    failed, result = run_module(qdrant_check.main, dict(api_key=KEY, kubernetes_proxy=dict(service="qdrant")))
    assert failed and "kubernetes>=24.2.0" in result["msg"] and "kubernetes_proxy" in result["msg"]


# ------------------------------------------------------------------------------------------- cluster mode
# GET /cluster as Qdrant v1.19.0 answers it (src/actix/api/cluster_api.rs cluster_status, lib/storage/src/types.rs
# ClusterStatus/ClusterInfo/RaftInfo/ConsensusThreadStatus), modelled by the stand-in's cluster_* switches.

CLUSTER_CHECKS = ["cluster_peers", "cluster_leader", "cluster_consensus"]


def cluster_args(standin, peers=3, **extra):
    return args_for(standin, read_only_api_key=None, jwt_rbac=False, expect_peers=peers, **extra)


def test_cluster_in_sync_passes(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=3)
    failed, result = run_module(qdrant_check.main, cluster_args(s))
    assert not failed, result.get("msg")
    assert [c["name"] for c in result["checks"]][-3:] == CLUSTER_CHECKS
    checks = by_name(result)
    assert checks["cluster_peers"]["observed"].startswith("3 peer(s): 1000 (http://qdrant-0.qdrant-headless:6335/)")
    assert checks["cluster_leader"]["observed"] == "raft leader peer 1000 (term 2)"
    time.sleep(0.1)  # the stand-in logs a request after it has sent the answer
    assert ("GET", "/cluster", 200) in s.requests


def test_cluster_checks_not_run_without_expect_peers(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True)
    failed, result = run_module(qdrant_check.main, args_for(s, read_only_api_key=None, jwt_rbac=False))
    assert not failed, result.get("msg")
    assert not set(CLUSTER_CHECKS) & set(c["name"] for c in result["checks"])
    assert not [r for r in s.requests if r[1] == "/cluster"]


def test_single_node_with_cluster_checks_fails_clearly(run_module, standin_factory):
    s = standin_factory(api_key=KEY)  # {"result": {"status": "disabled"}, ...}
    started = time.monotonic()
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=30))
    assert time.monotonic() - started < 10, "a single-node answer is final: no waiting for peers to appear"
    assert_fails_exactly(failed, result, CLUSTER_CHECKS)
    assert "single-node (cluster status disabled), but expect_peers=3" in by_name(result)["cluster_peers"]["observed"]


def test_one_peer_missing_fails_naming_the_count_and_the_present_peers(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=3, cluster_missing_peers=1,
                        cluster_send_failures=(2,))
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=0))
    assert_fails_exactly(failed, result, ["cluster_peers", "cluster_consensus"])
    checks = by_name(result)
    assert checks["cluster_peers"]["observed"].startswith("2 peer(s) in the cluster, 3 expected: 1 missing")
    assert "cannot reach http://qdrant-2.qdrant-headless:6335/ (7 failed sends)" in \
        checks["cluster_consensus"]["observed"]


def test_more_peers_than_expected_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=4)
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=0))
    assert_fails_exactly(failed, result, ["cluster_peers"])
    assert "1 more than expected" in by_name(result)["cluster_peers"]["observed"]


def test_no_leader_fails(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True, cluster_no_leader=True)
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=0))
    assert_fails_exactly(failed, result, ["cluster_leader"])
    assert by_name(result)["cluster_leader"]["observed"].startswith(
        "no raft leader (raft_info.leader is null, role Candidate, term 2)")


@pytest.mark.parametrize("status, text", [("stopped", "consensus thread of peer 1000 is stopped"),
                                          ("stopped_with_err", "is stopped_with_err: Failed to apply")])
def test_consensus_not_working_fails(run_module, standin_factory, status, text):
    s = standin_factory(api_key=KEY, cluster_mode=True, cluster_consensus=status)
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=0))
    assert_fails_exactly(failed, result, ["cluster_consensus"])
    assert text in by_name(result)["cluster_consensus"]["observed"]


def test_pending_consensus_operations_fail_as_lagging(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True, cluster_pending_operations=5)
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=0))
    assert_fails_exactly(failed, result, ["cluster_consensus"])
    assert "peer 1000 has 5 consensus operation(s) pending (commit 41)" in by_name(result)["cluster_consensus"]["observed"]


def test_cluster_polled_until_synced_within_wait_timeout(run_module, standin_factory):
    """A peer catching up: /readyz 503 (qdrant-facts) and pending operations, then in sync."""
    s = standin_factory(api_key=KEY, cluster_mode=True, ready=False, ready_after_requests=2)
    polls = []
    cfg = s.config

    def provider():
        polls.append(1)
        return dataclasses.replace(cfg, cluster_pending_operations=3 if len(polls) < 14 else 0)
    s.config_provider = provider
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=5))
    assert not failed, result.get("msg")
    assert len([r for r in s.requests if r[1] == "/cluster"]) >= 2
    assert [r[2] for r in s.requests if r[1] == "/readyz"][:2] == [503, 503]


def test_cluster_status_refused_for_a_wrong_key_is_reported(run_module, standin_factory):
    s = standin_factory(api_key="another-key-entirely-0000")
    failed, result = run_module(qdrant_check.main, cluster_args(s, wait_timeout=0))
    assert failed
    assert "GET /cluster: HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)" == \
        by_name(result)["cluster_peers"]["observed"]


def test_expect_peers_must_be_positive(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True)
    failed, result = run_module(qdrant_check.main, cluster_args(s, peers=0))
    assert failed and "expect_peers must be the number of Qdrant peers (1 or more), got 0" in result["msg"]
    assert s.requests == []
