"""Tags: every documented tag (README "Tags"), given to ``--tags`` or ``--skip-tags`` alone or combined, either
works or is refused before anything is written; no combination rotates the API key.

The bug this guards against: ``--skip-tags qdrant_preflight`` skipped the tasks that read the current key, so the
secrets role generated a NEW key, wrote it into the Secret and then crashed in the storage role; the pod kept the
old key. Now the roles refuse ``--skip-tags qdrant_preflight`` first (roles/common/tasks/guard.yml) and the
secrets role refuses to choose a key it has not read (roles/secrets/tasks/manifests.yml).

``TAG_CASES`` is counted for the README reliability section (scripts/gen_reliability_docs.py).
"""
import base64
import os

import pytest

from test_site_playbook import MANAGED, NS, SECRET, KEY_FIELD, _applied_writes, _failure_text, _snapshot

REFUSAL = "--skip-tags qdrant_preflight is refused"

# (id, ansible-playbook arguments, expected outcome) against a converged instance:
#   "refused"  rc != 0 naming the refusal, no write at all;
#   "no-write" rc 0, no write request (reads, dry checks, qdrant_check's harmless probe through the proxy);
#   "same"     rc 0, changed=0, every managed object unchanged (server-side apply may PATCH without a change).
TAG_CASES = [
    ("skip_preflight", ["--skip-tags", "qdrant_preflight"], "refused"),
    ("skip_preflight_and_verify", ["--skip-tags", "qdrant_preflight,qdrant_verify"], "refused"),
    ("skip_preflight_and_render", ["--skip-tags", "qdrant_render,qdrant_preflight"], "refused"),
    ("apply_skip_preflight", ["--tags", "qdrant_apply", "--skip-tags", "qdrant_preflight"], "refused"),
    ("only_preflight", ["--tags", "qdrant_preflight"], "no-write"),
    ("only_render_without_render_dir", ["--tags", "qdrant_render"], "no-write"),
    ("skip_apply", ["--skip-tags", "qdrant_apply"], "no-write"),
    ("only_apply", ["--tags", "qdrant_apply"], "same"),
    ("preflight_and_apply", ["--tags", "qdrant_preflight,qdrant_apply"], "same"),
    ("skip_verify", ["--skip-tags", "qdrant_verify"], "same"),
    ("skip_render", ["--skip-tags", "qdrant_render"], "same"),
]

# The same on an empty cluster, where a wrong slice would write a first key and leave the rest undone.
COLD_TAG_CASES = [
    ("cold_skip_preflight", ["--skip-tags", "qdrant_preflight"], "refused"),
    ("cold_only_preflight", ["--tags", "qdrant_preflight"], "no-write"),
    # Nothing deployed yet: the wait fails (short timeout) and nothing is written.
    ("cold_only_verify", ["--tags", "qdrant_verify", "-e", "qdrant_wait_timeout=2"], "failed-no-write"),
]


def _key(cluster):
    secret = cluster.get("v1", "Secret", SECRET)
    return None if secret is None else base64.b64decode(secret["data"][KEY_FIELD]).decode()


@pytest.fixture(scope="module")
def deployed(local_cluster):
    run = local_cluster.run()
    assert run.rc == 0, run.tail()
    return _key(local_cluster)


def _assert_outcome(cluster, run, expected, case_id):
    writes = _applied_writes(cluster)
    if expected == "refused":
        assert run.rc != 0, "%s was not refused:\n%s" % (case_id, run.tail())
        assert REFUSAL in _failure_text(run), run.tail()
        assert writes == [], "%s wrote before the refusal: %s" % (case_id, writes)
    elif expected == "failed-no-write":
        assert run.rc != 0, run.tail()
        assert writes == [], "%s wrote: %s" % (case_id, writes)
    elif expected == "no-write":
        assert run.rc == 0, run.tail()
        assert writes == [], "%s wrote: %s" % (case_id, writes)
    else:
        assert run.rc == 0, run.tail()
        assert run.recap["changed"] == 0, (case_id, run.recap)


@pytest.mark.parametrize("case_id, args, expected", TAG_CASES, ids=[c[0] for c in TAG_CASES])
def test_tag_slice_on_a_deployed_instance_keeps_the_key(local_cluster, deployed, case_id, args, expected):
    before = _snapshot(local_cluster)
    local_cluster.emu.reset_requests()
    run = local_cluster.run(*args)
    _assert_outcome(local_cluster, run, expected, case_id)
    assert _key(local_cluster) == deployed, "%s rotated the API key" % case_id
    assert _snapshot(local_cluster) == before, "%s changed objects" % case_id


@pytest.mark.parametrize("case_id, args, expected", COLD_TAG_CASES, ids=[c[0] for c in COLD_TAG_CASES])
def test_tag_slice_on_an_empty_cluster_writes_nothing_or_works(make_local_cluster, case_id, args, expected):
    cluster = make_local_cluster()
    run = cluster.run(*args)
    _assert_outcome(cluster, run, expected, case_id)
    assert cluster.objects_in(NS) == [], "%s created %s" % (case_id, cluster.objects_in(NS))


def test_only_apply_on_an_empty_cluster_writes_the_key_once(make_local_cluster):
    """``--tags qdrant_apply`` deploys without verifying; the key it writes first is the one every later run keeps."""
    cluster = make_local_cluster()
    run = cluster.run("--tags", "qdrant_apply")
    assert run.rc == 0, run.tail()
    assert "is ready and its authentication holds" not in run.output, "qdrant_verify ran under --tags qdrant_apply"
    for api_version, kind, name in MANAGED:
        assert cluster.get(api_version, kind, name) is not None, "%s %s missing" % (kind, name)
    key = _key(cluster)
    run = cluster.run("--skip-tags", "qdrant_preflight")
    assert run.rc != 0 and REFUSAL in _failure_text(run), run.tail()
    run = cluster.run()
    assert run.rc == 0, run.tail()
    assert "is ready and its authentication holds" in run.output, run.tail()
    assert _key(cluster) == key, "the key written by --tags qdrant_apply was replaced"


def test_skip_preflight_in_render_mode_writes_no_file(make_local_cluster, tmp_path):
    cluster = make_local_cluster()
    out = tmp_path / "render"
    run = cluster.run("-e", "qdrant_render_dir=%s" % out, "--skip-tags", "qdrant_preflight")
    assert run.rc != 0 and REFUSAL in _failure_text(run), run.tail()
    assert not out.exists() or os.listdir(str(out)) == [], os.listdir(str(out))
    assert cluster.emu.requests == [] or _applied_writes(cluster) == []
