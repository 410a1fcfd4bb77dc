"""playbooks/rotate_key.yml with qdrant_secret_backend=external-secrets, end to end on the local cluster. The
playbook cannot write the secret store: it annotates the ExternalSecret ``force-sync: <epoch>`` and waits for the
Secret to change. A fake External Secrets Operator (a thread) stands in for the real one and follows what the
playbook relies on: the operator reconciles an ExternalSecret again when its annotations change and then writes
the store's current value into the target Secret (external-secrets.io FAQ, "How do I force a refresh?": annotate
the ExternalSecret with force-sync=$(date +%s)); it marks the ExternalSecret Ready (status.conditions type Ready,
reason SecretSynced) with status.refreshTime.

1. The user forgot to put a new key into the store: the forced refresh brings the same key, the playbook fails
   saying what to do, and Qdrant keeps running on its key (no restart).
2. The new key is in the store: the forced refresh brings it, the pods restart on it (key checksum on the pod
   template) and qdrant_check proves in the same run that Qdrant refuses the old key (its own 401). No key is
   printed at -vvv."""
import base64
import secrets
import threading
import time
import urllib.error
import urllib.request

import pytest

ES = ("external-secrets.io/v1", "ExternalSecret")
SECRET = "app-qdrant-api-key"
KEY_FIELD = "QDRANT__SERVICE__API_KEY"
CHECKSUM = "peekoff.qdrant/api-key-checksum"
ESO = ("-e", "qdrant_secret_backend=external-secrets")


class FakeExternalSecretsOperator:
    """Syncs ExternalSecret qdrant/app-qdrant-api-key from ``store`` when it appears and whenever its annotations
    change (the force-sync the playbook sets)."""

    def __init__(self, emu, namespace, value):
        self.emu, self.namespace = emu, namespace
        self.store = {"app-qdrant-api-key": value}
        self.syncs = []  # the force-sync annotation value of each sync (None for the first)
        self._seen = object()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            es = self.emu.get(*ES, self.namespace, SECRET)
            if es is not None:
                annotations = dict(es["metadata"].get("annotations") or {})
                if annotations != self._seen:
                    self._sync(es)
                    self._seen = annotations
                    self.syncs.append(annotations.get("force-sync"))
            self._stop.wait(0.1)

    def _sync(self, es):
        remote = (es["spec"].get("data") or [{}])[0].get("remoteRef", {}).get("key", SECRET)
        data = {KEY_FIELD: base64.b64encode(self.store[remote].encode()).decode()}
        emu = self.emu
        current = emu.get("v1", "Secret", self.namespace, SECRET)
        if current is None:
            emu.create_object({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
                               "metadata": {"name": SECRET, "namespace": self.namespace}})
        elif current.get("data") != data:
            rt = emu.cluster.type_for("v1", "Secret")
            with emu.cluster.lock:
                emu.cluster.update(rt, self.namespace, SECRET, dict(current, data=data))
        emu.set_status(*ES, self.namespace, SECRET, {
            "refreshTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                            "message": "secret synced"}]})

    def stop(self):
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def eso_cluster(make_local_cluster):
    cluster = make_local_cluster()
    operator = FakeExternalSecretsOperator(cluster.emu, cluster.namespace, "store-key-1-%s" % secrets.token_hex(16))
    yield cluster, operator
    operator.stop()


def _status(url, key):
    req = urllib.request.Request(url + "/collections", headers={"api-key": key})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _key(cluster):
    return base64.b64decode(cluster.get("v1", "Secret", SECRET)["data"][KEY_FIELD]).decode()


def test_rotation_through_external_secrets_needs_the_store_first_then_proves_the_new_key(eso_cluster):
    cluster, operator = eso_cluster
    converge = cluster.run(*ESO)
    assert converge.rc == 0, converge.tail()
    old = _key(cluster)
    assert old == operator.store["app-qdrant-api-key"]
    checksum = cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["metadata"]["annotations"][CHECKSUM]

    # 1. the store still holds the old key: the refresh is forced, nothing changes, the playbook says what to do
    stale = cluster.run(*ESO, "-e", "qdrant_wait_timeout=5", playbook="playbooks/rotate_key.yml")
    assert stale.rc != 0
    assert "still carries the old key after the forced refresh: put the new key under app-qdrant-api-key in the " \
        "store bitwarden-backend first" in " ".join(stale.output.split())
    forced = cluster.get(*ES[:1], "ExternalSecret", SECRET)["metadata"]["annotations"]["force-sync"]
    assert forced.isdigit() and abs(int(forced) - time.time()) < 600 and forced in operator.syncs
    assert _key(cluster) == old
    assert cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["metadata"]["annotations"][
        CHECKSUM] == checksum  # no restart
    assert old not in stale.output

    # 2. the user put a new key into the store: the forced refresh brings it, Qdrant restarts on it, the old is refused
    new = "store-key-2-%s" % secrets.token_hex(16)
    operator.store["app-qdrant-api-key"] = new
    rotate = cluster.run(*ESO, playbook="playbooks/rotate_key.yml", verbosity=3)
    assert rotate.rc == 0, rotate.tail()
    assert _key(cluster) == new
    assert len(operator.syncs) >= 3  # first sync, the refresh of run 1, the refresh of run 2
    assert cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["metadata"]["annotations"][
        CHECKSUM] != checksum
    shown = rotate.output.replace("''", "'")
    assert "retired key 1: HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)" in shown
    assert "The API key was rotated" in shown
    for secret in (old, new):
        assert secret not in rotate.output
    assert _status(cluster.standin.url, new)[0] == 200
    assert _status(cluster.standin.url, old) == (401, "Invalid API key or JWT")
