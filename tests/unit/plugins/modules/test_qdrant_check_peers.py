"""qdrant_check's per-peer readiness (cluster_peers_ready) in cluster mode: through kubernetes_proxy every pod of
the Service (StatefulSet qdrant-0..N-1, found through the Service's selector) answers /readyz through the API
server's pod proxy (kube-apiserver pkg/registry/core/pod/rest/subresources.go ProxyREST, as the emulator serves
it); over url each of peer_urls does. Every peer is a cluster-mode stand-in (Qdrant v1.19.0 src/actix/api/
service_api.rs readyz: 503 "some shards are not ready" until the peer caught up)."""
import pytest

from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_check
from proxied_qdrant import isolate_kubernetes_client, proxied_cluster

KEY = "unit-peers-full-key-6c1d0e9a"


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch, tmp_path):
    monkeypatch.setattr(qdrant_check, "READY_POLL_INTERVAL", 0.05)
    isolate_kubernetes_client(monkeypatch, tmp_path)


def proxy_args(cluster, peers=3, **extra):
    args = dict(kubernetes_proxy=dict(kubeconfig=cluster.token_kubeconfig(), namespace="qdrant", service="qdrant"),
                api_key=KEY, expect_peers=peers, wait_timeout=0.5, timeout=3)
    args.update(extra)
    return args


def by_name(result):
    return dict((c["name"], c) for c in result["checks"])


def readyz_asked(cluster):
    return sorted(p.split("/pods/")[1].split("/")[0] for m, p in cluster.pod_proxy_requests()
                  if p.endswith("/proxy/readyz"))


def test_every_peer_ready_through_the_pod_proxy_passes(run_module, tmp_path):
    with proxied_cluster(tmp_path, api_key=KEY) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster))
        assert not failed, result.get("msg")
        check = by_name(result)["cluster_peers_ready"]
        assert check["passed"] and check["observed"] == "3 of 3 peers ready: qdrant-0, qdrant-1, qdrant-2"
        assert "3 pods of Service qdrant/qdrant" in check["expected"]
        # the named port 'http' of the Service is resolved to the container port, as the endpoints controller does
        assert readyz_asked(cluster) == ["http:qdrant-0:6333", "http:qdrant-1:6333", "http:qdrant-2:6333"]
        # /readyz is open: no Qdrant key went to the pods
        assert all(s.requests for s in cluster.standins)


def test_one_peer_not_ready_fails_naming_it(run_module, tmp_path):
    with proxied_cluster(tmp_path, api_key=KEY, peer_config={1: dict(ready=False)}) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster))
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    observed = by_name(result)["cluster_peers_ready"]["observed"]
    assert "not ready: qdrant-1: HTTP 503 (text/plain) 'some shards are not ready'" in observed
    assert "ready: qdrant-0, qdrant-2" in observed
    assert "cluster_peers_ready" in result["msg"] and "qdrant-1" in result["msg"]


def test_a_peer_catching_up_within_wait_timeout_passes(run_module, tmp_path):
    with proxied_cluster(tmp_path, api_key=KEY, peer_config={2: dict(ready=False, ready_after_requests=3)}) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster, wait_timeout=5))
        assert not failed, result.get("msg")
        assert readyz_asked(cluster).count("http:qdrant-2:6333") == 4  # three 503s, then 200


def test_a_missing_pod_fails_naming_it(run_module, tmp_path):
    with proxied_cluster(tmp_path, pods=2, api_key=KEY) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster))
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    observed = by_name(result)["cluster_peers_ready"]["observed"]
    assert observed.startswith("2 of 3 expected pods match the selector app.kubernetes.io/instance=qdrant,"
                               "app.kubernetes.io/name=qdrant of Service qdrant/qdrant; missing: qdrant-2; "
                               "found: qdrant-0, qdrant-1")


def test_a_pod_with_nothing_listening_fails_with_the_api_servers_answer(run_module, tmp_path):
    with proxied_cluster(tmp_path, api_key=KEY, not_listening=(2,)) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster))
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    assert ("not ready: qdrant-2: HTTP 503 from the Kubernetes API server: error trying to reach service: dial tcp "
            "10.244.0.12:6333: connect: connection refused") in by_name(result)["cluster_peers_ready"]["observed"]


def test_an_extra_pod_fails(run_module, tmp_path):
    """A fourth pod behind the Service (scaled out of band, or an old Deployment's pod) is no peer of three."""
    with proxied_cluster(tmp_path, pods=4, api_key=KEY) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster))
    assert failed and "4 of 3 expected pods match" in by_name(result)["cluster_peers_ready"]["observed"]


def test_pods_the_kubernetes_user_may_not_list_end_the_wait_at_once(run_module, tmp_path):
    with proxied_cluster(tmp_path, api_key=KEY) as cluster:
        cluster.emu.inject_fault("GET", r"/namespaces/qdrant/pods$", status=403, count=None, body={
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden",
            "message": 'pods is forbidden: User "system:serviceaccount:qdrant:qdrant-deployer" cannot list resource '
                       '"pods" in API group "" in the namespace "qdrant"', "code": 403})
        failed, result = run_module(qdrant_check.main, proxy_args(cluster, wait_timeout=30))
        lists = [p for m, p, _q in cluster.emu.requests if p == "/api/v1/namespaces/qdrant/pods"]
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    assert "cannot read the pods of Service qdrant/qdrant from the Kubernetes API: HTTP 403 pods is forbidden" \
        in by_name(result)["cluster_peers_ready"]["observed"]
    assert len(lists) == 1  # final: not asked again for 30 s


def test_single_peer_has_no_per_peer_check(run_module, tmp_path):
    with proxied_cluster(tmp_path, peers=1, api_key=KEY) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster, peers=1))
    assert not failed, result.get("msg")
    assert "cluster_peers_ready" not in by_name(result)


# ------------------------------------------------------------------------------------------------ peer_urls

def url_args(standins, **extra):
    args = dict(url=standins[0].url, peer_urls=[s.url for s in standins], api_key=KEY, expect_peers=len(standins),
                wait_timeout=0.5, timeout=3)
    args.update(extra)
    return args


def test_peer_urls_all_ready_pass(run_module, standin_factory):
    standins = [standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=3) for _i in range(3)]
    failed, result = run_module(qdrant_check.main, url_args(standins))
    assert not failed, result.get("msg")
    assert by_name(result)["cluster_peers_ready"]["observed"] == "3 of 3 peers ready: %s" % ", ".join(
        s.url for s in standins)
    assert all(("GET", "/readyz", 200) in s.requests for s in standins)


def test_peer_urls_one_not_ready_fails_naming_its_url(run_module, standin_factory):
    standins = [standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=3, ready=(i != 2)) for i in range(3)]
    failed, result = run_module(qdrant_check.main, url_args(standins))
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    assert "not ready: %s: HTTP 503 (text/plain) 'some shards are not ready'" % standins[2].url \
        in by_name(result)["cluster_peers_ready"]["observed"]


def test_peer_urls_unreachable_peer_fails(run_module, standin_factory):
    standins = [standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=2) for _i in range(2)]
    dead = standins[1].url
    standins[1].stop()
    failed, result = run_module(qdrant_check.main, url_args(standins))
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    assert "not ready: %s: GET %s/readyz: cannot connect" % (dead, dead) in by_name(result)["cluster_peers_ready"][
        "observed"]


def test_peer_urls_must_match_expect_peers_and_not_go_with_kubernetes_proxy(run_module, standin_factory):
    s = standin_factory(api_key=KEY, cluster_mode=True)
    failed, result = run_module(qdrant_check.main, dict(url=s.url, api_key=KEY, expect_peers=3, peer_urls=[s.url]))
    assert failed and "peer_urls lists 1 address(es) but expect_peers is 3" in result["msg"]
    failed, result = run_module(qdrant_check.main, dict(url=s.url, api_key=KEY, peer_urls=[s.url]))
    assert failed and "missing parameter(s) required by 'peer_urls': expect_peers" in result["msg"]
    failed, result = run_module(qdrant_check.main, dict(kubernetes_proxy=dict(service="qdrant"), api_key=KEY,
                                                        expect_peers=1, peer_urls=[s.url]))
    assert failed and "parameters are mutually exclusive: peer_urls|kubernetes_proxy" in result["msg"]
    failed, result = run_module(qdrant_check.main, dict(url=s.url, api_key=KEY, expect_peers=1,
                                                        peer_urls=["ftp://x"]))
    assert failed and result["msg"].startswith("peer_urls: url must start with http:// or https://")


def test_a_pending_pod_without_an_ip_is_named_with_its_phase(run_module, tmp_path):
    """kube-apiserver's pod ResourceLocation answers 400 "address not allowed" for a pod without an IP."""
    with proxied_cluster(tmp_path, api_key=KEY) as cluster:
        cluster.emu.set_status("v1", "Pod", "qdrant", "qdrant-1", {"phase": "Pending", "podIP": None})
        failed, result = run_module(qdrant_check.main, proxy_args(cluster))
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    assert "not ready: qdrant-1 (pod phase Pending): HTTP 400 from the Kubernetes API server: address not allowed" \
        in by_name(result)["cluster_peers_ready"]["observed"]


def test_peers_are_listed_by_ordinal_as_numbers(run_module, tmp_path):
    # issue 20 point 8: a string sort put qdrant-10 before qdrant-2
    with proxied_cluster(tmp_path, peers=11, api_key=KEY) as cluster:
        failed, result = run_module(qdrant_check.main, proxy_args(cluster, peers=11, wait_timeout=5))
    assert not failed, result.get("msg")
    assert by_name(result)["cluster_peers_ready"]["observed"] == "11 of 11 peers ready: %s" % ", ".join(
        "qdrant-%d" % i for i in range(11))


def test_raft_peer_ids_are_listed_as_numbers():
    peers = {"10": {"uri": "http://qdrant-10.h:6335/"}, "9": {"uri": "http://qdrant-9.h:6335/"},
             "100": {"uri": "http://qdrant-1.h:6335/"}}
    assert qdrant_check._peer_list(peers).startswith("9 (http://qdrant-9.h:6335/), 10 (")


def test_a_pod_the_api_server_cannot_reach_in_time_names_the_network_policy(run_module, tmp_path):
    # kube-apiserver's proxy answers 503 with this Status when its dial to the pod times out (a NetworkPolicy that
    # drops the API server's packets): issue 20 point 6
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503, "reason": "ServiceUnavailable",
              "message": "error trying to reach service: dial tcp 10.244.0.12:6333: i/o timeout"}
    with proxied_cluster(tmp_path, api_key=KEY) as cluster:
        cluster.emu.inject_fault("GET", "/pods/http:qdrant-2:6333/proxy/readyz$", status=503, count=None,
                                 body=status)
        failed, result = run_module(qdrant_check.main, proxy_args(cluster))
    assert failed and result["failed_checks"] == ["cluster_peers_ready"]
    observed = by_name(result)["cluster_peers_ready"]["observed"]
    assert ("qdrant-2: HTTP 503 from the Kubernetes API server: error trying to reach service: dial tcp "
            "10.244.0.12:6333: i/o timeout: the Kubernetes API server got no answer from the Qdrant pod: most likely "
            "the ingress NetworkPolicy (<qdrant_name>-ingress) does not admit the API server; give its addresses in "
            "qdrant_network_policy_api_server_cidrs") in observed
