#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: qdrant_snapshot

short_description: Back up Qdrant collections to snapshot files on the controller, and restore them

version_added: 0.1.0

author:
  - peekoff platform team (@peekoff)

description:
  - "O(state=backup): for every collection (or those in O(collections)) asks Qdrant for a collection snapshot
    (C(POST /collections/{name}/snapshots?wait=true), answered with a C(SnapshotDescription) C(name), C(size),
    C(checksum)), downloads it (C(GET /collections/{name}/snapshots/{snapshot})) into O(path) as
    C(<collection>.snapshot), verifies that its SHA-256 equals the C(checksum) Qdrant reported (a mismatch
    fails and keeps no file), records it in C(<path>/manifest.json) and then deletes the snapshot on the
    server (C(DELETE /collections/{name}/snapshots/{snapshot})) unless O(delete_remote=false)."
  - "I(Unchanged) collections are not snapshotted again. Qdrant snapshots are archives that differ byte for
    byte even when the data has not changed, so the module compares the data instead: a fingerprint (SHA-256
    over the collection's C(config.params) and every point's id, payload and vector, read in id order with
    C(POST /collections/{name}/points/scroll)) is stored in the manifest with each snapshot. A collection whose
    fingerprint equals the manifest's, and whose local file still has the recorded checksum, is reported
    C(unchanged). Reading every point costs a full scan of the collection; O(force=true) skips the comparison."
  - "O(state=restore): for every collection in the manifest (or those in O(collections)) checks the local files
    against the manifest checksums (a mismatch fails before anything is sent) and, where the collection exists,
    that the snapshot has the same vectors config and C(shard_number): Qdrant would refuse anything else with a 400
    after the upload (v1.19.0 lib/storage/src/content_manager/snapshots/recover.rs), so it is refused before
    anything is sent, naming both values. A target collection whose fingerprint already equals the manifest's is left
    C(unchanged) (unless O(force=true))."
  - "Qdrant's recovery over an existing collection is not atomic: the local shard is cleared before the snapshot's
    data is loaded, and a failed load leaves it empty (lib/collection/src/shards/replica_set/snapshots.rs). So before
    replacing an existing collection the module snapshots it to the controller, into
    C(<path>/pre-restore-<UTC time>/) (a snapshot directory with its own manifest, usable with O(state=restore)),
    reported as RV(collections[].pre_restore). Then it uploads the file(s) to
    C(POST /collections/{name}/snapshots/upload?wait=true&priority=<priority>&checksum=<sha256>) (multipart field
    C(snapshot)) and reads the whole collection back: it must equal the backup's fingerprint. If the upload fails
    or the data read back differs, the saved snapshot is uploaded again and verified, and the module FAILS, saying
    whether the collection was put back (or, if that failed too, where its saved data is). A collection that did not
    exist is not saved; a failed restore of it fails saying it may be incomplete. The pre-restore directories stay
    on the controller; delete them when they are no longer needed."
  - "Qdrant keeps every uploaded file in the collection's snapshots directory after the recovery
    (src/actix/api/snapshot_api.rs do_save_uploaded_snapshot); the module deletes each uploaded file afterwards
    (C(DELETE /collections/{name}/snapshots/{file})), also after a failure, and warns if it cannot."
  - Progress is reported per collection in RV(collections). Keys never appear in the result or messages.
  - "Cluster mode: the module asks C(GET /cluster) first. An answer that is not Qdrant's (a proxy's 502, a
    restarting peer behind the Service, a connection error) is asked again once, then the module fails before
    anything is done: taking a cluster for one node would record one peer's shards as a complete backup. Only
    Qdrant's own 403 (a key that may not read the cluster status, e.g. a collection-scoped JWT) lets it go on as for
    a single node, and then RV(not_verified) (and a warning) says that cluster mode was not checked."
  - "With more than one peer, a collection snapshot holds only the shards local to the peer that answers (Qdrant
    v1.19.0 C(Collection::create_snapshot)), so, as Qdrant's documentation asks, every peer is snapshotted on its
    own: through O(kubernetes_proxy) the pods the Service's selector matches (sorted by name, e.g. C(qdrant-0) ..
    C(qdrant-N-1)), each through the API server's pod proxy; over O(url) each of O(peer_urls), in peer order.
    Without them, or with another number of peers than C(/cluster) reports, it fails before anything is done. Files
    are C(<collection>.peer-<i>.snapshot), each checksum-verified; the manifest records them per peer with one
    fingerprint of the whole collection (read through the cluster)."
  - "Cluster restore follows Qdrant's recovery (recover.rs; docs concepts/snapshots.md \"Restore snapshot\"): a
    peer recovering a snapshot installs every shard the snapshot has data for and re-registers it, and with
    O(priority=snapshot) the other replicas of those shards are removed. Snapshot file i goes to peer i modulo the
    number of peers, so a single-node backup goes to the first peer (which then holds all its shards; rebalance
    later if needed), a cluster backup to a cluster of any size, and a cluster backup into a single node (which
    holds every shard and recovers each peer's file in turn). In distributed mode the replica changes are Raft
    proposals applied asynchronously (lib/storage/src/content_manager/toc/snapshots.rs), so the collection is read
    back until it equals the backup, for at most O(settle_timeout) seconds; then it fails (and puts the saved
    collection back, as above). Shard snapshots (C(/collections/{name}/shards/{shard}/snapshots)) are not used;
    O(per_shard=true) fails saying so."
  - "Where snapshots live on the server: the qdrant role puts them, their staging and uploads and the unpacked
    recoveries on the data volume (C(/qdrant/storage/snapshots), C(/qdrant/storage/snapshots/tmp),
    C(/qdrant/storage/tmp)), so a collection needs about its own size free there for a backup, and about twice
    the snapshot's size for a restore (the upload and the unpacked copy), while the old data is still on disk."
  - It refuses an V(http://) O(url) to a host that is not a loopback address (the key would cross the network in
    clear text) unless O(allow_plain_http=true).

extends_documentation_fragment:
  - peekoff.qdrant.qdrant

options:
  api_key:
    description:
      - "Qdrant's full API key. Creating snapshots needs write access to the collections, restoring needs global
        manage access (Qdrant answers a read-only key with its 403 C(Forbidden: Global manage access is required),
        which the module reports)."
      - O(read_only_api_key) is not used by this module.
    type: str
    required: true
  state:
    description:
      - V(backup) snapshots collections into O(path); V(restore) uploads the snapshots in O(path) into the instance.
    type: str
    choices: [backup, restore]
    required: true
  path:
    description:
      - Directory on the host running the module (usually the controller) holding C(<collection>.snapshot)
        files and C(manifest.json). Created (mode 0700) by O(state=backup).
    type: path
    required: true
  collections:
    description:
      - Names of the collections to back up or restore. Default, every collection (V(backup), from
        C(GET /collections)) or every collection in the manifest (V(restore)).
    type: list
    elements: str
  force:
    description:
      - Snapshot (or restore) even a collection whose data equals the manifest's fingerprint.
    type: bool
    default: false
  delete_remote:
    description:
      - After a verified download, delete the snapshot from Qdrant's snapshot directory (it would otherwise
        stay on the server's disk).
    type: bool
    default: true
  priority:
    description:
      - Qdrant's C(SnapshotPriority) for a restore. V(snapshot) prefers the snapshot's data over the current state.
    type: str
    choices: [snapshot, replica, no_sync]
    default: snapshot
  snapshot_timeout:
    description:
      - Seconds to wait for the snapshot requests that move data (create, download, upload); O(timeout) applies
        to the others.
    type: float
    default: 600
  settle_timeout:
    description:
      - Cluster mode, O(state=restore) - seconds to keep reading a restored collection back until it equals the
        backup, while Qdrant applies the recovery's replica changes through consensus. A single node is read once.
      - V(0) reads once in cluster mode too.
    type: float
    default: 120
    version_added: 0.1.0
  per_shard:
    description:
      - Shard snapshots (C(/collections/{name}/shards/{shard}/snapshots)). B(Not supported); V(true) fails with a
        message saying so. Cluster mode is handled with one collection snapshot per peer (see the description).
    type: bool
    default: false
  peer_urls:
    description:
      - With O(url) against a cluster, the address of each peer's own REST API, in peer order (the same order for
        the backup and the restore), as many as C(GET /cluster) reports peers. Not with O(kubernetes_proxy), which
        finds the peers itself (the Service's pods).
      - O(validate_certs), O(ca_path), O(client_cert), O(client_key) and O(allow_plain_http) apply to them as to
        O(url).
    type: list
    elements: str
    version_added: 0.1.0
  allow_plain_http:
    description:
      - Accept an V(http://) O(url) to a host that is not a loopback address (the key then crosses the network
        unencrypted). The module warns instead of failing.
    type: bool
    default: false

attributes:
  check_mode:
    support: full
    description:
      - Reads what it needs (cluster status, collections, fingerprints, local files and checksums, the snapshots'
        compatibility with existing collections) and reports for each collection what would happen
        (C(would_snapshot), C(would_restore), C(unchanged)) without creating, downloading, uploading or writing
        anything (no pre-restore snapshot either).
  diff_mode:
    support: none
    description:
      - Snapshots are binary archives; there is nothing meaningful to show.
  platform:
    support: full
    platforms: posix
    description:
      - Runs wherever Python can reach the Qdrant URL or the Kubernetes API, usually the controller.

notes:
  - Snapshot files are streamed to and from disk; they are never held in memory whole.
  - Through O(kubernetes_proxy) the kubeconfig user needs the RBAC verbs C(get), C(create) and C(delete) on
    C(services/proxy); in cluster mode also C(get) on C(services), C(list) on C(pods) and C(get), C(create) and
    C(delete) on C(pods/proxy).

seealso:
  - name: Qdrant snapshots
    description: What a collection snapshot holds and how it is restored.
    link: https://qdrant.tech/documentation/concepts/snapshots/
  - module: peekoff.qdrant.qdrant_check
"""

EXAMPLES = r"""
- name: Back up every collection into a dated directory on the controller
  peekoff.qdrant.qdrant_snapshot:
    url: https://qdrant.example.com
    api_key: "{{ qdrant_api_key }}"
    state: backup
    path: "/srv/backups/qdrant/{{ now(utc=true, fmt='%Y-%m-%d') }}"
  delegate_to: localhost
  register: __qdrant_backup

- name: Show per-collection progress
  ansible.builtin.debug:
    msg: "{{ __qdrant_backup.collections | map(attribute='name') | zip(__qdrant_backup.collections | map(attribute='action')) }}"

- name: Back up a three-peer cluster over URLs (one snapshot per peer, in peer order)
  peekoff.qdrant.qdrant_snapshot:
    url: https://qdrant.example.com
    peer_urls:
      - https://qdrant-0.qdrant.example.com
      - https://qdrant-1.qdrant.example.com
      - https://qdrant-2.qdrant.example.com
    api_key: "{{ qdrant_api_key }}"
    state: backup
    path: /srv/backups/qdrant/cluster
  delegate_to: localhost

- name: Restore two collections into a fresh namespace through the Kubernetes API server
  peekoff.qdrant.qdrant_snapshot:
    kubernetes_proxy:
      namespace: qdrant-restore
      service: qdrant
    api_key: "{{ qdrant_restore_api_key }}"
    state: restore
    path: /srv/backups/qdrant/2026-12-01
    collections: [products, faq]
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The snapshot directory.
  returned: always
  type: str
  sample: /srv/backups/qdrant/2026-12-01
url:
  description: The address used, without user information or query string.
  returned: always
  type: str
  sample: https://qdrant.example.com
not_verified:
  description:
    - What the module could not check, in words. Today - that cluster mode could not be checked because Qdrant
      refused this key C(GET /cluster) with its own 403 (the backup then went on as for a single node).
  returned: always
  type: list
  elements: str
  sample: []
collections:
  description: One entry per collection, in the order handled.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Collection name.
      type: str
      sample: products
    action:
      description:
        - V(snapshotted), V(restored), V(unchanged), or in check mode V(would_snapshot), V(would_restore).
        - V(failed) for the collection whose restore failed (the module fails; the message says whether it was put
          back).
      type: str
      sample: snapshotted
    file:
      description: The local snapshot file.
      type: str
      sample: /srv/backups/qdrant/2026-12-01/products.snapshot
    snapshot:
      description: Qdrant's name of the snapshot taken (or restored from).
      type: str
      sample: products-5381970470469335-2026-12-01-18-20-00.snapshot
    checksum:
      description: SHA-256 of the snapshot file, as Qdrant reported it and as verified.
      type: str
      sample: 3f9a0c5b0f6e2d9d4b7b8a1c2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f7
    size:
      description: Size of the snapshot file in bytes.
      type: int
      sample: 1048576
    points:
      description: Number of points read for the fingerprint.
      type: int
      sample: 1200
    verified:
      description:
        - For V(restored), always V(true) - the restored collection's fingerprint equals the manifest's (a
          difference fails the module).
      type: bool
      returned: when action is restored
      sample: true
    pre_restore:
      description:
        - The directory on the controller holding the snapshot of the collection taken before it was replaced (a
          snapshot directory with its own manifest.json).
      type: str
      returned: when an existing collection was restored over
      sample: /srv/backups/qdrant/2026-12-01/pre-restore-20261207T195338Z
    peers:
      description:
        - Cluster mode, one entry per peer (then RV(collections[].file), RV(collections[].snapshot) and
          RV(collections[].checksum) are V(null) and RV(collections[].size) is the sum).
      type: list
      elements: dict
      returned: in cluster mode
      contains:
        peer:
          description: The peer (pod name through O(kubernetes_proxy), else its address from O(peer_urls)).
          type: str
          sample: qdrant-1
        file:
          description: The local snapshot file of that peer.
          type: str
          sample: /srv/backups/qdrant/2026-12-01/products.peer-1.snapshot
        snapshot:
          description: Qdrant's name of that peer's snapshot.
          type: str
          sample: products-7421339020712263-2026-12-01-18-20-00.snapshot
        checksum:
          description: SHA-256 of that file, as Qdrant reported it and as verified.
          type: str
          sample: 3f9a0c5b0f6e2d9d4b7b8a1c2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f7
        size:
          description: Size of that file in bytes.
          type: int
          sample: 524288
"""

import hashlib
import json
import os
import tarfile
import tempfile
import time
import uuid

from urllib.parse import quote, urlencode

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import (
    QdrantClient,
    QdrantError,
    plain_http_host,
    redact_url,
    validate_base_url,
)
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_module import qdrant_connect, qdrant_module

MANIFEST = "manifest.json"
PRE_RESTORE_DIR = "pre-restore-%Y%m%dT%H%M%SZ"  # under path: the collections a restore replaces, saved first
CLUSTER_ATTEMPTS = 2
CLUSTER_RETRY_DELAY = 2.0
SETTLE_POLL = 0.5
MANIFEST_FORMAT = "peekoff.qdrant.snapshots/v1"
SCROLL_PAGE = 1000
CHUNK = 1024 * 1024
# Characters Qdrant refuses in a collection name (lib/collection/src/operations/validation: validate_collection_name)
BAD_NAME_CHARS = set('<>:"/\\|?*\0')


class SnapshotError(Exception):
    pass


def _answer(resp):
    """Qdrant's error text (status.error) or a short description of the answer."""
    try:
        doc = resp.json()
        error = doc.get("status", {}).get("error") if isinstance(doc, dict) and isinstance(doc.get("status"), dict) else None
    except QdrantError:
        error = None
    return "HTTP %d %r" % (resp.status, error) if error else resp.describe()


def _qdrant_refusal(resp):
    """True for Qdrant's own 403: JSON {"status": {"error": "Forbidden: ..."}} (lib/storage/src/rbac/mod.rs); a
    proxy or Gateway in front answers 403 with other bodies."""
    try:
        doc = resp.json()
    except QdrantError:
        return False
    error = doc.get("status", {}).get("error") if isinstance(doc, dict) and isinstance(doc.get("status"), dict) else None
    return isinstance(error, str) and error.startswith("Forbidden")


def _without_nulls(value):
    if isinstance(value, dict):
        return dict((k, _without_nulls(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _snapshot_params(path):
    """The collection params (vectors, shard_number, ...) a snapshot file holds, or None when they cannot be read.
    Qdrant's archive is a tar with the collection's config.json (CollectionConfigInternal, read back by
    recover.rs after unpacking); the test stand-in's archive is one JSON document."""
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if member.isfile() and member.name.lstrip("./") == "config.json":
                    doc = json.load(tar.extractfile(member))
                    return doc.get("params") if isinstance(doc, dict) else None
        return None
    except (tarfile.TarError, ValueError, EOFError):
        pass
    try:
        with open(path, "rb") as f:
            if f.read(1) != b"{":
                return None
            f.seek(0)
            doc = json.load(f)
    except (IOError, OSError, ValueError):
        return None
    return doc.get("params") if isinstance(doc, dict) and doc.get("format") == "qdrant-standin-snapshot" else None


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _MultipartFile:
    """A file-like multipart/form-data body with one file field, read in chunks (never held in memory)."""

    def __init__(self, field, filename, fileobj, size):
        boundary = "peekoff-qdrant-%s" % uuid.uuid4().hex
        self.content_type = "multipart/form-data; boundary=%s" % boundary
        head = ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                'Content-Type: application/octet-stream\r\n\r\n' % (boundary, field, filename)).encode("utf-8")
        tail = ("\r\n--%s--\r\n" % boundary).encode("ascii")
        self.length = len(head) + size + len(tail)
        self._parts = [_Bytes(head), fileobj, _Bytes(tail)]

    def read(self, size=-1):
        out = b""
        while self._parts and (size < 0 or len(out) < size):
            chunk = self._parts[0].read(-1 if size < 0 else size - len(out))
            if not chunk:
                self._parts.pop(0)
                continue
            out += chunk
        return out


class _Bytes:
    def __init__(self, data):
        self._data = data

    def read(self, size=-1):
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


class Snapshotter:
    def __init__(self, client, api_key, path, check_mode=False, force=False, delete_remote=True,
                 priority="snapshot", snapshot_timeout=600.0, peer_finder=None, settle_timeout=120.0):
        self.client = client
        self.peer_finder = peer_finder  # callable -> [(label, client)] of every peer in ordinal order, or None
        self.peers = None  # cluster mode: [(label, client)], set by detect_cluster
        self.api_key = api_key
        self.path = path
        self.check_mode = check_mode
        self.force = force
        self.delete_remote = delete_remote
        self.priority = priority
        self.snapshot_timeout = snapshot_timeout
        self.settle_timeout = settle_timeout
        self.results = []
        self.not_verified = []  # what could not be checked (RV(not_verified))
        self.data_fingerprints = {}  # name -> sha256 of the points only (see fingerprint)
        self.warnings = []

    # -- plumbing
    def _get_ok(self, method, path, what, body=None, timeout=None, client=None):
        resp = (client or self.client).request(method, path, credential=self.api_key, body=body, timeout=timeout)
        if resp.status != 200:
            raise SnapshotError("%s: Qdrant answered %s" % (what, _answer(resp)))
        doc = resp.json()
        if not isinstance(doc, dict) or "result" not in doc:
            raise SnapshotError("%s: not Qdrant's answer: %s" % (what, resp.describe()))
        return doc["result"]

    @staticmethod
    def _coll(name):
        return "/collections/" + quote(name, safe="")

    def detect_cluster(self):
        """Cluster mode with more than one peer: a collection snapshot holds only the shards local to the peer that
        answers (Qdrant v1.19.0 lib/collection/src/collection/snapshots.rs create_snapshot), so every peer is
        snapshotted on its own, as Qdrant's documentation asks. Finds the peers (self.peers) or refuses.

        GET /cluster must be read: an answer that is not Qdrant's (a proxy's 502, a restarting peer behind the
        Service, a connection error) is asked again once and then fails, because treating a cluster as one node
        would record one peer's shards as a complete backup. Only Qdrant's own 403 (the key may not read the
        cluster status) lets the module go on as a single node, and the result says so (RV(not_verified))."""
        problem = None
        for attempt in range(CLUSTER_ATTEMPTS):
            if attempt:
                time.sleep(CLUSTER_RETRY_DELAY)
            try:
                resp = self.client.request("GET", "/cluster", credential=self.api_key)
            except QdrantError as e:
                problem = str(e)
                continue
            if resp.status == 403 and _qdrant_refusal(resp):
                self.not_verified.append(
                    "cluster mode: GET /cluster answered Qdrant's own %s, so this key cannot read the cluster status "
                    "and the module could not check whether Qdrant runs as a cluster. It went on as for a single node: "
                    "if Qdrant is a cluster, each snapshot holds only the shards of the peer that answered" % _answer(resp))
                return
            if resp.status != 200:
                problem = "GET /cluster answered %s" % _answer(resp)
                continue
            try:
                result = resp.json().get("result")
            except (QdrantError, AttributeError):
                result = None
            if not isinstance(result, dict) or result.get("status") not in ("enabled", "disabled"):
                problem = "GET /cluster: not Qdrant's answer: %s" % resp.describe()
                continue
            break
        else:
            raise SnapshotError(
                "%s (asked %d times): without the cluster status the module cannot tell a cluster (one snapshot per "
                "peer) from a single node, and a backup of one peer's shards would pass as complete; nothing was done. "
                "Check the address (a proxy or Service in front of a restarting peer) and try again"
                % (problem, CLUSTER_ATTEMPTS))
        peers = result.get("peers")
        if result.get("status") != "enabled" or not isinstance(peers, dict) or len(peers) < 2:
            return
        if self.peer_finder is None:
            raise SnapshotError(
                "Qdrant runs in cluster mode with %d peers: a collection snapshot holds only the shards of the peer "
                "that answers, so every peer must be snapshotted on its own. Give peer_urls (each peer's own address, "
                "in peer order) or use kubernetes_proxy (the Service's pods are then asked one by one)" % len(peers))
        found = self.peer_finder()
        if len(found) != len(peers):
            raise SnapshotError(
                "Qdrant runs in cluster mode with %d peers but %d peer address(es) were found (%s): every peer must "
                "be snapshotted; nothing was done" % (len(peers), len(found), ", ".join(p[0] for p in found) or "none"))
        self.peers = found

    def list_collections(self):
        result = self._get_ok("GET", "/collections", "GET /collections")
        return [c["name"] for c in result.get("collections", [])]

    def fingerprint(self, name):
        """(sha256, points) of a collection's config.params and every point (id, payload, vector) in id order;
        (None, 0) when the collection does not exist. The sha256 of the points alone (the data a restore must bring
        back, whatever config the existing collection keeps) is left in self.data_fingerprints[name]."""
        self.data_fingerprints.pop(name, None)
        resp = self.client.request("GET", self._coll(name), credential=self.api_key)
        if resp.status == 404:
            return None, 0
        if resp.status != 200:
            raise SnapshotError("GET collection %s: Qdrant answered %s" % (name, _answer(resp)))
        info = resp.json().get("result") or {}
        digest = hashlib.sha256()
        digest.update(json.dumps((info.get("config") or {}).get("params"), sort_keys=True).encode("utf-8"))
        data = hashlib.sha256()
        offset, count, seen = None, 0, set()
        while True:
            body = {"limit": SCROLL_PAGE, "with_payload": True, "with_vector": True}
            if offset is not None:
                body["offset"] = offset
            page = self._get_ok("POST", self._coll(name) + "/points/scroll", "scroll collection %s" % name, body=body)
            for point in page.get("points") or []:
                line = b"\n" + json.dumps([point.get("id"), point.get("payload"), point.get("vector")],
                                          sort_keys=True, separators=(",", ":")).encode("utf-8")
                digest.update(line)
                data.update(line)
                count += 1
            offset = page.get("next_page_offset")
            if offset is None:
                self.data_fingerprints[name] = data.hexdigest()
                return digest.hexdigest(), count
            key = json.dumps(offset)
            if key in seen:
                raise SnapshotError("scroll collection %s: Qdrant returned the page offset %s twice" % (name, key))
            seen.add(key)

    # -- manifest
    def read_manifest(self, required):
        file_path = os.path.join(self.path, MANIFEST)
        if not os.path.exists(file_path):
            if required:
                raise SnapshotError("%s has no %s: it is not a snapshot directory written by qdrant_snapshot"
                                    % (self.path, MANIFEST))
            return {"format": MANIFEST_FORMAT, "collections": {}}
        try:
            with open(file_path) as f:
                manifest = json.load(f)
        except (IOError, OSError, ValueError) as e:
            raise SnapshotError("cannot read %s: %s" % (file_path, e))
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
                or not isinstance(manifest.get("collections"), dict):
            raise SnapshotError("%s is not a qdrant_snapshot manifest (format %s)" % (file_path, MANIFEST_FORMAT))
        return manifest

    def write_manifest(self, manifest):
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=self.path)
        with os.fdopen(fd, "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, os.path.join(self.path, MANIFEST))

    def _file(self, name):
        return os.path.join(self.path, name + ".snapshot")

    def _peer_file(self, name, index):
        return os.path.join(self.path, "%s.peer-%d.snapshot" % (name, index))

    def _peer_files_match(self, entry, name):
        peers = entry.get("peers")
        return isinstance(peers, list) and len(peers) == len(self.peers) and all(
            os.path.isfile(self._peer_file(name, i)) and _sha256_file(self._peer_file(name, i)) == p.get("checksum")
            for i, p in enumerate(peers))

    def _file_matches(self, entry, name):
        file_path = self._file(name)
        return os.path.isfile(file_path) and _sha256_file(file_path) == entry.get("checksum")

    # -- backup
    def backup(self, names):
        if not self.check_mode and not os.path.isdir(self.path):
            os.makedirs(self.path, mode=0o700)
        manifest = self.read_manifest(required=False)
        if names is None:
            names = self.list_collections()
        for name in names:
            fingerprint, points = self.fingerprint(name)
            if fingerprint is None:
                raise SnapshotError("collection %s does not exist (Qdrant answered 404)" % name)
            entry = manifest["collections"].get(name)
            if self.peers:
                self.results.append(self._backup_peers(manifest, name, entry, fingerprint, points))
                continue
            item = dict(name=name, file=self._file(name), points=points)
            if entry and not self.force and entry.get("fingerprint") == fingerprint and self._file_matches(entry, name):
                item.update(action="unchanged", snapshot=entry.get("snapshot"), checksum=entry.get("checksum"),
                            size=entry.get("size"))
            elif self.check_mode:
                item.update(action="would_snapshot", snapshot=None, checksum=None, size=None)
            else:
                desc = self._snapshot_and_download(name)
                item.update(action="snapshotted", snapshot=desc["name"], checksum=desc["checksum"], size=desc["size"])
                manifest["collections"][name] = dict(
                    file=os.path.basename(self._file(name)), snapshot=desc["name"], checksum=desc["checksum"],
                    size=desc["size"], fingerprint=fingerprint, points=points,
                    data_fingerprint=self.data_fingerprints.get(name),
                    creation_time=desc.get("creation_time"), source=self.client.display_url)
                self.write_manifest(manifest)  # after each collection: progress survives a later failure
            self.results.append(item)
        return self.results

    def _backup_peers(self, manifest, name, entry, fingerprint, points):
        """Cluster mode: one collection snapshot per peer (each holds that peer's local shards)."""
        item = dict(name=name, file=None, snapshot=None, checksum=None, size=None, points=points, peers=[])
        if entry and not self.force and entry.get("fingerprint") == fingerprint and self._peer_files_match(entry, name):
            item.update(action="unchanged", peers=[dict(p, file=self._peer_file(name, i))
                                                   for i, p in enumerate(entry["peers"])])
        elif self.check_mode:
            item.update(action="would_snapshot", peers=[dict(peer=label, file=self._peer_file(name, i), snapshot=None,
                                                             checksum=None, size=None)
                                                        for i, (label, _c) in enumerate(self.peers)])
        else:
            for i, (label, client) in enumerate(self.peers):
                desc = self._snapshot_and_download(name, client=client, target=self._peer_file(name, i),
                                                   where=" on peer %s" % label)
                item["peers"].append(dict(peer=label, file=self._peer_file(name, i), snapshot=desc["name"],
                                          checksum=desc["checksum"], size=desc["size"]))
            item.update(action="snapshotted")
            manifest["collections"][name] = dict(
                peers=[dict(p, file=os.path.basename(p["file"])) for p in item["peers"]], cluster_peers=len(self.peers),
                fingerprint=fingerprint, points=points, source=self.client.display_url,
                data_fingerprint=self.data_fingerprints.get(name))
            self.write_manifest(manifest)
        item["size"] = sum(p.get("size") or 0 for p in item["peers"]) if item["action"] != "would_snapshot" else None
        return item

    def _snapshot_and_download(self, name, client=None, target=None, where=""):
        client = client or self.client
        target = target or self._file(name)
        desc = self._get_ok("POST", self._coll(name) + "/snapshots?wait=true", "create snapshot of %s%s" % (name, where),
                            timeout=self.snapshot_timeout, client=client)
        if not isinstance(desc, dict) or not desc.get("name"):
            raise SnapshotError("create snapshot of %s: no SnapshotDescription in Qdrant's answer" % name)
        if not desc.get("checksum"):
            raise SnapshotError("create snapshot of %s: Qdrant reported no checksum for %s; refusing to keep a file "
                                "that cannot be verified" % (name, desc["name"]))
        remote = self._coll(name) + "/snapshots/" + quote(desc["name"], safe="")
        fd, tmp = tempfile.mkstemp(prefix=".%s-" % name, suffix=".part", dir=self.path)
        digest = hashlib.sha256()
        size = [0]
        try:
            with os.fdopen(fd, "wb") as f:
                def sink(chunk):
                    digest.update(chunk)
                    size[0] += len(chunk)
                    f.write(chunk)
                resp = client.request("GET", remote, credential=self.api_key, timeout=self.snapshot_timeout, sink=sink)
            if resp.status != 200:
                raise SnapshotError("download snapshot %s of %s: Qdrant answered %s" % (desc["name"], name, _answer(resp)))
            if digest.hexdigest() != desc["checksum"].lower():
                raise SnapshotError(
                    "download snapshot %s of %s: checksum mismatch: Qdrant reported sha256 %s, the %d bytes received "
                    "have %s; the file was not kept" % (desc["name"], name, desc["checksum"], size[0], digest.hexdigest()))
            if desc.get("size") is not None and desc["size"] != size[0]:
                raise SnapshotError("download snapshot %s of %s: Qdrant reported %s bytes, %d received; the file was "
                                    "not kept" % (desc["name"], name, desc["size"], size[0]))
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if self.delete_remote:
            self._get_ok("DELETE", remote + "?wait=true", "delete snapshot %s of %s on the server%s" % (
                desc["name"], name, where), client=client)
        desc["size"] = size[0]
        return desc

    # -- restore
    def collection_params(self, name):
        """config.params of a collection, or None when it does not exist."""
        resp = self.client.request("GET", self._coll(name), credential=self.api_key)
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise SnapshotError("GET collection %s: Qdrant answered %s" % (name, _answer(resp)))
        return ((resp.json().get("result") or {}).get("config") or {}).get("params") or {}

    def _targets(self, count):
        """Where each of ``count`` snapshot files goes: file i to peer i modulo the peers (a recovering peer
        installs every shard the snapshot has data for, recover.rs), or all to the single node (which holds every
        shard of the collection and recovers those each snapshot has, one after the other)."""
        if self.peers:
            return [self.peers[i % len(self.peers)] for i in range(count)]
        return [(self.client.display_url, self.client)] * count

    def _compatible(self, name, file_path):
        """Refuse before any upload what Qdrant would answer with a 400 after the upload: an existing collection
        with other vectors or another shard_number than the snapshot's (recover.rs, "Snapshot is not compatible
        with existing collection")."""
        current = self.collection_params(name)
        wanted = _snapshot_params(file_path)
        if current is None or wanted is None:
            return
        for key, default in (("vectors", None), ("shard_number", 1)):
            have, got = _without_nulls(current.get(key, default)), _without_nulls(wanted.get(key, default))
            if have != got:
                raise SnapshotError(
                    "collection %s exists with %s %s but snapshot %s has %s %s: Qdrant refuses to recover a snapshot "
                    "whose vectors or shard_number differ from the existing collection's (HTTP 400 \"Snapshot is not "
                    "compatible with existing collection\"); nothing was restored. Restore into another instance, or "
                    "back the collection up and delete it first" % (
                        name, key, json.dumps(have, sort_keys=True), file_path, key, json.dumps(got, sort_keys=True)))

    def restore(self, names):
        if not os.path.isdir(self.path):
            raise SnapshotError("path %s is not a directory" % self.path)
        manifest = self.read_manifest(required=True)
        if names is None:
            names = sorted(manifest["collections"])
        missing = [n for n in names if n not in manifest["collections"]]
        if missing:
            raise SnapshotError("not in %s: %s (it has: %s)" % (
                os.path.join(self.path, MANIFEST), ", ".join(missing), ", ".join(sorted(manifest["collections"])) or "none"))
        plans = []
        for name in names:  # the right kind of instance, every file verified and compatible, before any upload
            entry = manifest["collections"][name]
            if isinstance(entry.get("peers"), list):
                files = [(self._peer_file(name, i), p.get("checksum")) for i, p in enumerate(entry["peers"])]
            else:
                files = [(self._file(name), entry.get("checksum"))]
            for file_path, checksum in files:
                if not os.path.isfile(file_path):
                    raise SnapshotError("snapshot file %s is missing" % file_path)
                actual = _sha256_file(file_path)
                if actual != checksum:
                    raise SnapshotError("snapshot file %s has sha256 %s but the manifest records %s: checksum "
                                        "mismatch, nothing was restored" % (file_path, actual, checksum))
            self._compatible(name, files[0][0])
            plans.append((name, entry, files))
        pre_restore = os.path.join(self.path, time.strftime(PRE_RESTORE_DIR, time.gmtime()))
        for name, entry, files in plans:
            self.results.append(self._restore_one(name, entry, files, pre_restore))
        return self.results

    def _restore_one(self, name, entry, files, pre_restore):
        if isinstance(entry.get("peers"), list):
            item = dict(name=name, file=None, snapshot=None, checksum=None, points=entry.get("points"),
                        size=sum(p.get("size") or 0 for p in entry["peers"]),
                        peers=[dict(p, file=self._peer_file(name, i)) for i, p in enumerate(entry["peers"])])
        else:
            item = dict(name=name, file=self._file(name), snapshot=entry.get("snapshot"), checksum=entry["checksum"],
                        size=entry.get("size"), points=entry.get("points"))
        current, current_count = self.fingerprint(name)
        if entry.get("data_fingerprint"):  # the data decides: an existing collection keeps its own other config
            same = self.data_fingerprints.get(name) == entry["data_fingerprint"]
        else:
            same = current == entry.get("fingerprint")
        if current is not None and same and not self.force:
            item["action"] = "unchanged"
            return item
        if self.check_mode:
            item["action"] = "would_restore"
            return item
        saved = None
        if current is not None:  # Qdrant's recovery is not atomic: keep a way back first
            saved = self._save_pre_restore(name, pre_restore)
            item["pre_restore"] = pre_restore
        try:
            self._upload_all(name, files)
            count = self._verify(name, entry, "the backup")
        except (SnapshotError, QdrantError) as e:
            self.results.append(dict(item, action="failed"))
            raise SnapshotError(self._put_back(name, e, saved, current, current_count, pre_restore))
        item.update(action="restored", verified=True, points=count)
        return item

    def _save_pre_restore(self, name, pre_restore):
        """Snapshot the collection about to be replaced into ``pre_restore`` (a qdrant_snapshot directory of its own,
        with its manifest, which state=restore accepts). Returns [(file, checksum)]."""
        saver = Snapshotter(self.client, self.api_key, pre_restore, force=True, delete_remote=True,
                            snapshot_timeout=self.snapshot_timeout)
        saver.peers = self.peers
        saver.backup([name])
        entry = saver.read_manifest(required=True)["collections"][name]
        if isinstance(entry.get("peers"), list):
            return [(saver._peer_file(name, i), p["checksum"]) for i, p in enumerate(entry["peers"])]
        return [(saver._file(name), entry["checksum"])]

    def _put_back(self, name, error, saved, fingerprint, count, pre_restore):
        """The message of a failed restore, after putting the collection's saved data back where there is one."""
        msg = "restore of collection %s failed: %s" % (name, error)
        if saved is None:
            return (msg + ". The collection did not exist before this restore; what Qdrant created of it may be "
                    "incomplete: delete it or restore again")
        try:
            self._upload_all(name, saved)
            self._verify(name, dict(fingerprint=fingerprint, points=count), "its pre-restore state")
        except (SnapshotError, QdrantError) as e:
            return (msg + ". Putting the collection's previous data back FAILED too (%s); that data is saved in %s: "
                    "restore it with state=restore path=%s collections=[%s]" % (e, pre_restore, pre_restore, name))
        return (msg + ". The collection was put back from the snapshot saved before the restore (%s, verified: "
                "%d points, the data it held before); nothing of the backup was kept" % (pre_restore, count))

    def _upload_all(self, name, files):
        """Upload each file to its peer (or the single node), then delete the uploaded files: Qdrant keeps an
        uploaded snapshot in the collection's snapshots directory after the recovery (snapshot_api.rs
        do_save_uploaded_snapshot)."""
        uploaded = []
        try:
            for (file_path, checksum), (label, client) in zip(files, self._targets(len(files))):
                uploaded.append((label, client, os.path.basename(file_path)))
                self._upload(name, file_path, checksum, client,
                             where=" on peer %s" % label if self.peers else "")
        finally:
            for label, client, upload in uploaded:
                try:
                    resp = client.request("DELETE", "%s/snapshots/%s?wait=true" % (self._coll(name), quote(upload, safe="")),
                                          credential=self.api_key)
                    if resp.status not in (200, 404):
                        raise SnapshotError(_answer(resp))
                except (SnapshotError, QdrantError) as e:
                    self.warnings.append("the uploaded snapshot %s of collection %s stays in the snapshots directory of "
                                         "%s: deleting it failed: %s" % (upload, name, label, e))

    def _verify(self, name, entry, what):
        """Read the collection back until it equals ``entry``'s data_fingerprint (the points; an existing collection
        keeps its own config apart from vectors and shard_number, recover.rs), or its fingerprint (manifests written
        before data_fingerprint). In cluster mode the recovery's replica changes are Raft proposals applied
        asynchronously (lib/storage/src/content_manager/toc/snapshots.rs), so it is polled until settle_timeout; a
        single node applies them before it answers, one read suffices."""
        points = entry.get("points")
        deadline = time.monotonic() + (self.settle_timeout if self.peers else 0)
        while True:
            try:
                after, count = self.fingerprint(name)
                problem = None
            except (SnapshotError, QdrantError) as e:
                after, count, problem = None, 0, str(e)
            if entry.get("data_fingerprint"):
                after, fingerprint = self.data_fingerprints.get(name), entry["data_fingerprint"]
            else:
                fingerprint = entry.get("fingerprint")
            if after is not None and after == fingerprint:
                return count
            if time.monotonic() >= deadline:
                break
            time.sleep(SETTLE_POLL)
        waited = " after waiting %s s for the replicas to settle" % _num(self.settle_timeout) if self.peers else ""
        if problem:
            raise SnapshotError("the collection could not be read back%s: %s" % (waited, problem))
        raise SnapshotError("the data read back differs from %s (%d points read, %s expected)%s" % (
            what, count, points, waited))

    def _upload(self, name, file_path, checksum, client, where=""):
        query = urlencode([("wait", "true"), ("priority", self.priority), ("checksum", checksum)])
        with open(file_path, "rb") as f:
            body = _MultipartFile("snapshot", os.path.basename(file_path), f, os.path.getsize(file_path))
            resp = client.request("POST", self._coll(name) + "/snapshots/upload?" + query, credential=self.api_key,
                                  data=body, content_type=body.content_type, content_length=body.length,
                                  timeout=self.snapshot_timeout)
        if resp.status != 200:
            raise SnapshotError("upload of %s%s: Qdrant answered %s" % (file_path, where, _answer(resp)))
        try:
            ok = resp.json().get("result") is True
        except (QdrantError, AttributeError):
            ok = False
        if not ok:
            raise SnapshotError("upload of %s%s: Qdrant did not confirm: %s" % (file_path, where, resp.describe()))


def _num(value):
    return ("%d" % value) if float(value).is_integer() else ("%s" % value)


def main():
    module = qdrant_module(
        dict(
            state=dict(type="str", required=True, choices=["backup", "restore"]),
            path=dict(type="path", required=True),
            collections=dict(type="list", elements="str"),
            force=dict(type="bool", default=False),
            delete_remote=dict(type="bool", default=True),
            priority=dict(type="str", default="snapshot", choices=["snapshot", "replica", "no_sync"]),
            snapshot_timeout=dict(type="float", default=600.0),
            settle_timeout=dict(type="float", default=120.0),
            per_shard=dict(type="bool", default=False),
            peer_urls=dict(type="list", elements="str"),
            allow_plain_http=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("peer_urls", "kubernetes_proxy")],
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, path=params["path"], url=None, collections=[], not_verified=[])

    if params["per_shard"]:
        module.fail_json(msg="per_shard: shard snapshots (/collections/{name}/shards/{shard}/snapshots) are not "
                             "supported by qdrant_snapshot; in cluster mode it takes one collection snapshot per peer "
                             "(kubernetes_proxy or peer_urls), the way Qdrant's documentation describes", **result)
    if not params["api_key"]:
        module.fail_json(msg="api_key must not be empty", **result)
    if params["timeout"] <= 0 or params["snapshot_timeout"] <= 0 or params["settle_timeout"] < 0:
        module.fail_json(msg="timeout and snapshot_timeout must be positive numbers of seconds, settle_timeout zero "
                             "or more", **result)
    names = params["collections"]
    if names is not None:
        bad = [n for n in names if not n or n in (".", "..") or BAD_NAME_CHARS & set(n)]
        if bad:
            module.fail_json(msg="not valid Qdrant collection names: %s" % ", ".join(repr(n) for n in bad), **result)
        names = list(dict.fromkeys(names))
    host = plain_http_host(params["url"])
    if host:
        text = ("url %s is plain http:// to %s, which is not a loopback address: the api_key travels in clear text "
                "over the network. Use https:// (or kubernetes_proxy)" % (redact_url(params["url"]), host))
        if not params["allow_plain_http"]:
            module.fail_json(msg=text + ", or set allow_plain_http=true to accept the risk", **result)
        module.warn(text + " (allowed by allow_plain_http=true).")

    client = qdrant_connect(module, result)
    result["url"] = client.display_url
    peer_finder = None
    if params["kubernetes_proxy"]:
        def peer_finder():
            _selector, pods = client.service_pods()
            unnamed = [name for name, port, _phase, _ip in pods if port is None]
            if unnamed:
                raise SnapshotError("pods %s declare no container port for Service port %s" % (
                    ", ".join(unnamed), client.port))
            return [(name, client.for_pod(name, port)) for name, port, _phase, _ip in pods]
    elif params["peer_urls"]:
        try:
            peer_clients = []
            for peer_url in params["peer_urls"]:
                peer = QdrantClient(validate_base_url(peer_url), timeout=params["timeout"],
                                    validate_certs=params["validate_certs"], ca_path=params["ca_path"])
                if plain_http_host(peer.base_url) and not params["allow_plain_http"]:
                    raise QdrantError("%s is plain http:// to a host that is not a loopback address (the api_key "
                                      "would travel in clear text); use https:// or allow_plain_http=true"
                                      % peer.display_url)
                if params["client_cert"]:
                    peer.load_client_certificate(params["client_cert"], params["client_key"])
                peer_clients.append((peer.display_url, peer))
        except QdrantError as e:
            module.fail_json(msg="peer_urls: %s" % e, **result)

        def peer_finder():
            return peer_clients

    snap = Snapshotter(client, params["api_key"], params["path"], check_mode=module.check_mode,
                       force=params["force"], delete_remote=params["delete_remote"], priority=params["priority"],
                       snapshot_timeout=params["snapshot_timeout"], peer_finder=peer_finder,
                       settle_timeout=params["settle_timeout"])
    try:
        snap.detect_cluster()
        if params["state"] == "backup":
            snap.backup(names)
        else:
            snap.restore(names)
    except (SnapshotError, QdrantError, IOError, OSError) as e:
        for warning in snap.warnings:
            module.warn(warning)
        result.update(collections=snap.results, not_verified=snap.not_verified,
                      changed=any(i["action"] in ("snapshotted", "restored", "failed") for i in snap.results))
        module.fail_json(msg="%s %s at %s failed after %d collection(s) done: %s" % (
            params["state"], params["path"], client.display_url, len(snap.results), e), **result)
    for warning in snap.warnings + snap.not_verified:
        module.warn(warning)
    result.update(collections=snap.results, not_verified=snap.not_verified,
                  changed=any(i["action"] != "unchanged" for i in snap.results))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
