"""Hold the stand-in and the modules to a real Qdrant's recorded answers (tests/fixtures/qdrant-*/, made by
scripts/record_qdrant.py from a Qdrant built from source; see the README there).

* Replay: the stand-in, configured like the recorded server, gets every recorded request in the recorded order and
  must answer each with the same status, the same Content-Type (or none) and the same body, ids, timings, sizes
  and archive checksums aside (tests/support/qdrant_recording.py normalizes both sides the same way). Requests made
  while the real server started or peers joined are not replayed (the stand-in's start-up is tested elsewhere).
* Judging: qdrant_check's and qdrant_snapshot's classification code judges every recorded answer as it should (a
  refusal recorded from Qdrant is Qdrant's own refusal, an accepted credential is accepted, a failed upload fails).
"""
import glob
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for p in (os.path.join(ROOT, "tests", "support"), os.path.join(ROOT, ".collections")):
    if p not in sys.path:
        sys.path.insert(0, p)

from qdrant_recording import Context, Secrets, exchange  # noqa: E402
from qdrant_standin import QdrantStandin, StandinConfig  # noqa: E402

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import QdrantClient, Response  # noqa: E402
from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_check as qc  # noqa: E402
from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_snapshot as qs  # noqa: E402

FIXTURES = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "qdrant-*", "*.json")))
NOT_REPLAYED = ("startup", "joining", "poll")


def load(path):
    with open(path) as f:
        return json.load(f)


def fixture_id(path):
    return "%s/%s" % (os.path.basename(os.path.dirname(path)), os.path.basename(path)[:-5])


def test_recordings_exist_for_the_default_image_version():
    with open(os.path.join(ROOT, "roles", "qdrant", "defaults", "main.yml")) as f:
        version = [line.split('"')[1] for line in f if line.startswith("qdrant_version:")][0]
    names = set(os.path.basename(p) for p in FIXTURES if "qdrant-%s" % version in p)
    assert {"single-keyed.json", "single-open.json", "startup.json", "cluster.json"} <= names, sorted(names)


# ------------------------------------------------------------------------------------------------ replay

def _standins(config, secrets):
    cfg = dict(api_key=secrets["<api_key>"] if config.get("api_key") else None,
               read_only_api_key=secrets["<read_only_api_key>"] if config.get("read_only_api_key") else None,
               jwt_rbac=bool(config.get("jwt_rbac")))
    if config.get("cluster"):
        # replica_settle_seconds=0: the real peers had applied a recovery's Raft proposals by the next request
        # (recorded: scroll_after_upload in cluster.json sees every point right after the uploads)
        peers = [QdrantStandin(config=StandinConfig(cluster_mode=True, cluster_peers=config["peers"],
                                                    replica_settle_seconds=0, **cfg)).start()
                 for _peer in range(config["peers"])]
        for p in peers:
            p.join_cluster(peers)
        return peers
    return [QdrantStandin(config=StandinConfig(**cfg)).start()]


def _answer_of(rec):
    return dict((k, rec.get(k)) for k in ("status", "content_type", "body_kind", "body", "error"))


def _differences(doc):
    """Replay ``doc`` against stand-ins; list every exchange whose answer differs."""
    secrets = Secrets()
    peers = _standins(doc["config"], secrets)
    ctx = Context(secrets)
    ctx.replacements = [("/qdrant/snapshots", "<snapshots_path>")]  # the stand-in's snapshots directory
    ctx.peer_uris = dict(("http://qdrant-%d.qdrant-headless:6335" % i, i) for i in range(len(peers)))
    diffs = []
    try:
        for rec in doc["exchanges"]:
            if rec.get("phase") in NOT_REPLAYED or rec["step"] == "cluster_first_peer":
                continue  # while the real server started or its peers joined (cluster_first_peer: one peer yet)
            step = dict((k, rec[k]) for k in ("step", "peer", "method", "path", "auth", "json", "upload")
                        if k in rec)
            got = exchange(ctx, "127.0.0.1", peers[step.get("peer", 0)].port, step, timeout=30)
            if rec["path"] == "/" and "commit" not in (rec.get("body") or {}):
                # GET / names the git commit only when the build had one (GIT_COMMIT_ID, as the official images
                # do); the recorded binary was built from an exported tree without it
                (got.get("body") or {}).pop("commit", None)
            if _answer_of(got) != _answer_of(rec):
                diffs.append("%s %s %s (peer %s):\n  real:     %s\n  stand-in: %s" % (
                    rec["step"], rec["method"], rec["path"], rec.get("peer", 0),
                    json.dumps(_answer_of(rec), sort_keys=True)[:600],
                    json.dumps(_answer_of(got), sort_keys=True)[:600]))
    finally:
        for p in peers:
            p.stop()
    return diffs


@pytest.mark.parametrize("path", [p for p in FIXTURES if not p.endswith("startup.json")], ids=fixture_id)
def test_standin_answers_like_the_recorded_qdrant(path):
    diffs = _differences(load(path))
    assert not diffs, "%d exchange(s) differ:\n%s" % (len(diffs), "\n".join(diffs))


# ------------------------------------------------------------------------------------------------ judging

def _response(rec):
    body = rec.get("body")
    if rec.get("body_kind") == "json":
        data = json.dumps(body).encode()
    elif rec.get("body_kind") == "text":
        data = body.encode()
    else:
        data = b""
    headers = {"Content-Type": rec["content_type"]} if rec.get("content_type") else {}
    return Response(rec["status"], headers, data, "http://127.0.0.1:6333" + rec["path"])


def _checker(expect_peers=None):
    return qc.QdrantChecker(QdrantClient("http://127.0.0.1:6333"), api_key="k", expect_peers=expect_peers)


def _refused(status, text):
    def judge(resp, rec):
        check = qc.Check(rec["step"], "")
        return _checker()._refused(check, resp, status, text=text), check.observed
    return judge


def _listed(resp, rec):
    return _checker()._collections_listed(resp)


def _writes(resp, rec):
    return _checker()._write_probe_ok(resp)


def _open(resp, rec):
    """An instance without keys: the credential checks must fail (no Qdrant refusal), the read passes."""
    refused, observed = _refused(401, qc.QDRANT_NO_CREDENTIAL)(resp, rec)
    listed = _listed(resp, rec)[0]
    return listed and not refused, observed


def _open_writes(resp, rec):
    refused, observed = _refused(401, qc.QDRANT_NO_CREDENTIAL)(resp, rec)
    return _writes(resp, rec)[0] and not refused, observed


def _accepted_on_collection(resp, rec):
    return _checker()._accepted_on_collection(resp), resp.describe()


def _other_collection(resp, rec):
    seen = qc._forbidden_json(resp)
    return seen == "Forbidden: Access to collection %s is required" % rec["path"].rsplit("/", 1)[1], seen


def _up(resp, rec):
    return resp.status == 200 and resp.status not in qc.NOT_UP_STATUSES, resp.describe()


def _up_or_not_yet(resp, rec):
    return resp.status == 200 or resp.status in qc.NOT_UP_STATUSES, resp.describe()


def _version(resp, rec):
    check = qc.Check("version", "")
    checker = _checker()
    checker._poll = lambda send: (resp, resp.describe(), 1)
    checker.check_version(check)
    return check.passed and checker.version == rec["body"]["version"], check.observed


def _cluster_disabled(resp, rec):
    observed = _checker(expect_peers=3)._cluster_answer(resp)
    return observed is not None and "single-node" in observed, observed


def _cluster_joined(resp, rec):
    checker = _checker(expect_peers=3)
    observed = checker._cluster_answer(resp)
    if observed is not None:
        return False, observed
    problems = checker._cluster_problems(checker.cluster)
    return not problems, problems


class _OneAnswer:
    """A QdrantClient that answers every request with one recorded response."""

    def __init__(self, resp):
        self.resp = resp
        self.display_url = "http://127.0.0.1:6333"

    def request(self, method, path, **kwargs):
        sink = kwargs.get("sink")
        if sink is not None and 200 <= self.resp.status < 300:
            sink(b"")
        return self.resp


def _snapshotter(resp, tmp="/nonexistent"):
    return qs.Snapshotter(_OneAnswer(resp), "k", tmp)


def _get_ok(resp, rec):
    try:
        result = _snapshotter(resp)._get_ok(rec["method"], rec["path"], rec["step"])
    except qs.SnapshotError as e:
        return False, str(e)
    return True, result


def _get_fails(resp, rec):
    ok, observed = _get_ok(resp, rec)
    return not ok and str(rec["status"]) in observed, observed


def _snapshot_created(resp, rec):
    ok, result = _get_ok(resp, rec)
    return ok and bool(result.get("name")) and bool(result.get("checksum")), result


def _scrolled(resp, rec):
    ok, result = _get_ok(resp, rec)
    return ok and isinstance(result.get("points"), list) and "next_page_offset" in result, result


def _missing_collection(resp, rec):
    return _snapshotter(resp).fingerprint("x") == (None, 0), resp.describe()


def _upload(resp, tmp_path):
    f = tmp_path / "c.snapshot"
    f.write_bytes(b"x")
    snap = qs.Snapshotter(_OneAnswer(resp), "k", str(tmp_path))
    try:
        snap._upload("c", str(f), "0" * 64, snap.client)
    except qs.SnapshotError as e:
        return False, str(e)
    return True, "accepted"


def _uploaded(resp, rec, tmp_path):
    return _upload(resp, tmp_path)


def _upload_fails(resp, rec, tmp_path):
    ok, observed = _upload(resp, tmp_path)
    return not ok and str(rec["status"]) in observed, observed


# step name -> judge(resp, rec) that must return (True, observed). Steps named here were recorded in every
# scenario they appear in; each is one qdrant_check probe or one qdrant_snapshot request.
JUDGES = {
    "no_credential": _refused(401, qc.QDRANT_NO_CREDENTIAL),
    "no_credential_write": _refused(401, qc.QDRANT_NO_CREDENTIAL),
    "unknown_path_no_credential": _refused(401, qc.QDRANT_NO_CREDENTIAL),
    "cluster_no_credential": _refused(401, qc.QDRANT_NO_CREDENTIAL),
    "upload_no_credential": _refused(401, qc.QDRANT_NO_CREDENTIAL),
    "wrong_key": _refused(401, qc.QDRANT_WRONG_CREDENTIAL),
    "wrong_key_bearer": _refused(401, qc.QDRANT_WRONG_CREDENTIAL),
    "wrong_key_write": _refused(401, qc.QDRANT_WRONG_CREDENTIAL),
    "jwt_not_a_token": _refused(401, qc.QDRANT_WRONG_CREDENTIAL),
    "jwt_rbac_off": _refused(401, qc.QDRANT_WRONG_CREDENTIAL),
    "retired_key_jwt_refused_rbac_off": _refused(401, qc.QDRANT_WRONG_CREDENTIAL),
    "open_no_credential": _open,
    "open_any_key": _open,
    "open_any_bearer": _open,
    "open_jwt_any": _open,
    "open_no_credential_write": _open_writes,
    "open_cluster": _cluster_disabled,
    "full_key_reads": _listed,
    "full_key_bearer_reads": _listed,
    "read_only_key_reads": _listed,
    "read_only_key_bearer_reads": _listed,
    "jwt_read_token_reads": _listed,
    "jwt_read_token_in_api_key_header": _listed,
    "jwt_without_exp": _listed,
    "full_key_writes": _writes,
    "full_key_bearer_writes": _writes,
    "jwt_manage_token_writes": _writes,
    "read_only_key_refused_writes": _refused(403, qc.QDRANT_GLOBAL_MANAGE),
    "read_only_key_bearer_refused_writes": _refused(403, qc.QDRANT_GLOBAL_MANAGE),
    "jwt_read_token_refused_writes": _refused(403, qc.QDRANT_GLOBAL_MANAGE),
    "jwt_collection_token_refused_manage": _refused(403, qc.QDRANT_GLOBAL_ACCESS),
    "jwt_points_token_refused_manage": _refused(403, qc.QDRANT_GLOBAL_ACCESS),
    "jwt_collection_token_own_missing": _accepted_on_collection,
    "jwt_points_token_own_missing": _accepted_on_collection,
    "jwt_collection_token_other": _other_collection,
    "jwt_points_token_other": _other_collection,
    "jwt_expired_token_refused": _refused(403, qc.QDRANT_EXPIRED),
    "jwt_wrong_signature_refused": _refused(403, qc.QDRANT_BAD_SIGNATURE),
    "retired_key_jwt_refused": _refused(403, qc.QDRANT_BAD_SIGNATURE),
    "livez": _up,
    "healthz": _up,
    "root": _version,
    "cluster_full_key": _cluster_disabled,
    "create_snapshot": _snapshot_created,
    "create_snapshot_for_recover": _snapshot_created,
    "list_collections": _get_ok,
    "scroll_all": _scrolled,
    "scroll_page": _scrolled,
    "scroll_offset": _scrolled,
    "scroll_after_upload": _scrolled,
    "get_missing_collection": _missing_collection,
    "delete_snapshot": _get_ok,
    "download_deleted_snapshot": _get_fails,
    "upload_snapshot": _uploaded,
    "upload_snapshot_new_collection": _uploaded,
    "upload_wrong_checksum": _upload_fails,
    "upload_corrupt": _upload_fails,
    "upload_corrupt_no_checksum": _upload_fails,
    "upload_incompatible": _upload_fails,
    "upload_read_only_key": _upload_fails,
    "upload_collection_token": _upload_fails,
    "create_snapshot_read_only_key": _get_fails,
}


def _judge(rec):
    if rec["step"] == "readyz":
        return _up_or_not_yet if rec.get("phase") in ("startup", "joining") else _up
    if rec["step"] in ("cluster", "cluster_after") and rec.get("phase") is None:
        return _cluster_joined
    return JUDGES.get(rec["step"])


def _judged(path):
    doc = load(path)
    return [(doc, i, rec) for i, rec in enumerate(doc["exchanges"]) if "status" in rec and _judge(rec)]


CASES = [case for p in FIXTURES for case in _judged(p)]


@pytest.mark.parametrize("doc,index,rec", CASES,
                         ids=["%s#%d:%s" % (d["scenario"], i, r["step"]) for d, i, r in CASES])
def test_modules_judge_the_recorded_answer(doc, index, rec, tmp_path):
    judge = _judge(rec)
    args = (_response(rec), rec) + ((tmp_path,) if judge in (_uploaded, _upload_fails) else ())
    ok, observed = judge(*args)
    assert ok, "%s: %r judged wrongly: %s" % (rec["step"], _answer_of(rec), observed)


def test_every_judge_has_a_recorded_answer():
    judged = set(r["step"] for _d, _i, r in CASES)
    missing = sorted(set(JUDGES) - judged)
    assert not missing or not FIXTURES, "no recorded answer for: %s" % ", ".join(missing)
