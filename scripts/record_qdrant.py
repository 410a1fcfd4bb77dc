"""Record how a real Qdrant server answers every request qdrant_check and qdrant_snapshot make.

    python scripts/record_qdrant.py --binary /path/to/qdrant [--out tests/fixtures/qdrant-<version>] [--only NAME]

Runs the binary (from a Qdrant source build; see tests/fixtures/qdrant-1.19.0/README.md) on loopback ports with
temporary storage, in four scenarios, and writes one JSON file per scenario:

* ``single-keyed``: one node with api_key, read_only_api_key and jwt_rbac; every credential kind (none, wrong,
  full, read-only, as api-key and as Bearer; JWTs of each access level, per-collection, expired, wrongly
  signed, without exp, without access, with refused claims), /cluster, and a snapshot round trip (create, list,
  download, delete, upload with and without checksum, a wrong checksum, a corrupt archive, an incompatible
  collection, recover from a file location).
* ``startup``: the same node restarted on its data: what a client sees from the moment the process starts.
* ``single-open``: one node without any key.
* ``cluster``: three peers (cluster enabled, api_key and read_only_api_key, enforce_internal_auth): joining,
  /readyz of each, /cluster of each, keys, one collection of three shards, a snapshot of each peer downloaded and
  uploaded back to the same peer.

Secrets are made up per run and replaced by role names in the recordings (tests/support/qdrant_recording.py).
Standard library only.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

from qdrant_recording import Context, Secrets, exchange  # noqa: E402

HOST = "127.0.0.1"
FULL = {"header": "api-key", "credential": "<api_key>"}
FULL_B = {"header": "bearer", "credential": "<api_key>"}
RO = {"header": "api-key", "credential": "<read_only_api_key>"}
RO_B = {"header": "bearer", "credential": "<read_only_api_key>"}
WRONG = {"header": "api-key", "credential": "<wrong_key>"}
WRONG_B = {"header": "bearer", "credential": "<wrong_key>"}
SUBJECT = "peekoff.qdrant.qdrant_check"
MISSING = "qdrant-check-0000missing"
OWN = "qdrant-check-own"
OTHER = "qdrant-check-other"
ZERO_SUM = "0" * 64
CORRUPT = "base64:" + "bm90IGEgdGFyIGFyY2hpdmUsIGp1c3QgYnl0ZXMK"  # "not a tar archive, just bytes\n"
BOOKS = {"vectors": {"size": 4, "distance": "Cosine"}}
POINTS = [{"id": i, "vector": [0.1 * i, 0.2, 0.3, 0.4 + i], "payload": {"title": "book %d" % i, "n": i}}
          for i in range(1, 7)]
SCROLL_ALL = {"limit": 1000, "with_payload": True, "with_vector": True}


def jwt(claims, header="bearer", secret="<api_key>"):
    return {"header": header, "jwt": claims, "secret": secret}


def tok(access, **extra):
    claims = {"access": access, "exp": "<now+300>", "subject": SUBJECT}
    claims.update(extra)
    return claims


def step(name, method, path, auth=None, peer=0, **kw):
    s = {"step": name, "peer": peer, "method": method, "path": path, "auth": auth}
    s.update(kw)
    return s


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Node:
    """One qdrant process on loopback ports with its own storage."""

    def __init__(self, binary, top, index, env_extra, args=()):
        self.binary = binary
        self.dir = os.path.join(top, "peer-%d" % index)
        os.makedirs(self.dir, exist_ok=True)
        self.http, self.grpc, self.p2p = free_port(), free_port(), free_port()
        self.env = dict(os.environ)
        self.env.update({
            "QDRANT__SERVICE__HOST": HOST,
            "QDRANT__SERVICE__HTTP_PORT": str(self.http),
            "QDRANT__SERVICE__GRPC_PORT": str(self.grpc),
            "QDRANT__CLUSTER__P2P__PORT": str(self.p2p),
            "QDRANT__STORAGE__STORAGE_PATH": os.path.join(self.dir, "storage"),
            "QDRANT__STORAGE__SNAPSHOTS_PATH": os.path.join(self.dir, "snapshots"),
            "QDRANT__STORAGE__TEMP_PATH": os.path.join(self.dir, "tmp"),
            "QDRANT__TELEMETRY_DISABLED": "true",
            "QDRANT__LOG_LEVEL": "INFO",
        })
        self.env.update(env_extra)
        self.args = list(args)
        self.proc = None
        self.log = None

    @property
    def snapshots_path(self):
        return os.path.join(self.dir, "snapshots")

    def start(self):
        self.log = open(os.path.join(self.dir, "qdrant.log"), "ab")
        self.proc = subprocess.Popen([self.binary] + self.args, cwd=self.dir, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self.log:
            self.log.close()

    def check_alive(self):
        if self.proc is None or self.proc.poll() is not None:
            raise SystemExit("qdrant in %s exited (%s); see %s" % (
                self.dir, self.proc and self.proc.returncode, os.path.join(self.dir, "qdrant.log")))


class Recorder:
    def __init__(self, nodes, secrets):
        self.nodes = nodes
        self.ctx = Context(secrets)
        self.ctx.snapshots_paths = dict((i, n.snapshots_path) for i, n in enumerate(nodes))
        self.ctx.peer_uris = dict(("http://%s:%d" % (HOST, n.p2p), i) for i, n in enumerate(nodes))
        self.exchanges = []

    def run(self, s, timeout=120.0, keep=True):
        node = self.nodes[s.get("peer", 0)]
        node.check_alive()
        rec = exchange(self.ctx, HOST, node.http, s, timeout=timeout)
        if keep:
            self.exchanges.append(rec)
        return rec

    def poll(self, s, until, deadline=180.0, interval=0.05, phase=None):
        """Send ``s`` until ``until(record)``; keep each distinct answer (the transitions) with its count."""
        t0 = time.monotonic()
        last_key, last = None, None
        while True:
            rec = self.run(s, timeout=10.0, keep=False)
            key = (rec.get("error"), rec.get("status"), json.dumps(rec.get("body"), sort_keys=True))
            if key != last_key:
                rec = dict(rec, phase=phase or "poll", repeated=1)
                self.exchanges.append(rec)
                last_key, last = key, rec
            else:
                last["repeated"] += 1
            if until(rec):
                return rec
            if time.monotonic() - t0 > deadline:
                raise SystemExit("timeout polling %s %s: last %r" % (s["method"], s["path"], rec))
            time.sleep(interval)


def answered(rec):
    return "status" in rec


def ok(rec):
    return rec.get("status") == 200


# ---------------------------------------------------------------------------------------------- scenarios

def open_paths(peer=0):
    return [
        step("livez", "GET", "/livez", peer=peer),
        step("healthz", "GET", "/healthz", peer=peer),
        step("readyz", "GET", "/readyz", peer=peer),
        step("root", "GET", "/", peer=peer),
    ]


def key_checks():
    return [
        step("livez_wrong_key", "GET", "/livez", WRONG),
        step("readyz_wrong_key", "GET", "/readyz", WRONG),
        step("root_wrong_key", "GET", "/", WRONG),
        step("no_credential", "GET", "/collections"),
        step("wrong_key", "GET", "/collections", WRONG),
        step("wrong_key_bearer", "GET", "/collections", WRONG_B),
        step("full_key_reads", "GET", "/collections", FULL),
        step("full_key_bearer_reads", "GET", "/collections", FULL_B),
        step("read_only_key_reads", "GET", "/collections", RO),
        step("read_only_key_bearer_reads", "GET", "/collections", RO_B),
        step("unknown_path_no_credential", "GET", "/no-such-path"),
        step("unknown_path_full_key", "GET", "/no-such-path", FULL),
        step("full_key_writes", "DELETE", "/collections/" + MISSING, FULL),
        step("full_key_bearer_writes", "DELETE", "/collections/" + MISSING, FULL_B),
        step("read_only_key_refused_writes", "DELETE", "/collections/" + MISSING, RO),
        step("read_only_key_bearer_refused_writes", "DELETE", "/collections/" + MISSING, RO_B),
        step("no_credential_write", "DELETE", "/collections/" + MISSING),
        step("wrong_key_write", "DELETE", "/collections/" + MISSING, WRONG),
        step("metrics_no_credential", "GET", "/metrics"),
        step("telemetry_no_credential", "GET", "/telemetry"),
        step("cluster_full_key", "GET", "/cluster", FULL),
        step("cluster_read_only_key", "GET", "/cluster", RO),
        step("cluster_no_credential", "GET", "/cluster"),
    ]


def jwt_checks():
    rw_own = tok([{"collection": OWN, "access": "rw"}])
    prw_own = tok([{"collection": OWN, "access": "prw"}])
    r_own = tok([{"collection": OWN, "access": "r"}])
    return [
        step("jwt_read_token_reads", "GET", "/collections", jwt(tok("r"))),
        step("jwt_read_token_in_api_key_header", "GET", "/collections", jwt(tok("r"), header="api-key")),
        step("jwt_read_token_refused_writes", "DELETE", "/collections/" + MISSING, jwt(tok("r"))),
        step("jwt_manage_token_writes", "DELETE", "/collections/" + MISSING, jwt(tok("m"))),
        step("jwt_collection_token_own_missing", "GET", "/collections/" + OWN, jwt(rw_own)),
        step("jwt_collection_token_other", "GET", "/collections/" + OTHER, jwt(rw_own)),
        step("jwt_collection_token_refused_manage", "DELETE", "/collections/" + OWN, jwt(rw_own)),
        step("jwt_points_token_own_missing", "GET", "/collections/" + OWN, jwt(prw_own)),
        step("jwt_points_token_other", "GET", "/collections/" + OTHER, jwt(prw_own)),
        step("jwt_points_token_refused_manage", "DELETE", "/collections/" + OWN, jwt(prw_own)),
        step("jwt_collection_read_token_list", "GET", "/collections", jwt(r_own)),
        step("jwt_expired_token_refused", "GET", "/collections", jwt(tok("r", exp="<now-3600>"))),
        step("jwt_expired_within_leeway", "GET", "/collections", jwt(tok("r", exp="<now-10>"))),
        step("jwt_wrong_signature_refused", "GET", "/collections", jwt(tok("m"), secret="<other_secret>")),
        step("retired_key_jwt_refused", "GET", "/collections", jwt(tok("r"), secret="<other_secret>")),
        step("jwt_without_exp", "GET", "/collections", jwt({"access": "r", "subject": SUBJECT})),
        step("jwt_without_access_writes", "DELETE", "/collections/" + MISSING,
             jwt({"exp": "<now+300>", "subject": SUBJECT})),
        step("jwt_payload_constraint", "GET", "/collections",
             jwt(tok([{"collection": OWN, "access": "r", "payload": {"k": "v"}}]))),
        step("jwt_duplicate_collection", "GET", "/collections",
             jwt(tok([{"collection": OWN, "access": "r"}, {"collection": OWN, "access": "rw"}]))),
        step("jwt_value_exists_missing_collection", "GET", "/collections",
             jwt(tok("r", value_exists={"collection": OTHER, "matches": [{"key": "user", "value": "alice"}]}))),
        step("jwt_bad_access_value", "GET", "/collections", jwt(tok("x"))),
        step("jwt_not_a_token", "GET", "/collections", {"header": "bearer", "credential": "<wrong_key>"}),
        step("jwt_read_token_cluster", "GET", "/cluster", jwt(tok("r"))),
        step("jwt_collection_token_cluster", "GET", "/cluster", jwt(rw_own)),
        step("jwt_collection_token_list", "GET", "/collections", jwt(rw_own)),
    ]


def snapshot_round_trip(auth=None, peer=0):
    auth = auth or FULL
    up = "/collections/books/snapshots/upload?wait=true&priority=snapshot&checksum=<checksum:books>"
    steps = [
        step("create_collection", "PUT", "/collections/books", auth, peer, json=BOOKS),
        step("upsert_points", "PUT", "/collections/books/points?wait=true", auth, peer, json={"points": POINTS}),
        step("list_collections", "GET", "/collections", auth, peer),
        step("get_collection", "GET", "/collections/books", auth, peer),
        step("get_missing_collection", "GET", "/collections/" + MISSING, auth, peer),
        step("scroll_all", "POST", "/collections/books/points/scroll", auth, peer, json=SCROLL_ALL),
        step("scroll_page", "POST", "/collections/books/points/scroll", auth, peer,
             json={"limit": 2, "with_payload": True, "with_vector": True}),
        step("scroll_offset", "POST", "/collections/books/points/scroll", auth, peer,
             json={"limit": 2, "with_payload": True, "with_vector": True, "offset": 3}),
        step("create_snapshot", "POST", "/collections/books/snapshots?wait=true", auth, peer),
        step("list_snapshots", "GET", "/collections/books/snapshots", auth, peer),
        step("download_snapshot", "GET", "/collections/books/snapshots/<snapshot:books>", auth, peer),
        step("delete_snapshot", "DELETE", "/collections/books/snapshots/<snapshot:books>?wait=true", auth, peer),
        step("download_deleted_snapshot", "GET", "/collections/books/snapshots/<snapshot:books>", auth, peer),
        step("delete_deleted_snapshot", "DELETE", "/collections/books/snapshots/<snapshot:books>?wait=true",
             auth, peer),
        step("upload_snapshot", "POST", up, auth, peer, upload={"source": "download:books"}),
        step("scroll_after_upload", "POST", "/collections/books/points/scroll", auth, peer, json=SCROLL_ALL),
        step("upload_snapshot_new_collection", "POST", up.replace("/books/", "/books-copy/"), auth, peer,
             upload={"source": "download:books"}),
        step("get_new_collection", "GET", "/collections/books-copy", auth, peer),
        step("scroll_new_collection", "POST", "/collections/books-copy/points/scroll", auth, peer, json=SCROLL_ALL),
        step("upload_wrong_checksum", "POST", up.replace("<checksum:books>", ZERO_SUM), auth, peer,
             upload={"source": "download:books"}),
        step("upload_corrupt", "POST", up.replace("<checksum:books>", "<checksum:upload>"), auth, peer,
             upload={"source": CORRUPT}),
        step("upload_corrupt_no_checksum", "POST", "/collections/books/snapshots/upload?wait=true&priority=snapshot",
             auth, peer, upload={"source": CORRUPT}),
        step("scroll_after_corrupt", "POST", "/collections/books/points/scroll", auth, peer, json=SCROLL_ALL),
        step("create_small_collection", "PUT", "/collections/small", auth, peer,
             json={"vectors": {"size": 2, "distance": "Dot"}}),
        step("upload_incompatible", "POST", up.replace("/books/", "/small/"), auth, peer,
             upload={"source": "download:books"}),
        step("get_small_after_incompatible", "GET", "/collections/small", auth, peer),
        step("delete_copy", "DELETE", "/collections/books-copy", auth, peer),
    ]
    return steps


def refused_snapshot_steps():
    rw_books = tok([{"collection": "books", "access": "rw"}])
    prw_books = tok([{"collection": "books", "access": "prw"}])
    up = "/collections/books/snapshots/upload?wait=true&priority=snapshot&checksum=<checksum:books>"
    return [
        step("create_snapshot_read_only_key", "POST", "/collections/books/snapshots?wait=true", RO),
        step("create_snapshot_points_token", "POST", "/collections/books/snapshots?wait=true", jwt(prw_books)),
        step("list_snapshots_read_only_key", "GET", "/collections/books/snapshots", RO),
        step("list_snapshots_points_token", "GET", "/collections/books/snapshots", jwt(prw_books)),
        step("upload_read_only_key", "POST", up, RO, upload={"source": "download:books"}),
        step("upload_collection_token", "POST", up, jwt(rw_books), upload={"source": "download:books"}),
        step("upload_no_credential", "POST", up, None, upload={"source": "download:books"}),
        step("scroll_read_only_key", "POST", "/collections/books/points/scroll", RO, json=SCROLL_ALL),
        step("get_collection_read_only_key", "GET", "/collections/books", RO),
        step("get_collection_collection_token", "GET", "/collections/books", jwt(rw_books)),
        step("list_collections_collection_token", "GET", "/collections", jwt(rw_books)),
    ]


def recover_steps(node):
    loc = "file://<snapshots_path>/books/<snapshot:books>"
    return [
        step("create_snapshot_for_recover", "POST", "/collections/books/snapshots?wait=true", FULL),
        step("download_snapshot_for_recover", "GET", "/collections/books/snapshots/<snapshot:books>", FULL),
        step("recover_incompatible", "PUT", "/collections/small/snapshots/recover?wait=true", FULL,
             json={"location": loc}),
        step("recover_new_collection", "PUT", "/collections/books-recovered/snapshots/recover?wait=true", FULL,
             json={"location": loc}),
        step("get_recovered_collection", "GET", "/collections/books-recovered", FULL),
        step("recover_missing_file", "PUT", "/collections/books/snapshots/recover?wait=true", FULL,
             json={"location": "file://<snapshots_path>/books/no-such.snapshot"}),
        step("recover_read_only_key", "PUT", "/collections/books/snapshots/recover?wait=true", RO,
             json={"location": loc}),
    ]


def wait_up(rec, node, phase="startup"):
    return rec.poll(step("livez", "GET", "/livez"), ok, phase=phase)


def scrub(exchanges, nodes):
    """Machine paths in request bodies and answers -> <snapshots_path>; json round trip."""
    text = json.dumps(exchanges)
    for n in nodes:
        text = text.replace(n.snapshots_path, "<snapshots_path>").replace(n.dir, "<peer_dir>")
    return json.loads(text)


def write(out, name, version, commit, config, exchanges, nodes):
    doc = {"qdrant": {"version": version, "commit": commit}, "scenario": name, "config": config,
           "exchanges": scrub(exchanges, nodes)}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    print("wrote %s/%s.json (%d exchanges)" % (out, name, len(exchanges)))


def root_version(rec):
    for ex in rec.exchanges:
        if ex.get("path") == "/" and ex.get("status") == 200:
            return ex["body"].get("version"), ex["body"].get("commit")
    return None, None


def scenario_single(binary, top, out, secrets):
    env = {"QDRANT__SERVICE__API_KEY": secrets["<api_key>"],
           "QDRANT__SERVICE__READ_ONLY_API_KEY": secrets["<read_only_api_key>"],
           "QDRANT__SERVICE__JWT_RBAC": "true"}
    node = Node(binary, top, 0, env)
    nodes = [node]
    rec = Recorder(nodes, secrets)
    try:
        node.start()
        wait_up(rec, node)
        for s in open_paths() + key_checks() + jwt_checks() + snapshot_round_trip() + refused_snapshot_steps() \
                + recover_steps(node):
            rec.run(s)
        # jwt_rbac: a value_exists token against a collection that exists, without and with a matching point
        rec.run(step("jwt_value_exists_no_match", "GET", "/collections",
                     jwt(tok("r", value_exists={"collection": "books", "matches": [{"key": "title",
                                                                                   "value": "no such"}]}))))
        rec.run(step("jwt_value_exists_match", "GET", "/collections",
                     jwt(tok("r", value_exists={"collection": "books", "matches": [{"key": "title",
                                                                                   "value": "book 1"}]}))))
        version, commit = root_version(rec)
        write(out, "single-keyed", version, commit,
              {"api_key": True, "read_only_api_key": True, "jwt_rbac": True, "cluster": False},
              rec.exchanges, nodes)
        # restart on the same data: what a client sees while it loads the collections
        node.stop()
        start = Recorder(nodes, secrets)
        node.start()
        start.poll(step("livez", "GET", "/livez"), ok, phase="startup", interval=0.01)
        start.poll(step("readyz", "GET", "/readyz"), ok, phase="startup", interval=0.01)
        start.run(step("root", "GET", "/"))
        start.run(step("full_key_reads", "GET", "/collections", FULL))
        write(out, "startup", version, commit,
              {"api_key": True, "read_only_api_key": True, "jwt_rbac": True, "cluster": False,
               "restarted_with_collections": ["books", "small", "books-recovered"]},
              start.exchanges, nodes)
        return version
    finally:
        node.stop()


def scenario_open(binary, top, out, secrets):
    node = Node(binary, top, 0, {})
    nodes = [node]
    rec = Recorder(nodes, secrets)
    try:
        node.start()
        wait_up(rec, node)
        steps = open_paths() + [
            step("open_no_credential", "GET", "/collections"),
            step("open_any_key", "GET", "/collections", WRONG),
            step("open_any_bearer", "GET", "/collections", WRONG_B),
            step("open_jwt_any", "GET", "/collections", jwt(tok("r"))),
            step("open_no_credential_write", "DELETE", "/collections/" + MISSING),
            step("open_cluster", "GET", "/cluster"),
            step("open_unknown_path", "GET", "/no-such-path"),
            step("create_collection", "PUT", "/collections/books", json=BOOKS),
            step("upsert_points", "PUT", "/collections/books/points?wait=true", json={"points": POINTS}),
            step("create_snapshot", "POST", "/collections/books/snapshots?wait=true"),
            step("download_snapshot", "GET", "/collections/books/snapshots/<snapshot:books>"),
            step("delete_snapshot", "DELETE", "/collections/books/snapshots/<snapshot:books>?wait=true"),
            step("upload_snapshot", "POST",
                 "/collections/books/snapshots/upload?wait=true&priority=snapshot&checksum=<checksum:books>",
                 upload={"source": "download:books"}),
            step("scroll_after_upload", "POST", "/collections/books/points/scroll", json=SCROLL_ALL),
        ]
        for s in steps:
            rec.run(s)
        version, commit = root_version(rec)
        write(out, "single-open", version, commit,
              {"api_key": False, "read_only_api_key": False, "jwt_rbac": False, "cluster": False},
              rec.exchanges, nodes)
    finally:
        node.stop()


def scenario_cluster(binary, top, out, secrets):
    env = {"QDRANT__SERVICE__API_KEY": secrets["<api_key>"],
           "QDRANT__SERVICE__READ_ONLY_API_KEY": secrets["<read_only_api_key>"],
           "QDRANT__CLUSTER__ENABLED": "true",
           "QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH": "true"}
    nodes = [Node(binary, top, i, env) for i in range(3)]
    nodes[0].args = ["--uri", "http://%s:%d" % (HOST, nodes[0].p2p)]
    for n in nodes[1:]:
        n.args = ["--bootstrap", "http://%s:%d" % (HOST, nodes[0].p2p), "--uri", "http://%s:%d" % (HOST, n.p2p)]
    rec = Recorder(nodes, secrets)

    def joined(r):
        res = (r.get("body") or {}).get("result") if r.get("body_kind") == "json" else None
        return bool(res) and len(res.get("peers") or {}) == 3 and (res.get("raft_info") or {}).get("leader") \
            not in (None, "<peer_id>") and res["raft_info"].get("pending_operations") in (0, "<pending_operations>")
    try:
        nodes[0].start()
        rec.poll(step("livez", "GET", "/livez", peer=0), ok, phase="startup")
        rec.poll(step("readyz", "GET", "/readyz", peer=0), ok, phase="startup")
        rec.run(step("cluster_first_peer", "GET", "/cluster", FULL, peer=0))
        for i in (1, 2):
            nodes[i].start()
            rec.poll(step("livez", "GET", "/livez", peer=i), ok, phase="joining")
            rec.poll(step("readyz", "GET", "/readyz", peer=i), ok, phase="joining")
        for i in range(3):
            rec.poll(step("cluster", "GET", "/cluster", FULL, peer=i), joined, phase="joining", interval=0.2)
        for i in range(3):
            rec.run(step("readyz", "GET", "/readyz", peer=i))
            rec.run(step("cluster", "GET", "/cluster", FULL, peer=i))
        for s in open_paths() + [
            step("no_credential", "GET", "/collections"),
            step("wrong_key", "GET", "/collections", WRONG),
            step("wrong_key_bearer", "GET", "/collections", WRONG_B),
            step("full_key_reads", "GET", "/collections", FULL),
            step("full_key_writes", "DELETE", "/collections/" + MISSING, FULL),
            step("full_key_bearer_writes", "DELETE", "/collections/" + MISSING, FULL_B),
            step("read_only_key_reads", "GET", "/collections", RO),
            step("read_only_key_refused_writes", "DELETE", "/collections/" + MISSING, RO),
            step("retired_key_jwt_refused_rbac_off", "GET", "/collections", jwt(tok("r"), secret="<other_secret>")),
            step("jwt_rbac_off", "GET", "/collections", jwt(tok("r"))),
            step("cluster_read_only_key", "GET", "/cluster", RO),
            step("cluster_no_credential", "GET", "/cluster"),
            step("create_collection", "PUT", "/collections/books", FULL,
                 json=dict(BOOKS, shard_number=3, replication_factor=1)),
            step("upsert_points", "PUT", "/collections/books/points?wait=true", FULL, json={"points": POINTS}),
            step("get_collection", "GET", "/collections/books", FULL),
            step("scroll_all", "POST", "/collections/books/points/scroll", FULL, json=SCROLL_ALL),
        ]:
            rec.run(s)
        for i in range(3):
            for s in [
                step("get_collection", "GET", "/collections/books", FULL, peer=i),
                step("create_snapshot", "POST", "/collections/books/snapshots?wait=true", FULL, peer=i),
                step("download_snapshot", "GET", "/collections/books/snapshots/<snapshot:books>", FULL, peer=i),
                step("delete_snapshot", "DELETE", "/collections/books/snapshots/<snapshot:books>?wait=true", FULL,
                     peer=i),
            ]:
                rec.run(s)
        for i in range(3):
            rec.run(step("upload_snapshot", "POST",
                         "/collections/books/snapshots/upload?wait=true&priority=snapshot&checksum=<checksum:books>",
                         FULL, peer=i, upload={"source": "download:books"}))
        rec.run(step("scroll_after_upload", "POST", "/collections/books/points/scroll", FULL, json=SCROLL_ALL))
        for i in range(3):
            rec.run(step("cluster_after", "GET", "/cluster", FULL, peer=i))
        version, commit = root_version(rec)
        write(out, "cluster", version, commit,
              {"api_key": True, "read_only_api_key": True, "jwt_rbac": False, "cluster": True, "peers": 3,
               "enforce_internal_auth": True}, rec.exchanges, nodes)
    finally:
        for n in reversed(nodes):
            n.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--binary", default=os.environ.get("QDRANT_BINARY"), required=False)
    ap.add_argument("--out")
    ap.add_argument("--only", action="append", choices=["single", "open", "cluster"])
    ap.add_argument("--keep", action="store_true", help="keep the temporary storage directories")
    args = ap.parse_args()
    if not args.binary or not os.access(args.binary, os.X_OK):
        ap.error("--binary (or QDRANT_BINARY) must name the qdrant executable")
    version = subprocess.run([args.binary, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[-1]
    out = args.out or os.path.join(ROOT, "tests", "fixtures", "qdrant-%s" % version.lstrip("v"))
    os.makedirs(out, exist_ok=True)
    top = tempfile.mkdtemp(prefix="qdrant-record-")
    secrets = Secrets()
    only = args.only or ["single", "open", "cluster"]
    try:
        if "single" in only:
            scenario_single(args.binary, os.path.join(top, "single"), out, secrets)
        if "open" in only:
            scenario_open(args.binary, os.path.join(top, "open"), out, secrets)
        if "cluster" in only:
            scenario_cluster(args.binary, os.path.join(top, "cluster"), out, secrets)
    finally:
        if args.keep:
            print("storage kept in %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
