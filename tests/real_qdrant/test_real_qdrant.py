"""qdrant_check and a qdrant_snapshot backup/restore round trip, in ansible-playbook, against a REAL Qdrant.

Needs QDRANT_BINARY naming a qdrant executable (built from source: tests/fixtures/qdrant-1.19.0/README.md); the
stage ``real_qdrant`` of scripts/test.sh runs this file only then. Single node (api_key, read_only_api_key,
jwt_rbac) and three peers on loopback ports (cluster enabled, enforce_internal_auth), each with temporary storage.
"""
import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("QDRANT_BINARY")
KEY = "real-full-key-0c3b7f6e2a9d41d8b5e7c1f04a6b2d93"
RO_KEY = "real-read-only-key-5e1d"

pytestmark = pytest.mark.skipif(not BINARY, reason="QDRANT_BINARY is not set")


def _recorder():
    spec = importlib.util.spec_from_file_location("record_qdrant", os.path.join(ROOT, "scripts", "record_qdrant.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _http(port, method, path, body=None, key=KEY, timeout=60):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers=dict({"api-key": key} if key else {},
                                              **({"Content-Type": "application/json"} if body is not None else {})))
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def _wait(predicate, what, deadline=120):
    t0 = time.monotonic()
    while True:
        try:
            if predicate():
                return
        except OSError:
            pass
        if time.monotonic() - t0 > deadline:
            raise AssertionError("timeout waiting for %s" % what)
        time.sleep(0.2)


def _run(tmp_path, name, play):
    (tmp_path / (name + ".yml")).write_text(play)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([exe, str(tmp_path / (name + ".yml"))], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert KEY not in out and RO_KEY not in out
    return proc.returncode, out


PLAY = """
- name: {name}
  hosts: localhost
  gather_facts: false
  vars:
    url: {url}
    peer_urls: {peer_urls}
    key: {key}
    ro_key: {ro_key}
    dest: {dest}
  tasks:
    - name: Prove it healthy and secured
      peekoff.qdrant.qdrant_check:
        url: "{{{{ url }}}}"
        api_key: "{{{{ key }}}}"
        read_only_api_key: "{{{{ ro_key }}}}"
        jwt_rbac: {jwt_rbac}
        expect_peers: {expect_peers}
        peer_urls: "{{{{ peer_urls or omit }}}}"
        wait_timeout: 120
      register: __check
    - name: Back up
      peekoff.qdrant.qdrant_snapshot:
        url: "{{{{ url }}}}"
        peer_urls: "{{{{ peer_urls or omit }}}}"
        api_key: "{{{{ key }}}}"
        state: backup
        path: "{{{{ dest }}}}"
      register: __backup
    - name: Lose the collection
      ansible.builtin.uri:
        url: "{{{{ url }}}}/collections/books"
        method: DELETE
        headers:
          api-key: "{{{{ key }}}}"
      no_log: true
    - name: Restore
      peekoff.qdrant.qdrant_snapshot:
        url: "{{{{ url }}}}"
        peer_urls: "{{{{ peer_urls or omit }}}}"
        api_key: "{{{{ key }}}}"
        state: restore
        path: "{{{{ dest }}}}"
      register: __restore
    - name: Show
      ansible.builtin.debug:
        msg: "{{{{ [__check.version, __check.failed_checks, __backup.collections, __restore.collections] }}}}"
    - name: Everything passed and the restore was verified
      ansible.builtin.assert:
        that:
          - __check.failed_checks == []
          - __backup.collections | map(attribute='action') | list == ['snapshotted']
          - __restore.collections | map(attribute='action') | list == ['restored']
          - __restore.collections[0].verified
"""


def _seed(port, shard_number=1):
    _http(port, "PUT", "/collections/books", {"vectors": {"size": 4, "distance": "Cosine"},
                                              "shard_number": shard_number})
    _http(port, "PUT", "/collections/books/points?wait=true", {"points": [
        {"id": i, "vector": [0.1 * i, 0.2, 0.3, 0.4 + i], "payload": {"title": "book %d" % i}} for i in range(1, 10)]})


def test_single_node(tmp_path):
    rec = _recorder()
    node = rec.Node(BINARY, str(tmp_path / "q"), 0, {"QDRANT__SERVICE__API_KEY": KEY,
                                                     "QDRANT__SERVICE__READ_ONLY_API_KEY": RO_KEY,
                                                     "QDRANT__SERVICE__JWT_RBAC": "true"})
    node.start()
    try:
        _wait(lambda: _http(node.http, "GET", "/collections"), "qdrant to start")
        _seed(node.http)
        rc, out = _run(tmp_path, "single", PLAY.format(
            name="single node", url="http://127.0.0.1:%d" % node.http, peer_urls="[]", key=KEY, ro_key=RO_KEY,
            dest=tmp_path / "backup", jwt_rbac="true", expect_peers="null"))
        assert rc == 0, out[-4000:]
    finally:
        node.stop()


def test_three_peers(tmp_path):
    rec = _recorder()
    env = {"QDRANT__SERVICE__API_KEY": KEY, "QDRANT__SERVICE__READ_ONLY_API_KEY": RO_KEY,
           "QDRANT__CLUSTER__ENABLED": "true", "QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH": "true"}
    nodes = [rec.Node(BINARY, str(tmp_path / "q"), i, env) for i in range(3)]
    nodes[0].args = ["--uri", "http://127.0.0.1:%d" % nodes[0].p2p]
    for n in nodes[1:]:
        n.args = ["--bootstrap", "http://127.0.0.1:%d" % nodes[0].p2p, "--uri", "http://127.0.0.1:%d" % n.p2p]
    try:
        nodes[0].start()
        _wait(lambda: _http(nodes[0].http, "GET", "/collections"), "the first peer")
        for n in nodes[1:]:
            n.start()
        _wait(lambda: len(_http(nodes[0].http, "GET", "/cluster")["result"]["peers"]) == 3, "three peers")
        _seed(nodes[0].http, shard_number=3)
        rc, out = _run(tmp_path, "cluster", PLAY.format(
            name="three peers", url="http://127.0.0.1:%d" % nodes[0].http,
            peer_urls=json.dumps(["http://127.0.0.1:%d" % n.http for n in nodes]), key=KEY, ro_key=RO_KEY,
            dest=tmp_path / "backup", jwt_rbac="false", expect_peers="3"))
        assert rc == 0, out[-4000:]
    finally:
        for n in reversed(nodes):
            n.stop()
