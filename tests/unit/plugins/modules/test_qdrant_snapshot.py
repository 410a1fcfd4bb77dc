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
    # Qdrant refuses an upload in its access extractor, in plain text (tests/fixtures/qdrant-1.19.0)
    assert "restore faq from" in result["msg"] and "HTTP 403 (text/plain) 'Forbidden: Global manage access is " \
        "required'" in result["msg"]


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
