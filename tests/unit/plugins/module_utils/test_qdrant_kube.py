"""Kubeconfig parsing and the service-proxy URL (module_utils/qdrant_kube), with a tiny local API server."""
import base64
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import QdrantError
from ansible_collections.peekoff.qdrant.plugins.module_utils import qdrant_kube as K


def kubeconfig(tmp_path, user, cluster=None, context_extra=None, current="ctx", name="config"):
    cl = {"server": "https://127.0.0.1:6443"}
    cl.update(cluster or {})
    ctx = {"cluster": "c", "user": "u"}
    ctx.update(context_extra or {})
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": current,
           "clusters": [{"name": "c", "cluster": cl}], "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "ctx", "context": ctx}, {"name": "other", "context": dict(ctx, namespace="o")}]}
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return str(p)


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def test_token_user_and_namespace_from_context(tmp_path):
    kc = kubeconfig(tmp_path, {"token": "tok"}, context_extra={"namespace": "qdrant"})
    t = K.load_kube_target(kubeconfig=kc)
    assert t.server == "https://127.0.0.1:6443"
    assert t.namespace == "qdrant" and t.context_name == "ctx"
    assert t.headers == {"Authorization": "Bearer tok"}
    assert "tok" in t.secrets
    assert isinstance(t.ssl_context, ssl.SSLContext) and t.ssl_context.verify_mode == ssl.CERT_REQUIRED


def test_explicit_context_and_namespace_win(tmp_path):
    kc = kubeconfig(tmp_path, {"token": "tok"})
    assert K.load_kube_target(kubeconfig=kc, context="other").namespace == "o"
    assert K.load_kube_target(kubeconfig=kc, context="other", namespace="n").namespace == "n"
    assert K.load_kube_target(kubeconfig=kc).namespace == "default"


def test_token_file_relative_to_kubeconfig(tmp_path):
    (tmp_path / "token").write_text("from-file\n")
    kc = kubeconfig(tmp_path, {"tokenFile": "token"})
    assert K.load_kube_target(kubeconfig=kc).headers["Authorization"] == "Bearer from-file"


def test_basic_auth(tmp_path):
    kc = kubeconfig(tmp_path, {"username": "admin", "password": "pw"})
    t = K.load_kube_target(kubeconfig=kc)
    assert t.headers["Authorization"] == "Basic " + b64("admin:pw")
    assert "pw" in t.secrets


def test_insecure_skip_tls_verify(tmp_path):
    kc = kubeconfig(tmp_path, {"token": "t"}, cluster={"insecure-skip-tls-verify": True})
    assert K.load_kube_target(kubeconfig=kc).ssl_context.verify_mode == ssl.CERT_NONE
    kc2 = kubeconfig(tmp_path, {"token": "t"}, name="c2")
    assert K.load_kube_target(kubeconfig=kc2, validate_certs=False).ssl_context.verify_mode == ssl.CERT_NONE


def test_plain_http_server_has_no_context(tmp_path):
    kc = kubeconfig(tmp_path, {"token": "t"}, cluster={"server": "http://127.0.0.1:8080/"})
    t = K.load_kube_target(kubeconfig=kc)
    assert t.ssl_context is None and t.server == "http://127.0.0.1:8080"


@pytest.mark.parametrize("user,fragment", [
    ({"exec": {"command": "gke-gcloud-auth-plugin"}}, "exec plugin"),
    ({"auth-provider": {"name": "oidc"}}, "auth-provider plugin"),
])
def test_credential_plugins_are_refused_clearly(tmp_path, user, fragment):
    with pytest.raises(QdrantError) as e:
        K.load_kube_target(kubeconfig=kubeconfig(tmp_path, user))
    assert fragment in str(e.value) and "does not support" in str(e.value)


@pytest.mark.parametrize("mutate,fragment", [
    (lambda p: p.write_text("{not: [valid"), "not valid YAML"),
    (lambda p: p.write_text("just a string"), "is not a kubeconfig"),
    (lambda p: p.write_text(json.dumps({"clusters": []})), "no current-context"),
    (lambda p: p.write_text(json.dumps({"current-context": "x", "contexts": []})), "no context named 'x'"),
])
def test_broken_kubeconfigs(tmp_path, mutate, fragment):
    p = tmp_path / "kc"
    mutate(p)
    with pytest.raises(QdrantError) as e:
        K.load_kube_target(kubeconfig=str(p))
    assert fragment in str(e.value)


def test_missing_cluster_server_and_files(tmp_path):
    with pytest.raises(QdrantError, match="no http"):
        K.load_kube_target(kubeconfig=kubeconfig(tmp_path, {"token": "t"}, cluster={"server": "127.0.0.1"}))
    with pytest.raises(QdrantError, match="certificate-authority file"):
        K.load_kube_target(kubeconfig=kubeconfig(tmp_path, {"token": "t"},
                                                 cluster={"certificate-authority": "nope.pem"}, name="k2"))
    with pytest.raises(QdrantError, match="both the certificate and its key"):
        K.load_kube_target(kubeconfig=kubeconfig(tmp_path, {"client-certificate-data": b64("x")}, name="k3"))
    with pytest.raises(QdrantError, match="cannot read kubeconfig"):
        K.load_kube_target(kubeconfig=str(tmp_path / "absent"))


def test_kubeconfig_env_var(tmp_path, monkeypatch):
    kc = kubeconfig(tmp_path, {"token": "env-tok"})
    monkeypatch.setenv("KUBECONFIG", kc + ":" + str(tmp_path / "second"))
    assert K.default_kubeconfig_path() == kc
    assert K.load_kube_target().headers["Authorization"] == "Bearer env-tok"
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert K.default_kubeconfig_path() == str(tmp_path / ".kube" / "config")


def test_service_proxy_url():
    assert K.service_proxy_url("https://api:6443/", "qdrant", "qdrant", 6333) == \
        "https://api:6443/api/v1/namespaces/qdrant/services/http:qdrant:6333/proxy"
    assert K.service_proxy_url("https://api", "ns", "svc", "http", scheme="https") == \
        "https://api/api/v1/namespaces/ns/services/https:svc:http/proxy"
    for bad in (dict(namespace="a/b"), dict(service=""), dict(port="1:2"), dict(scheme="ftp")):
        kw = dict(namespace="ns", service="svc", port="6333", scheme="http")
        kw.update(bad)
        with pytest.raises(QdrantError):
            K.service_proxy_url("https://api", **kw)


# ------------------------------------------------------------------ TLS against a tiny local API server

@pytest.fixture
def mtls_server(tls_material):
    """HTTPS server that requires a client certificate signed by the test CA; answers 200 with the peer's CN."""
    ca = tls_material["ca"]

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            cert = self.connection.getpeercert()
            cn = dict(x[0] for x in cert["subject"]).get("commonName", "") if cert else ""
            body = json.dumps({"cn": cn, "auth": self.headers.get("Authorization")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_material["certfile"], tls_material["keyfile"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(ctx)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    th.start()
    yield "https://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_client_certificate_data_and_ca_data(tmp_path, tls_material, mtls_server):
    ca = tls_material["ca"]
    client = ca.issue_cert("kube-admin", common_name="kube-admin")
    kc = kubeconfig(tmp_path, {
        "client-certificate-data": b64(client.cert_chain_pems[0].bytes()),
        "client-key-data": b64(client.private_key_pem.bytes()),
    }, cluster={"server": mtls_server, "certificate-authority-data": b64(ca.cert_pem.bytes())})
    t = K.load_kube_target(kubeconfig=kc)
    assert not list(tmp_path.glob("qdrant-kube-*"))
    c = K.QdrantClient(mtls_server, timeout=3, ssl_context=t.ssl_context, base_headers=t.headers,
                       via_kubernetes_proxy=True)
    resp = c.request("GET", "/x")
    assert resp.status == 200 and resp.json()["cn"] == "kube-admin"
    assert client.private_key_pem.bytes().decode().strip() in t.secrets


def test_client_certificate_files_and_ca_file(tmp_path, tls_material, mtls_server):
    ca = tls_material["ca"]
    client = ca.issue_cert("file-user", common_name="file-user")
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "c.crt"))
    client.private_key_pem.write_to_path(str(tmp_path / "c.key"))
    kc = kubeconfig(tmp_path, {"client-certificate": "c.crt", "client-key": "c.key"},
                    cluster={"server": mtls_server, "certificate-authority": tls_material["ca_pem"]})
    t = K.load_kube_target(kubeconfig=kc)
    resp = K.QdrantClient(mtls_server, timeout=3, ssl_context=t.ssl_context).request("GET", "/")
    assert resp.json()["cn"] == "file-user"


def test_without_client_certificate_the_handshake_fails(tmp_path, tls_material, mtls_server):
    kc = kubeconfig(tmp_path, {"token": "t"}, cluster={"server": mtls_server,
                                                       "certificate-authority-data": b64(tls_material["ca"].cert_pem.bytes())})
    t = K.load_kube_target(kubeconfig=kc)
    with pytest.raises(QdrantError):
        K.QdrantClient(mtls_server, timeout=3, ssl_context=t.ssl_context, base_headers=t.headers).request("GET", "/")


def test_tls_server_name(tmp_path, tls_material, mtls_server):
    ca = tls_material["ca"]
    client = ca.issue_cert("n")
    user = {"client-certificate-data": b64(client.cert_chain_pems[0].bytes()),
            "client-key-data": b64(client.private_key_pem.bytes())}
    good = kubeconfig(tmp_path, user, cluster={"server": mtls_server, "tls-server-name": "localhost",
                                               "certificate-authority-data": b64(ca.cert_pem.bytes())}, name="g")
    t = K.load_kube_target(kubeconfig=good)
    assert K.QdrantClient(mtls_server, timeout=3, ssl_context=t.ssl_context).request("GET", "/").status == 200
    bad = kubeconfig(tmp_path, user, cluster={"server": mtls_server, "tls-server-name": "api.example.test",
                                              "certificate-authority-data": b64(ca.cert_pem.bytes())}, name="b")
    t = K.load_kube_target(kubeconfig=bad)
    with pytest.raises(QdrantError, match="certificate verification failed"):
        K.QdrantClient(mtls_server, timeout=3, ssl_context=t.ssl_context).request("GET", "/")


def test_client_from_params_direct_and_proxy(tmp_path):
    c, secrets = K.client_from_params(dict(url="http://127.0.0.1:6333/", timeout=5, validate_certs=True))
    assert c.base_url == "http://127.0.0.1:6333" and secrets == [] and not c.via_kubernetes_proxy
    kc = kubeconfig(tmp_path, {"token": "tok"}, context_extra={"namespace": "qdrant"})
    c, secrets = K.client_from_params(dict(timeout=5, validate_certs=True, kubernetes_proxy=dict(
        kubeconfig=kc, context=None, namespace=None, service="qdrant", port="6333", scheme="http")))
    assert c.base_url == "https://127.0.0.1:6443/api/v1/namespaces/qdrant/services/http:qdrant:6333/proxy"
    assert c.via_kubernetes_proxy and secrets == ["tok"]
    assert c.credential_headers("jwt", bearer=True) == {"api-key": "jwt"}
