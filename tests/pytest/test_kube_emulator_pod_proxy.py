"""The emulator's pod proxy answers as kube-apiserver's does: pkg/registry/core/pod/rest/subresources.go
ProxyREST.Connect -> pkg/registry/core/pod/strategy.go ResourceLocation (SplitSchemeNamePort, getPod, the first
container port when none is given, "address not allowed" without a global unicast pod IP) and the proxy
transport's dial error (k8s.io/apimachinery/pkg/util/proxy/transport.go: 503 "error trying to reach service")."""
import json
import ssl
import urllib.error
import urllib.request

import pytest

from proxied_qdrant import proxied_cluster


@pytest.fixture
def cluster(tmp_path):
    with proxied_cluster(tmp_path, api_key="emu-pod-proxy-key", not_listening=(2,),
                         peer_config={1: dict(ready=False)}) as c:
        yield c


def get(cluster, name_port, subpath="readyz"):
    emu = cluster.emu
    req = urllib.request.Request("%s/api/v1/namespaces/qdrant/pods/%s/proxy/%s" % (emu.url, name_port, subpath),
                                 headers={"Authorization": "Bearer %s" % emu.token})
    ctx = ssl.create_default_context(cadata=emu.ca_pem.decode())
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def status(body):
    doc = json.loads(body)
    assert doc["kind"] == "Status" and doc["status"] == "Failure"
    return doc["code"], doc["reason"], doc["message"]


def test_the_pods_backend_answers_through_its_ip_and_port(cluster):
    assert get(cluster, "qdrant-0:6333") == (200, "all shards are ready")
    assert get(cluster, "http:qdrant-0:6333") == (200, "all shards are ready")
    # no port: the first declared container port (6333 here)
    assert get(cluster, "qdrant-0") == (200, "all shards are ready")
    # the backend's own answer is relayed, status and body
    assert get(cluster, "qdrant-1:6333") == (503, "some shards are not ready")


def test_a_missing_pod_is_a_404_status(cluster):
    code, body = get(cluster, "qdrant-7:6333")
    assert code == 404 and status(body) == (404, "NotFound", 'pods "qdrant-7" not found')


def test_a_pod_with_nothing_listening_is_the_transports_503(cluster):
    code, body = get(cluster, "qdrant-2:6333")
    assert code == 503 and status(body) == (503, "ServiceUnavailable", "error trying to reach service: dial tcp "
                                            "10.244.0.12:6333: connect: connection refused")
    # another port of a listening pod: nothing listens there either
    code, body = get(cluster, "qdrant-0:6335")
    assert code == 503 and "dial tcp 10.244.0.10:6335: connect: connection refused" in body


def test_a_pod_without_an_ip_is_address_not_allowed(cluster):
    cluster.emu.set_status("v1", "Pod", "qdrant", "qdrant-0", {"podIP": None, "phase": "Pending"})
    code, body = get(cluster, "qdrant-0:6333")
    assert code == 400 and status(body) == (400, "BadRequest", "address not allowed")


def test_an_invalid_pod_request_is_a_400(cluster):
    code, body = get(cluster, "ftp:qdrant-0:6333")
    assert code == 400 and status(body)[2] == 'invalid pod request "ftp:qdrant-0:6333"'
