"""playbooks/backup.yml and playbooks/restore.yml end to end on the local cluster (emulator + stand-in): the key
comes from the Secret site.yml created, Qdrant is reached through the API server's service proxy, the snapshots
land on the controller with verified checksums, a second backup changes nothing, a restore brings deleted data
back, and -vvv never shows the key."""
import base64
import json
import os

SECRET = "app-qdrant-api-key"
KEY_FIELD = "QDRANT__SERVICE__API_KEY"


def test_backup_then_restore_through_the_playbooks(make_local_cluster, tmp_path):
    cluster = make_local_cluster()
    converge = cluster.run()
    assert converge.rc == 0, converge.tail()
    key = base64.b64decode(cluster.get("v1", "Secret", SECRET)["data"][KEY_FIELD]).decode()
    cluster.standin.upsert("faq", [{"id": 1, "vector": [1.0, 0.0], "payload": {"q": "why"}},
                                   {"id": 2, "vector": [0.0, 1.0], "payload": {"q": "how"}}])
    cluster.standin.upsert("products", [{"id": 10, "vector": [0.5, 0.5], "payload": {"sku": "a"}}])
    dest = tmp_path / "backup"

    backup = cluster.run("-e", "qdrant_snapshot_dir=%s" % dest, playbook="playbooks/backup.yml", verbosity=3)
    assert backup.rc == 0, backup.tail()
    assert backup.recap["changed"] == 1 and backup.recap["failed"] == 0
    assert key not in backup.output
    assert "- 'faq: snapshotted'\n    - 'products: snapshotted'" in backup.output
    manifest = json.loads((dest / "manifest.json").read_text())
    assert sorted(manifest["collections"]) == ["faq", "products"]
    assert sorted(os.listdir(dest)) == ["faq.snapshot", "manifest.json", "products.snapshot"]

    again = cluster.run("-e", "qdrant_snapshot_dir=%s" % dest, playbook="playbooks/backup.yml")
    assert again.rc == 0 and again.recap["changed"] == 0, again.tail()
    assert "- 'faq: unchanged'\n    - 'products: unchanged'" in again.output

    cluster.standin._state.collections.pop("faq")  # data lost
    check = cluster.run("-e", "qdrant_snapshot_dir=%s" % dest, "-e", '{"qdrant_snapshot_collections": ["faq"]}',
                        playbook="playbooks/restore.yml", check=True)
    assert check.rc == 0 and check.recap["changed"] == 1, check.tail()
    assert "faq" not in cluster.standin.collections
    restore = cluster.run("-e", "qdrant_snapshot_dir=%s" % dest, playbook="playbooks/restore.yml", verbosity=3)
    assert restore.rc == 0, restore.tail()
    assert key not in restore.output
    assert "- 'faq: restored'\n    - 'products: unchanged'" in restore.output
    assert cluster.standin.points("faq") == {"1": {"q": "why"}, "2": {"q": "how"}}

    # Issue 20, point 3: a restore whose data differs from the backup fails the play (it was `verified: false`
    # with rc 0) and puts back the collection it replaced, saved first on the controller.
    cluster.standin.upsert("faq", [{"id": 3, "vector": [1.0, 1.0], "payload": {"q": "after the backup"}}])
    cluster.misconfigure(lossy_recoveries=1)
    lossy = cluster.run("-e", "qdrant_snapshot_dir=%s" % dest, "-e", '{"qdrant_snapshot_collections": ["faq"]}',
                        playbook="playbooks/restore.yml")
    assert lossy.rc != 0 and lossy.recap["failed"] == 1, lossy.tail()
    out = " ".join(lossy.output.split())
    assert "the data read back differs from the backup (1 points read, 2 expected)" in out
    assert "The collection was put back from the snapshot saved before the restore" in out
    assert cluster.standin.points("faq")["3"] == {"q": "after the backup"}
    assert [d for d in os.listdir(dest) if d.startswith("pre-restore-")]


def test_backup_without_a_directory_fails_naming_the_variable(make_local_cluster):
    cluster = make_local_cluster()
    run = cluster.run(playbook="playbooks/backup.yml")
    assert run.rc != 0
    assert "Set qdrant_snapshot_dir" in run.output


def _backing_volume(pod, container, path):
    """The volume under ``path`` in the container: the mount with the longest mountPath that contains it."""
    mounts = [m for m in container["volumeMounts"] if path == m["mountPath"] or path.startswith(m["mountPath"] + "/")]
    mount = max(mounts, key=lambda m: len(m["mountPath"]), default=None)
    assert mount is not None, "%s is on the read-only root filesystem" % path
    return dict((v["name"], v) for v in pod["volumes"])[mount["name"]]


def test_every_path_qdrant_writes_snapshot_data_to_is_on_the_data_volume(make_local_cluster):
    """Issue 20, point 1. Qdrant v1.19.0 writes snapshot data to: the snapshots directory (storage.snapshots_path,
    default /qdrant/snapshots), the archive while it is made and the spooled uploads under TEMP_PATH if set, else
    snapshots/tmp and snapshots/tmp/upload; the unpacked recovery under TEMP_PATH, else storage/tmp
    (lib/storage/src/content_manager/toc/temp_directories.rs). A 2Gi emptyDir there got the pod evicted mid-way."""
    cluster = make_local_cluster()
    converge = cluster.run()
    assert converge.rc == 0, converge.tail()
    pod = cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = dict((e["name"], e.get("value")) for e in container.get("env", []))
    snapshots = env.get("QDRANT__STORAGE__SNAPSHOTS_PATH", "/qdrant/snapshots")
    temp = env.get("QDRANT__STORAGE__TEMP_PATH")
    paths = [snapshots] + ([temp + "/tmp", temp + "/tmp/upload"] if temp else
                           [snapshots + "/tmp", snapshots + "/tmp/upload", "/qdrant/storage/tmp"])
    data = _backing_volume(pod, container, "/qdrant/storage")
    assert data["persistentVolumeClaim"]["claimName"] == "qdrant-storage"
    for path in paths:
        assert _backing_volume(pod, container, path) == data, path
    again = cluster.run()
    assert again.rc == 0 and again.recap["changed"] == 0, again.tail()


def test_a_deployment_with_snapshots_on_emptydirs_upgrades_cleanly(make_local_cluster):
    """What earlier versions applied (snapshots on a 20Gi emptyDir, QDRANT__STORAGE__TEMP_PATH=/tmp on a 2Gi one)
    becomes the new layout in one run, with the PVC kept as it is; the run after changes nothing."""
    cluster = make_local_cluster()
    assert cluster.run().rc == 0
    pvc = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")
    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    spec = json.loads(json.dumps(dep["spec"]))
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    container["env"] = [dict(e, name="QDRANT__STORAGE__TEMP_PATH", value="/tmp")
                        if e["name"] == "QDRANT__STORAGE__SNAPSHOTS_PATH" else e for e in container["env"]]
    container["volumeMounts"].append({"name": "snapshots", "mountPath": "/qdrant/snapshots"})
    pod["volumes"].append({"name": "snapshots", "emptyDir": {"sizeLimit": "20Gi"}})
    old = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec,
           "metadata": {"name": "qdrant", "namespace": "qdrant", "labels": dep["metadata"].get("labels", {}),
                        "annotations": dep["metadata"].get("annotations", {})}}
    emu = cluster.emu
    emu.cluster.patch(emu._rt("apps/v1", "Deployment"), "qdrant", "qdrant", json.dumps(old).encode(),
                      "application/apply-patch+yaml", field_manager="peekoff.qdrant", force=True)
    stored = cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["spec"]
    assert {"name": "snapshots", "emptyDir": {"sizeLimit": "20Gi"}} in stored["volumes"]

    upgrade = cluster.run()
    assert upgrade.rc == 0 and upgrade.recap["changed"] >= 1, upgrade.tail()
    pod = cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["spec"]
    env = dict((e["name"], e.get("value")) for e in pod["containers"][0]["env"])
    assert "QDRANT__STORAGE__TEMP_PATH" not in env and env["QDRANT__STORAGE__SNAPSHOTS_PATH"] == "/qdrant/storage/snapshots"
    assert [v["name"] for v in pod["volumes"] if v["name"] == "snapshots"] == []
    after = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")
    assert after["metadata"]["uid"] == pvc["metadata"]["uid"] and after["spec"] == pvc["spec"]
    again = cluster.run()
    assert again.rc == 0 and again.recap["changed"] == 0, again.tail()
