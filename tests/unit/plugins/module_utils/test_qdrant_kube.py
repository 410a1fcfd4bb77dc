"""module_utils/qdrant_kube: the service-proxy client built by kubernetes.core's get_api_client, against the
Kubernetes API emulator with the Qdrant stand-in as the Service's backend (tests/support/proxied_qdrant.py)."""
import select
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.peekoff.qdrant.plugins.module_utils import qdrant_kube as K
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import QdrantError, qdrant_argument_spec

from proxied_qdrant import isolate_kubernetes_client, proxied_standin

KEY = "kube-unit-full-key-63c1a9d0e2f4"
RO_KEY = "kube-unit-read-only-key-9b77e1"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Emulator + stand-in, the module's process state isolated (proxied_qdrant.isolate_kubernetes_client)."""
    isolate_kubernetes_client(monkeypatch, tmp_path)
    with proxied_standin(tmp_path, api_key=KEY, read_only_api_key=RO_KEY) as e:
        yield e


def proxy_params(**proxy):
    opts = dict((k, None) for k in K.kubernetes_proxy_options())
    opts.update(port="6333", scheme="http")
    opts.update(proxy)
    return dict(timeout=5, kubernetes_proxy=opts)


def test_kubernetes_proxy_takes_kubernetes_core_auth_options():
    spec = qdrant_argument_spec()["kubernetes_proxy"]["options"]
    for name, option in AUTH_ARG_SPEC.items():
        assert spec[name] == option, name
    assert set(spec) == set(AUTH_ARG_SPEC) | {"namespace", "service", "port", "scheme"}
    assert spec["api_key"]["no_log"] and spec["password"]["no_log"]


def test_service_proxy_path():
    assert K.service_proxy_path("qdrant", "qdrant", 6333) == "/api/v1/namespaces/qdrant/services/http:qdrant:6333/proxy"
    assert K.service_proxy_path("ns", "svc", "http", scheme="https") == "/api/v1/namespaces/ns/services/https:svc:http/proxy"
    for bad in (dict(namespace="a/b"), dict(service=""), dict(port="1:2"), dict(scheme="ftp")):
        kw = dict(namespace="ns", service="svc", port="6333", scheme="http")
        kw.update(bad)
        with pytest.raises(QdrantError):
            K.service_proxy_path(**kw)


def test_exec_plugin_kubeconfig_reaches_qdrant_through_the_service_proxy(env):
    kc = env.exec_kubeconfig(namespace="qdrant")
    client, secrets = K.client_from_params(proxy_params(kubeconfig=kc, service="qdrant"))
    assert client.via_kubernetes_proxy
    assert client.base_url == "%s/api/v1/namespaces/qdrant/services/http:qdrant:6333/proxy" % env.emu.url
    assert env.token in secrets  # the exec plugin's token goes to no_log_values
    assert env.token not in client.display_url and "Service qdrant/qdrant port 6333" in client.display_url

    root = client.request("GET", "/")
    assert root.status == 200 and root.json()["version"] == "1.19.0"
    anonymous = client.request("GET", "/collections")  # Qdrant's own refusal, body and all
    assert anonymous.status == 401 and anonymous.text == "Must provide an API key or an Authorization bearer token"
    assert client.request("GET", "/collections", credential=KEY).status == 200
    # a JSON body travels through the proxy (without one the stand-in, like Qdrant, answers 400)
    vectors = {"vectors": {"size": 4, "distance": "Dot"}}
    created = client.request("PUT", "/collections/proxied", credential=KEY, body=vectors)
    assert created.status == 200 and "proxied" in env.standin.collections
    read_only_write = client.request("DELETE", "/collections/nope", credential=RO_KEY)
    assert read_only_write.status == 403 and read_only_write.json()["status"]["error"].startswith("Forbidden:")
    # the plugin really ran, as the exec protocol says (KUBERNETES_EXEC_INFO, args from the kubeconfig)
    runs = env.exec_runs()
    assert runs and runs[0] == {"apiVersion": "client.authentication.k8s.io/v1",
                                "argv": ["get-token", "--cluster", "emulator"]}
    assert ("GET", "/api/v1/namespaces/qdrant/services/http:qdrant:6333/proxy/collections") in env.proxy_requests()
    # Qdrant saw the request (Authorization was the API server's; the key came in api-key)
    assert ("GET", "/collections", 200) in env.standin.requests


def test_a_redirect_is_returned_not_followed(env):
    hits = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        client, _secrets = K.client_from_params(proxy_params(kubeconfig=env.token_kubeconfig(), namespace="qdrant",
                                                             service="qdrant"))
        env.emu.inject_fault("GET", "/proxy/collections$", status=307,
                             headers={"Location": "http://127.0.0.1:%d/steal" % srv.server_address[1]})
        resp = client.request("GET", "/collections", credential=KEY)
    finally:
        srv.shutdown()
        srv.server_close()
    assert resp.status == 307 and resp.location.endswith("/steal")
    assert hits == []


def test_namespace_defaults_to_the_context_namespace_then_default(env):
    c, _secrets = K.client_from_params(proxy_params(kubeconfig=env.token_kubeconfig(namespace="qdrant"), service="qdrant"))
    assert "/namespaces/qdrant/" in c.base_url
    c, _secrets = K.client_from_params(proxy_params(kubeconfig=env.token_kubeconfig(name="k2"), service="qdrant"))
    assert "/namespaces/default/" in c.base_url
    c, _secrets = K.client_from_params(proxy_params(kubeconfig=env.token_kubeconfig(name="k3", namespace="qdrant"),
                                                    namespace="other", service="qdrant"))
    assert "/namespaces/other/" in c.base_url


def test_several_kubeconfig_files_are_merged(env, tmp_path):
    """``a:b`` as KUBECONFIG: clusters and contexts from one file, the (exec) user from the other."""
    doc = yaml.safe_load(open(env.exec_kubeconfig(namespace="qdrant")))
    users = {"apiVersion": "v1", "kind": "Config", "users": doc.pop("users")}
    (tmp_path / "clusters.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "users.yaml").write_text(yaml.safe_dump(users))
    kc = "%s:%s" % (tmp_path / "clusters.yaml", tmp_path / "users.yaml")
    client, _secrets = K.client_from_params(proxy_params(kubeconfig=kc, service="qdrant"))
    assert client.request("GET", "/collections", credential=KEY).status == 200


def test_k8s_auth_environment_like_kubernetes_core(env, tmp_path, monkeypatch):
    """K8S_AUTH_KUBECONFIG and K8S_AUTH_CONTEXT choose the file and a context that is not the current one."""
    doc = yaml.safe_load(open(env.token_kubeconfig(namespace="qdrant")))
    doc["users"].append({"name": "stale", "user": {"token": "expired-token"}})
    doc["contexts"].append({"name": "stale", "context": {"cluster": "emulator", "user": "stale"}})
    doc["current-context"] = "stale"
    (tmp_path / "two-contexts").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", str(tmp_path / "two-contexts"))
    with pytest.raises(QdrantError, match="HTTP 401"):
        K.client_from_params(proxy_params(service="qdrant"))
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "emulator")
    client, _secrets = K.client_from_params(proxy_params(service="qdrant"))
    assert "/namespaces/qdrant/" in client.base_url
    assert client.request("GET", "/collections", credential=KEY).status == 200


def test_host_api_key_and_ca_cert_without_kubeconfig(env, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(env.emu.ca_pem)
    client, secrets = K.client_from_params(proxy_params(host=env.emu.url, api_key=env.token, ca_cert=str(ca),
                                                        namespace="qdrant", service="qdrant"))
    assert env.token in secrets
    assert client.request("GET", "/collections", credential=KEY).status == 200


def test_api_server_certificate_is_verified_unless_told_not_to(env):
    doc = env.emu.kubeconfig(namespace="qdrant")
    del doc["clusters"][0]["cluster"]["certificate-authority-data"]
    with pytest.raises(QdrantError) as e:
        K.client_from_params(proxy_params(kubeconfig=doc, service="qdrant"))
    assert "CERTIFICATE_VERIFY_FAILED" in str(e.value) and env.token not in str(e.value)
    client, secrets = K.client_from_params(proxy_params(kubeconfig=doc, service="qdrant", validate_certs=False))
    assert env.token in secrets  # from the inline kubeconfig, as kubernetes.core redacts it
    assert client.request("GET", "/collections", credential=KEY).status == 200


def test_an_unusable_inline_kubeconfig_error_carries_its_secrets(env):
    doc = env.emu.kubeconfig(namespace="qdrant")
    with pytest.raises(QdrantError) as e:
        K.client_from_params(proxy_params(kubeconfig=doc, context="no-such-context", service="qdrant"))
    assert "no-such-context" in str(e.value) and env.token not in str(e.value)
    assert env.token in e.value.secrets  # qdrant_check adds them to no_log_values before it fails


def test_wrong_kubernetes_token_is_a_clear_error_without_the_token(env):
    with pytest.raises(QdrantError) as e:
        K.client_from_params(proxy_params(kubeconfig=env.token_kubeconfig(token="not-the-token-4f1e"),
                                          service="qdrant"))
    assert "HTTP 401" in str(e.value) and "not-the-token-4f1e" not in str(e.value)
    assert env.standin.requests == []


def test_missing_kubeconfig_is_a_clear_error(env, tmp_path):
    with pytest.raises(QdrantError) as e:
        K.client_from_params(proxy_params(kubeconfig=str(tmp_path / "absent"), service="qdrant"))
    assert "kubernetes_proxy" in str(e.value) and "Traceback" not in str(e.value)


def test_transport_failures_are_qdrant_errors(env):
    client, _secrets = K.client_from_params(proxy_params(kubeconfig=env.token_kubeconfig(), namespace="qdrant",
                                                         service="qdrant"))
    env.emu.inject_fault("GET", "/proxy/slow$", status=None, delay=1.5)
    with pytest.raises(QdrantError, match=r"no answer within 0\.5 s \(timeout\)") as timed_out:
        client.request("GET", "/slow", timeout=0.5)
    # issue 20 point 6: the API server was reached and the pod did not answer: name the NetworkPolicy
    assert ("most likely the ingress NetworkPolicy (<qdrant_name>-ingress) does not admit the API server; give its "
            "addresses in qdrant_network_policy_api_server_cidrs") in str(timed_out.value)
    env.emu.stop()
    with pytest.raises(QdrantError, match="cannot connect"):
        client.request("GET", "/")


def test_a_service_without_endpoints_answers_with_its_status(env):
    env.emu.unregister_service_backend("qdrant", "qdrant", 6333)
    client, _secrets = K.client_from_params(proxy_params(kubeconfig=env.token_kubeconfig(), namespace="qdrant",
                                                         service="qdrant"))
    resp = client.request("GET", "/livez")
    assert resp.status == 503 and "no endpoints available" in resp.text


# ------------------------------------------------------------------ proxy-url (an HTTP CONNECT proxy)

class _ConnectProxy(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_CONNECT(self):
        self.server.tunnels.append(self.path)
        host, port = self.path.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        conns = [self.connection, upstream]
        try:
            while True:
                readable, _w, _x = select.select(conns, [], [], 10)
                if not readable:
                    break
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


@pytest.fixture
def connect_proxy():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _ConnectProxy)
    srv.daemon_threads = True
    srv.tunnels = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_kubeconfig_proxy_url_is_used(env, connect_proxy):
    doc = env.emu.kubeconfig(namespace="qdrant")
    doc["clusters"][0]["cluster"]["proxy-url"] = "http://127.0.0.1:%d" % connect_proxy.server_address[1]
    client, _secrets = K.client_from_params(proxy_params(kubeconfig=doc, service="qdrant"))
    assert client.request("GET", "/collections", credential=KEY).status == 200
    assert connect_proxy.tunnels and set(connect_proxy.tunnels) == {"127.0.0.1:%d" % env.emu.port}


# ------------------------------------------------------------------ without the kubernetes library

def test_url_mode_needs_no_kubernetes_library(monkeypatch):
    for name in [m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    client, secrets = K.client_from_params(dict(url="http://127.0.0.1:6333/", timeout=5, validate_certs=True))
    assert client.base_url == "http://127.0.0.1:6333" and secrets == [] and not client.via_kubernetes_proxy
    with pytest.raises(QdrantError) as e:
        K.client_from_params(proxy_params(service="qdrant"))
    assert "kubernetes>=24.2.0" in str(e.value) and "kubernetes_proxy" in str(e.value)
