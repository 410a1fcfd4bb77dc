"""Interrupted runs and concurrency.

- A cold converge is killed (SIGKILL to ansible-playbook's process group) right after its N-th write reaches the
  API server, for each N in ``INTERRUPTIONS``: between the Secret and the PVC, after the PVC, in the middle of the
  qdrant role's objects, before the route. A plain re-run converges to the same objects as an uninterrupted
  converge, with the key that was written first and the PVC that was created first.
- Two converges of the same instance started at once end in one set of objects and one key, which a third run
  keeps and verifies.

``INTERRUPTIONS`` is counted for the README reliability section (scripts/gen_reliability_docs.py).
"""
import base64
import os
import signal
import subprocess
import time

import pytest

from test_site_playbook import NS, SECRET, KEY_FIELD, _applied_writes

# Kill after this many applied writes (a cold converge sends 8: Namespace+Secret, PVC,
# Deployment+Service+2 NetworkPolicies, HTTPRoute; the Namespace is applied once, by the secrets role):
# between the Secret and the PVC, after the PVC, in the middle of the qdrant role's objects, before the route.
INTERRUPTIONS = [2, 3, 5, 7]


def _objects(cluster):
    return [(g, p, "<pod>" if p in ("pods", "replicasets") else n) for g, p, n in cluster.objects_in(NS)]


def _key(cluster):
    secret = cluster.get("v1", "Secret", SECRET)
    return None if secret is None else base64.b64decode(secret["data"][KEY_FIELD]).decode()


def _pvc_uid(cluster):
    pvc = cluster.get("v1", "PersistentVolumeClaim", "qdrant-storage")
    return None if pvc is None else pvc["metadata"]["uid"]


def _start(cluster):
    # tests/pytest/conftest.py's helpers, found through the cluster (a plain "import conftest" may get tests/unit's)
    conf = type(cluster).run.__globals__  # the defining module's namespace
    return subprocess.Popen([conf["ansible_playbook_exe"](), "site.yml"] + list(conf["LOCAL_VARS"]), cwd=conf["ROOT"],
                            env=cluster.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.fixture(scope="module")
def reference_objects(local_cluster):
    run = local_cluster.run()
    assert run.rc == 0, run.tail()
    return _objects(local_cluster)


@pytest.mark.parametrize("writes", INTERRUPTIONS, ids=["killed_after_write_%d" % n for n in INTERRUPTIONS])
def test_rerun_after_a_killed_converge_converges_with_the_first_key(make_local_cluster, reference_objects, writes):
    cluster = make_local_cluster()
    proc = _start(cluster)
    deadline = time.monotonic() + 300
    try:
        while len(_applied_writes(cluster)) < writes and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(_applied_writes(cluster)) >= writes, "the converge ended before write %d" % writes
    key, pvc_uid = _key(cluster), _pvc_uid(cluster)
    if writes >= 2:
        assert key is not None, "no Secret after %d writes" % writes

    run = cluster.run()
    assert run.rc == 0, run.tail()
    assert "is ready and its authentication holds" in run.output, run.tail()
    assert _objects(cluster) == reference_objects
    if key is not None:
        assert _key(cluster) == key, "the re-run replaced the key the interrupted run had written"
    if pvc_uid is not None:
        assert _pvc_uid(cluster) == pvc_uid, "the re-run replaced the PVC"


def test_two_converges_at_once_end_in_one_set_of_objects_and_one_key(make_local_cluster, reference_objects):
    cluster = make_local_cluster()
    procs = [_start(cluster), _start(cluster)]
    try:
        codes = [p.wait(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    assert 0 in codes, "neither concurrent converge succeeded: %s" % codes
    assert _objects(cluster) == reference_objects
    key = _key(cluster)
    run = cluster.run()
    assert run.rc == 0, run.tail()
    assert "is ready and its authentication holds" in run.output, run.tail()
    assert _key(cluster) == key, "a run after the concurrent ones rotated the key"
    assert _objects(cluster) == reference_objects
