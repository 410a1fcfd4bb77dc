"""qdrant_snapshot in cluster mode: one collection snapshot per peer, as Qdrant's documentation asks ("in a
distributed setup ... you must create snapshots for each node separately"), because a collection snapshot holds only
the shards local to the peer that answers (Qdrant v1.19.0 lib/collection/src/collection/snapshots.rs
create_snapshot) and a recovery restores only the shards local to the recovering peer
(lib/storage/src/content_manager/snapshots/recover.rs _do_recover_from_snapshot). The stand-ins of one cluster share
collections and keep each point on its shard's peer (QdrantStandin.join_cluster)."""
import json

import pytest

from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_snapshot
from proxied_qdrant import isolate_kubernetes_client, proxied_cluster

KEY = "unit-cluster-snap-key-3a7f0c21"
POINTS = [{"id": i, "vector": [0.1 * i, 0.2], "payload": {"sku": "p-%d" % i}} for i in range(1, 301)]
FAQ = [{"id": "0f3b1c9e-2a51-4f3f-9b8e-1d2c3b4a5f60", "vector": [1.0, 0.0], "payload": {"q": "why"}},
       {"id": 7, "vector": [0.0, 1.0], "payload": {"q": "how"}}]


def make_cluster(standin_factory, peers=3):
    standins = [standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=peers) for _i in range(peers)]
    for s in standins:
        s.join_cluster(standins)
    return standins


@pytest.fixture
def source(standin_factory):
    standins = make_cluster(standin_factory)
    standins[0].cluster_upsert("products", POINTS)
    standins[0].cluster_upsert("faq", FAQ)
    return standins


def args(standins, path, **extra):
    out = dict(url=standins[0].url, peer_urls=[s.url for s in standins], api_key=KEY, path=str(path),
               state="backup", timeout=5)
    out.update(extra)
    return out


def creates(standins):
    return [(i, r[1]) for i, s in enumerate(standins) for r in s.requests
            if r[0] == "POST" and r[1].endswith("/snapshots")]


def all_points(standins, name):
    out = {}
    for s in standins:
        out.update(s.points(name) or {})
    return out


def test_backup_takes_one_snapshot_per_peer_each_with_that_peers_shards(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path))
    assert not failed, result.get("msg")
    products = dict((c["name"], c) for c in result["collections"])["products"]
    assert products["action"] == "snapshotted" and products["points"] == 300
    assert [p["peer"] for p in products["peers"]] == [s.url for s in source]
    assert sorted(creates(source)) == sorted((i, "/collections/%s/snapshots" % n)
                                             for i in range(3) for n in ("products", "faq"))
    manifest = json.loads((tmp_path / "manifest.json").read_text())["collections"]["products"]
    assert manifest["cluster_peers"] == 3 and len(manifest["peers"]) == 3
    ids = []
    for i, peer in enumerate(manifest["peers"]):
        data = (tmp_path / ("products.peer-%d.snapshot" % i)).read_bytes()
        doc = json.loads(data)  # the stand-in's archive: only this peer's local shard points
        assert sorted(str(p["id"]) for p in doc["points"]) == sorted(source[i].points("products"))
        assert peer["snapshot"].startswith("products-%d-" % (1000 + i))  # the peer id /cluster reports
        ids += [p["id"] for p in doc["points"]]
    assert sorted(ids) == list(range(1, 301)) and all(len(source[i].points("products")) < 300 for i in range(3))
    assert all(not s._state.snapshots.get("products") for s in source)  # deleted on every peer after the download

    # second run: the data did not change, nothing is snapshotted again
    failed, again = run_module(qdrant_snapshot.main, args(source, tmp_path))
    assert not failed and again["changed"] is False
    assert [c["action"] for c in again["collections"]] == ["unchanged", "unchanged"]
    assert len(creates(source)) == 6


def test_check_mode_backup_creates_nothing(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, dict(args(source, tmp_path / "b"), _ansible_check_mode=True))
    assert not failed and result["changed"] is True
    assert [c["action"] for c in result["collections"]] == ["would_snapshot", "would_snapshot"]
    assert creates(source) == [] and not (tmp_path / "b").exists()


def test_restore_into_a_fresh_cluster_peer_by_peer_is_verified(run_module, source, standin_factory, tmp_path):
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path))[0]
    target = make_cluster(standin_factory)
    failed, result = run_module(qdrant_snapshot.main, dict(args(target, tmp_path, state="restore"),
                                                           _ansible_check_mode=True))
    assert not failed and [c["action"] for c in result["collections"]] == ["would_restore", "would_restore"]
    assert [s._state.restores for s in target] == [[]] * 3 and target[0].collections == []
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, state="restore"))
    assert not failed, result.get("msg")
    assert [(c["name"], c["action"], c["verified"]) for c in result["collections"]] == [
        ("faq", "restored", True), ("products", "restored", True)]
    assert all_points(target, "products") == all_points(source, "products")
    assert [s._state.restores for s in target] == [[("faq", "snapshot"), ("products", "snapshot")]] * 3
    failed, again = run_module(qdrant_snapshot.main, args(target, tmp_path, state="restore"))
    assert not failed and again["changed"] is False
    assert [c["action"] for c in again["collections"]] == ["unchanged", "unchanged"]


def test_restore_to_peers_in_another_order_is_complete(run_module, source, standin_factory, tmp_path):
    """A recovering peer installs every shard the snapshot has data for and, with priority=snapshot, the other
    replicas are removed (recover.rs): the peers' order does not matter."""
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path))[0]
    target = make_cluster(standin_factory)
    failed, result = run_module(qdrant_snapshot.main, dict(args(target, tmp_path, state="restore",
                                                                collections=["products"]),
                                                           peer_urls=[s.url for s in reversed(target)]))
    assert not failed, result.get("msg")
    assert result["collections"][0]["verified"] is True
    assert all_points(target, "products") == all_points(source, "products")
    assert sorted(target[2].points("products")) == sorted(source[0].points("products"))  # peer 0's shard on peer 2


# --- issue 20, point 5: cluster restore as Qdrant recovers ---------------------------------------------------------

def test_a_single_node_backup_restores_into_a_cluster(run_module, standin_factory, tmp_path):
    """Was refused (and roles/qdrant/tasks/cluster.yml told users to upload it by hand)."""
    single = standin_factory(api_key=KEY)
    single.upsert("products", POINTS)
    assert not run_module(qdrant_snapshot.main, dict(url=single.url, api_key=KEY, path=str(tmp_path),
                                                     state="backup"))[0]
    target = make_cluster(standin_factory)
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, state="restore"))
    assert not failed, result.get("msg")
    assert result["collections"][0]["action"] == "restored" and result["collections"][0]["verified"] is True
    assert all_points(target, "products") == single.points("products")
    assert [s._state.restores for s in target] == [[("products", "snapshot")], [], []]
    assert all(not s._state.snapshots.get("products") for s in target)  # the uploaded file was deleted


def test_verification_waits_for_the_replicas_to_settle(run_module, source, standin_factory, tmp_path):
    """The recovery's replica changes are Raft proposals applied asynchronously (toc/snapshots.rs)."""
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))[0]
    slow = [standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=3, replica_settle_seconds=1.5)
            for _i in range(3)]
    for s in slow:
        s.join_cluster(slow)
    failed, result = run_module(qdrant_snapshot.main, args(slow, tmp_path, state="restore", settle_timeout=0.3))
    assert failed
    assert "the data read back differs from the backup (0 points read, 2 expected) after waiting 0.3 s for the " \
        "replicas to settle" in result["msg"]
    again = make_cluster(standin_factory)
    for s in again:
        s.config.replica_settle_seconds = 1.5
    failed, result = run_module(qdrant_snapshot.main, args(again, tmp_path, state="restore", settle_timeout=30))
    assert not failed, result.get("msg")
    assert result["collections"][0]["verified"] is True


def test_a_cluster_restore_over_existing_data_saves_each_peer_first(run_module, source, tmp_path):
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["products"]))[0]
    source[0].cluster_upsert("products", [{"id": 1000, "vector": [1.0, 1.0], "payload": {"sku": "late"}}])
    for s in source:
        s.config.lossy_recoveries = 1
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, state="restore", settle_timeout=2))
    assert failed and "differs from the backup" in result["msg"]
    assert "The collection was put back from the snapshot saved before the restore" in result["msg"]
    assert "1000" in all_points(source, "products") and len(all_points(source, "products")) == 301
    saved = [d for d in (tmp_path).iterdir() if d.name.startswith("pre-restore-")]
    assert len(saved) == 1 and sorted(p.name for p in saved[0].iterdir()) == [
        "manifest.json", "products.peer-0.snapshot", "products.peer-1.snapshot", "products.peer-2.snapshot"]


def test_cluster_without_peer_addresses_is_refused(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, dict(url=source[0].url, api_key=KEY, path=str(tmp_path),
                                                           state="backup"))
    assert failed and "cluster mode with 3 peers" in result["msg"] and "Give peer_urls" in result["msg"]
    failed, result = run_module(qdrant_snapshot.main, dict(args(source, tmp_path), peer_urls=[source[0].url]))
    assert failed and "3 peers but 1 peer address(es) were found" in result["msg"]
    assert creates(source) == []


def test_single_node_and_cluster_backups_cross_over_as_qdrant_allows(run_module, source, standin_factory, tmp_path):
    single = standin_factory(api_key=KEY)
    single.upsert("faq", FAQ)
    assert not run_module(qdrant_snapshot.main, dict(url=single.url, api_key=KEY, path=str(tmp_path / "single"),
                                                     state="backup"))[0]
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path / "single", state="restore"))
    # the cluster's faq has 3 shards, the single node's 1: Qdrant would answer 400, refused before the upload
    assert failed and "collection faq exists with shard_number 3 but snapshot" in result["msg"]
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path / "cluster"))[0]
    assert all(s._state.restores == [] for s in source + [single])
    # a cluster backup into a single node: it holds every shard and recovers each peer's in turn (recover.rs)
    failed, result = run_module(qdrant_snapshot.main, dict(url=single.url, api_key=KEY, path=str(tmp_path / "cluster"),
                                                           state="restore", collections=["products"]))
    assert not failed, result.get("msg")
    assert result["collections"][0]["verified"] is True and single.points("products") == all_points(source, "products")
    assert single._state.restores == [("products", "snapshot")] * 3 and single._state.snapshots["products"] == {}


def test_per_shard_is_refused_naming_what_is_supported(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, per_shard=True))
    assert failed and "shard snapshots (/collections/{name}/shards/{shard}/snapshots) are not supported" \
        in result["msg"] and "one collection snapshot per peer" in result["msg"]


def test_backup_and_restore_through_the_pod_proxy(run_module, tmp_path, monkeypatch):
    isolate_kubernetes_client(monkeypatch, tmp_path)
    with proxied_cluster(tmp_path / "src", api_key=KEY) as src, proxied_cluster(tmp_path / "dst", api_key=KEY) as dst:
        (tmp_path / "src").mkdir(exist_ok=True)
        (tmp_path / "dst").mkdir(exist_ok=True)
        src.standin.cluster_upsert("products", POINTS)

        def proxy_args(c, **extra):
            return dict(kubernetes_proxy=dict(kubeconfig=c.token_kubeconfig(), namespace="qdrant", service="qdrant"),
                        api_key=KEY, path=str(tmp_path / "backup"), timeout=5, **extra)
        failed, result = run_module(qdrant_snapshot.main, proxy_args(src, state="backup"))
        assert not failed, result.get("msg")
        assert [p["peer"] for p in result["collections"][0]["peers"]] == ["qdrant-0", "qdrant-1", "qdrant-2"]
        assert any("/pods/http:qdrant-2:6333/proxy/collections/products/snapshots" in p
                   for _m, p in src.pod_proxy_requests())
        failed, result = run_module(qdrant_snapshot.main, proxy_args(dst, state="restore"))
        assert not failed, result.get("msg")
        assert result["collections"][0]["verified"] is True
        assert all_points(dst.standins, "products") == all_points(src.standins, "products")
