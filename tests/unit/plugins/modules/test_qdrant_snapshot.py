"""qdrant_snapshot against the Qdrant stand-in: backup, unchanged second backup, restore into a second instance,
checksums verified both ways, Qdrant's own refusals reported, check mode truthful, cluster mode without peer
addresses refused (test_qdrant_snapshot_cluster.py has the per-peer cluster mode).

The stand-in's snapshot endpoints follow Qdrant v1.19.0 src/actix/api/snapshot_api.rs (create_snapshot,
get_snapshot, delete_collection_snapshot, upload_snapshot) and the SnapshotDescription schema of
docs/redoc/master/openapi.json."""
import hashlib
import json
import os

import pytest

from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_snapshot

KEY = "unit-full-key-5f2b8c0e"
RO_KEY = "unit-read-only-key-a81d77"
TARGET_KEY = "unit-target-key-77c2e9d1"

POINTS = {
    "products": [{"id": i, "vector": [0.1 * i, 0.2], "payload": {"sku": "p-%d" % i}} for i in range(1, 2501)],
    "faq": [{"id": "0f3b1c9e-2a51-4f3f-9b8e-1d2c3b4a5f60", "vector": [1.0, 0.0], "payload": {"q": "why"}},
            {"id": 7, "vector": [0.0, 1.0], "payload": {"q": "how"}}],
}


@pytest.fixture
def source(standin_factory):
    s = standin_factory(api_key=KEY, read_only_api_key=RO_KEY)
    for name, points in POINTS.items():
        s.upsert(name, points)
    return s


@pytest.fixture
def target(standin_factory):
    return standin_factory(api_key=TARGET_KEY)


def args(standin, path, key=KEY, **extra):
    out = dict(url=standin.url, api_key=key, path=str(path), state="backup", timeout=5)
    out.update(extra)
    return out


def by_name(result):
    return dict((c["name"], c) for c in result["collections"])


def creates(standin):
    return [r for r in standin.requests if r[0] == "POST" and r[1].endswith("/snapshots")]


def test_backup_downloads_every_collection_with_verified_checksums(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path / "b"))
    assert not failed, result.get("msg")
    assert result["changed"] is True
    items = by_name(result)
    assert sorted(items) == ["faq", "products"]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["format"] == "peekoff.qdrant.snapshots/v1"
    for name, item in items.items():
        assert item["action"] == "snapshotted"
        data = (tmp_path / "b" / (name + ".snapshot")).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["checksum"] == manifest["collections"][name]["checksum"]
        assert item["size"] == len(data)
        assert item["snapshot"].startswith(name + "-5381970470469335-") and item["snapshot"].endswith(".snapshot")
        assert item["points"] == len(POINTS[name])
    # the snapshots were deleted on the server after the verified download (delete_remote default)
    assert not source._state.snapshots["products"] and not source._state.snapshots["faq"]
    assert oct(os.stat(tmp_path / "b").st_mode & 0o777) == "0o700"
    assert oct(os.stat(tmp_path / "b" / "faq.snapshot").st_mode & 0o777) == "0o600"


def test_second_backup_of_unchanged_data_makes_no_snapshot(run_module, source, tmp_path):
    run_module(qdrant_snapshot.main, args(source, tmp_path))
    before = len(creates(source))
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path))
    assert not failed, result.get("msg")
    assert result["changed"] is False
    assert [c["action"] for c in result["collections"]] == ["unchanged", "unchanged"]
    assert len(creates(source)) == before


def test_changed_data_or_a_tampered_file_is_snapshotted_again(run_module, source, tmp_path):
    run_module(qdrant_snapshot.main, args(source, tmp_path))
    source.upsert("faq", [{"id": 7, "vector": [0.0, 1.0], "payload": {"q": "changed"}}])
    (tmp_path / "products.snapshot").write_bytes(b"tampered")
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path))
    assert not failed, result.get("msg")
    assert [by_name(result)[n]["action"] for n in ("faq", "products")] == ["snapshotted", "snapshotted"]
    assert hashlib.sha256((tmp_path / "products.snapshot").read_bytes()).hexdigest() == \
        by_name(result)["products"]["checksum"]


def test_check_mode_predicts_and_writes_nothing(run_module, source, tmp_path):
    dest = tmp_path / "b"
    failed, result = run_module(qdrant_snapshot.main, dict(args(source, dest), _ansible_check_mode=True))
    assert not failed, result.get("msg")
    assert result["changed"] is True
    assert sorted((c["name"], c["action"]) for c in result["collections"]) == [
        ("faq", "would_snapshot"), ("products", "would_snapshot")]
    assert not dest.exists()
    assert creates(source) == []
    run_module(qdrant_snapshot.main, args(source, dest))
    failed, result = run_module(qdrant_snapshot.main, dict(args(source, dest), _ansible_check_mode=True))
    assert result["changed"] is False and {c["action"] for c in result["collections"]} == {"unchanged"}


def test_named_collections_only(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))
    assert not failed, result.get("msg")
    assert [c["name"] for c in result["collections"]] == ["faq"]
    assert sorted(os.listdir(tmp_path)) == ["faq.snapshot", "manifest.json"]


def test_missing_collection_fails_naming_it(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq", "nope"]))
    assert failed
    assert "collection nope does not exist" in result["msg"]
    assert [c["name"] for c in result["collections"]] == ["faq"]  # progress so far is reported (and kept)
    assert "faq" in json.loads((tmp_path / "manifest.json").read_text())["collections"]


def test_restore_into_a_second_instance(run_module, source, target, tmp_path):
    run_module(qdrant_snapshot.main, args(source, tmp_path))
    assert target.collections == []
    restore = args(target, tmp_path, key=TARGET_KEY, state="restore")
    failed, result = run_module(qdrant_snapshot.main, dict(restore, _ansible_check_mode=True))
    assert not failed and result["changed"] is True
    assert {c["action"] for c in result["collections"]} == {"would_restore"} and target.collections == []
    failed, result = run_module(qdrant_snapshot.main, restore)
    assert not failed, result.get("msg")
    assert result["changed"] is True
    assert all(c["action"] == "restored" and c["verified"] for c in result["collections"])
    assert target.collections == ["faq", "products"]
    assert target.points("products") == source.points("products")
    assert target.points("faq")["7"] == {"q": "how"}
    assert target._state.restores == [("faq", "snapshot"), ("products", "snapshot")]
    # Qdrant keeps an uploaded file in the collection's snapshots directory; the module deletes it
    assert target._state.snapshots == {"faq": {}, "products": {}}
    assert not [d for d in os.listdir(tmp_path) if d.startswith("pre-restore-")]  # nothing existed to save
    # again: the target already holds that data
    failed, result = run_module(qdrant_snapshot.main, restore)
    assert not failed and result["changed"] is False
    assert {c["action"] for c in result["collections"]} == {"unchanged"}
    assert len(target._state.restores) == 2


def test_restore_overwrites_changed_data(run_module, source, tmp_path):
    run_module(qdrant_snapshot.main, args(source, tmp_path))
    source.upsert("faq", [{"id": 99, "vector": [1.0, 1.0], "payload": {"q": "added after the backup"}}])
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, state="restore", collections=["faq"]))
    assert not failed, result.get("msg")
    assert by_name(result)["faq"]["action"] == "restored"
    assert "99" not in source.points("faq")


def test_corrupted_download_is_refused_and_not_kept(run_module, standin_factory, tmp_path):
    s = standin_factory(api_key=KEY, corrupt_snapshot_downloads=True)
    s.upsert("faq", POINTS["faq"])
    failed, result = run_module(qdrant_snapshot.main, args(s, tmp_path))
    assert failed
    assert "checksum mismatch: Qdrant reported sha256" in result["msg"] and "the file was not kept" in result["msg"]
    assert [f for f in os.listdir(tmp_path) if f != "manifest.json"] == []
    assert result["changed"] is False


def test_tampered_file_is_refused_before_any_upload(run_module, source, target, tmp_path):
    run_module(qdrant_snapshot.main, args(source, tmp_path))
    with open(tmp_path / "products.snapshot", "ab") as f:
        f.write(b" ")
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore"))
    assert failed
    assert "products.snapshot has sha256" in result["msg"] and "checksum mismatch, nothing was restored" in result["msg"]
    assert target._state.restores == [] and target.collections == []


def test_qdrant_checks_the_upload_checksum_too(run_module, source, target, tmp_path, monkeypatch):
    """upload_snapshot's own check (StorageError::checksum_mismatch, 400): a manifest that lies is caught there."""
    run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    good = manifest["collections"]["faq"]["checksum"]
    monkeypatch.setattr(qdrant_snapshot, "_sha256_file", lambda path: "0" * 64)  # local check passes
    manifest["collections"]["faq"]["checksum"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore"))
    assert failed
    assert "HTTP 400 'Checksum mismatch: expected %s, actual %s'" % (good, "0" * 64) in result["msg"]
    assert target.collections == []


def test_read_only_key_is_refused_with_qdrants_403(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, key=RO_KEY))
    assert failed
    assert "create snapshot of faq: Qdrant answered HTTP 403 'Forbidden: Global manage access is required'" \
        in result["msg"]
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path / "x", key=KEY))
    assert not failed
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path / "x", key=RO_KEY, state="restore",
                                                           force=True))
    assert failed
    # the collection exists, so it is saved first: the read-only key is refused there, before anything changed
    assert "create snapshot of faq: Qdrant answered HTTP 403 'Forbidden: Global manage access is required'" \
        in result["msg"]
    assert source._state.restores == []
    # a collection that does not exist is not saved first: Qdrant refuses the upload in its access extractor, in
    # plain text (recorded: upload_read_only_key, tests/fixtures/qdrant-1.19.0/single-keyed.json)
    source._state.collections.pop("faq")
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path / "x", key=RO_KEY, state="restore",
                                                           force=True))
    assert failed
    assert "restore of collection faq failed: upload of" in result["msg"]
    assert "HTTP 403 (text/plain) 'Forbidden: Global manage access is required'" in result["msg"]
    assert source._state.restores == [] and "faq" not in source.collections


def test_wrong_key_reports_qdrants_401(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, key="not-the-key"))
    assert failed and "HTTP 401" in result["msg"] and "Invalid API key or JWT" in result["msg"]


def test_restore_of_an_unknown_collection_fails_naming_it(run_module, source, tmp_path):
    run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, state="restore",
                                                           collections=["products"]))
    assert failed and "not in" in result["msg"] and "products (it has: faq)" in result["msg"]


def test_restore_needs_a_manifest(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, state="restore"))
    assert failed and "has no manifest.json" in result["msg"]


def test_cluster_mode_is_refused_clearly(run_module, standin_factory, tmp_path):
    s = standin_factory(api_key=KEY, cluster_mode=True, cluster_peers=3)
    s.upsert("faq", POINTS["faq"])
    failed, result = run_module(qdrant_snapshot.main, args(s, tmp_path))
    assert failed and "cluster mode with 3 peers" in result["msg"] and "Give peer_urls" in result["msg"]
    assert creates(s) == []
    failed, result = run_module(qdrant_snapshot.main, args(s, tmp_path, per_shard=True))
    assert failed and "shard snapshots (/collections/{name}/shards/{shard}/snapshots) are not supported" in result["msg"]


def test_plain_http_to_a_remote_host_is_refused(run_module, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, dict(url="http://qdrant.example.com", api_key=KEY,
                                                           path=str(tmp_path), state="backup"))
    assert failed and "plain http://" in result["msg"]


def test_bad_collection_names_are_refused(run_module, source, tmp_path):
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["../etc"]))
    assert failed and "not valid Qdrant collection names: '../etc'" in result["msg"]


# --- issue 20, point 3: a restore over an existing collection keeps a way back; a restore that lies fails ----------

def _backup_then_change(run_module, source, tmp_path):
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))[0]
    source.upsert("faq", [{"id": 99, "vector": [1.0, 1.0], "payload": {"q": "added after the backup"}}])
    return dict(source.points("faq"))


def test_restore_over_an_existing_collection_saves_it_first(run_module, source, tmp_path):
    _backup_then_change(run_module, source, tmp_path)
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, state="restore"))
    assert not failed, result.get("msg")
    item = by_name(result)["faq"]
    assert item["action"] == "restored" and item["verified"] is True
    saved = item["pre_restore"]
    assert os.path.dirname(saved) == str(tmp_path) and os.path.basename(saved).startswith("pre-restore-")
    pre = json.loads(open(os.path.join(saved, "manifest.json")).read())["collections"]["faq"]
    assert pre["points"] == 3  # the collection as it was, with point 99
    assert "99" not in source.points("faq")
    assert source._state.snapshots["faq"] == {}  # the pre-restore snapshot and the uploaded file are deleted


def test_a_failed_recovery_puts_the_collection_back_and_says_so(run_module, source, tmp_path):
    """recover.rs clears the local shard before loading the snapshot; a load that fails leaves it empty."""
    before = _backup_then_change(run_module, source, tmp_path)
    source.config.recovery_load_failures = 1
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, state="restore"))
    assert failed
    assert "restore of collection faq failed: upload of" in result["msg"] and "HTTP 500" in result["msg"]
    assert "The collection was put back from the snapshot saved before the restore" in result["msg"]
    assert "verified: 3 points" in result["msg"]
    assert source.points("faq") == before
    assert result["changed"] is True and result["collections"][0]["action"] == "failed"
    assert source._state.snapshots["faq"] == {}


def test_a_restore_whose_data_differs_from_the_backup_fails(run_module, source, tmp_path):
    """Was `verified: false` with rc 0: a lossy restore passed as a success."""
    before = _backup_then_change(run_module, source, tmp_path)
    source.config.lossy_recoveries = 1
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path, state="restore"))
    assert failed
    assert "the data read back differs from the backup (1 points read, 2 expected)" in result["msg"]
    assert "put back" in result["msg"] and source.points("faq") == before


def test_a_lossy_restore_into_a_new_collection_fails_too(run_module, source, target, tmp_path):
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))[0]
    target.config.lossy_recoveries = 1
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore"))
    assert failed and "differs from the backup" in result["msg"]
    assert "did not exist before this restore" in result["msg"]


def test_an_incompatible_snapshot_is_refused_before_upload(run_module, source, target, tmp_path):
    """recover.rs answers 400 for other vectors or shard_number only after the upload; refused up front here."""
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path))[0]
    target.add_collection("products", params={"vectors": {"size": 3, "distance": "Dot"}})
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore"))
    assert failed
    assert 'collection products exists with vectors {"distance": "Dot", "size": 3} but snapshot' in result["msg"]
    assert '"Snapshot is not compatible with existing collection"' in result["msg"]
    assert "nothing was restored" in result["msg"]
    assert target._state.restores == [] and target.collections == ["products"]
    target.add_collection("faq", params={"vectors": {"size": 2, "distance": "Cosine"}, "shard_number": 2})
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore",
                                                           collections=["faq"]))
    assert failed and "collection faq exists with shard_number 2 but snapshot" in result["msg"]
    assert target._state.restores == []


def test_qdrants_own_400_on_an_incompatible_snapshot(standin_factory, run_module, source, tmp_path, monkeypatch):
    """Where the module cannot read the snapshot's config, Qdrant's 400 comes back and nothing was changed."""
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))[0]
    target = standin_factory(api_key=TARGET_KEY)
    target.add_collection("faq", params={"vectors": {"size": 3, "distance": "Dot"}})
    monkeypatch.setattr(qdrant_snapshot, "_snapshot_params", lambda path: None)
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore"))
    assert failed and "HTTP 400 'Wrong input: Snapshot is not compatible with existing collection" in result["msg"]
    assert "put back" in result["msg"]


# --- issue 20, point 4: GET /cluster that cannot be read ------------------------------------------------------------

def test_cluster_status_behind_a_502_fails_the_backup_after_a_retry(run_module, standin_factory, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setattr(qdrant_snapshot, "CLUSTER_RETRY_DELAY", 0.01)
    s = standin_factory(api_key=KEY, cluster_status_error=502)
    s.upsert("faq", POINTS["faq"])
    failed, result = run_module(qdrant_snapshot.main, args(s, tmp_path))
    assert failed
    assert "GET /cluster answered HTTP 502" in result["msg"] and "(asked 2 times)" in result["msg"]
    assert "cannot tell a cluster (one snapshot per peer) from a single node" in result["msg"]
    assert creates(s) == [] and [r for r in s.requests if r[1] == "/cluster"] == [("GET", "/cluster", 502)] * 2
    # one bad answer: the second attempt reads it and the backup goes on
    s2 = standin_factory(api_key=KEY, cluster_status_error=502, cluster_status_errors=1)
    s2.upsert("faq", POINTS["faq"])
    failed, result = run_module(qdrant_snapshot.main, args(s2, tmp_path / "b"))
    assert not failed, result.get("msg")
    assert result["not_verified"] == []


def test_cluster_status_connection_error_fails_the_backup(run_module, source, tmp_path, monkeypatch):
    monkeypatch.setattr(qdrant_snapshot, "CLUSTER_RETRY_DELAY", 0.01)
    real = qdrant_snapshot.QdrantClient.request

    def request(self, method, path, *a, **kw):
        if path == "/cluster":
            raise qdrant_snapshot.QdrantError("GET %s/cluster: cannot connect: Connection refused" % self.display_url)
        return real(self, method, path, *a, **kw)
    monkeypatch.setattr(qdrant_snapshot.QdrantClient, "request", request)
    failed, result = run_module(qdrant_snapshot.main, args(source, tmp_path))
    assert failed and "cannot connect: Connection refused (asked 2 times)" in result["msg"]
    assert creates(source) == []


def test_a_proxys_403_on_cluster_status_fails(run_module, standin_factory, tmp_path, monkeypatch):
    monkeypatch.setattr(qdrant_snapshot, "CLUSTER_RETRY_DELAY", 0.01)
    s = standin_factory(api_key=KEY, cluster_status_error=403)
    s.upsert("faq", POINTS["faq"])
    failed, result = run_module(qdrant_snapshot.main, args(s, tmp_path))
    assert failed and "GET /cluster answered HTTP 403" in result["msg"] and creates(s) == []


def test_a_key_qdrant_refuses_the_cluster_status_says_what_was_not_verified(run_module, standin_factory, tmp_path):
    from qdrant_standin.server import mint_jwt
    s = standin_factory(api_key=KEY, jwt_rbac=True)
    s.upsert("faq", POINTS["faq"])
    token = mint_jwt(KEY, {"access": [{"collection": "faq", "access": "rw"}]})
    failed, result = run_module(qdrant_snapshot.main, args(s, tmp_path, key=token, collections=["faq"]))
    assert not failed, result.get("msg")
    assert by_name(result)["faq"]["action"] == "snapshotted"
    assert len(result["not_verified"]) == 1
    assert "GET /cluster answered Qdrant's own HTTP 403 'Forbidden: Global access is required'" \
        in result["not_verified"][0]
    assert "could not check whether Qdrant runs as a cluster" in result["not_verified"][0]


def test_a_restore_over_a_collection_with_other_config_is_verified_on_the_data(run_module, source, target, tmp_path):
    """recover.rs keeps the existing collection's config apart from vectors and shard_number: the data decides."""
    assert not run_module(qdrant_snapshot.main, args(source, tmp_path, collections=["faq"]))[0]
    target.add_collection("faq", params={"vectors": {"size": 2, "distance": "Cosine"}, "on_disk_payload": True})
    target.upsert("faq", [{"id": 5, "vector": [0.5, 0.5], "payload": {"q": "old"}}])
    failed, result = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore"))
    assert not failed, result.get("msg")
    assert by_name(result)["faq"]["verified"] is True and target.points("faq") == source.points("faq")
    failed, again = run_module(qdrant_snapshot.main, args(target, tmp_path, key=TARGET_KEY, state="restore"))
    assert not failed and again["changed"] is False and by_name(again)["faq"]["action"] == "unchanged"
