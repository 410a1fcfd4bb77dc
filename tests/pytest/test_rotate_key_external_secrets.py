"""playbooks/rotate_key.yml with qdrant_secret_backend=external-secrets, end to end on the local cluster. The
playbook cannot write the secret store: it annotates the ExternalSecret ``force-sync: <epoch>`` and waits for the
Secret to change. The emulator's fake External Secrets Operator (tests/support/kube_emulator/external_secrets.py)
follows ESO's own order of checks (Reconcile: skip when !shouldRefresh && isSecretValid; shouldRefresh by
refreshPolicy, pkg/controllers/externalsecret/externalsecret_controller.go): an annotation change re-syncs unless
refreshPolicy is CreatedOnce or refreshInterval is 0.

1. The user forgot to put a new key into the store: the forced refresh brings the same key, the playbook fails
   saying what to do, and Qdrant is rolled back onto the key Secret's (unchanged) key: the pod template is as
   before.
2. The new key is in the store: Qdrant is pinned to the old key (step 0), the forced refresh brings the new key,
   and the three rolls follow (old+new, new+old, new); no two neighbouring pod states refuse each other and the
   old key is accepted until the last roll. qdrant_check proves in the same run that Qdrant refuses the old key
   (its own 401). No key is printed at -vvv.
3. Issue 20 point 7: with refreshInterval 0 or refreshPolicy CreatedOnce the operator ignores the annotation;
   rotate_key.yml refuses up front, naming the setting, and changes nothing."""
import base64
import secrets
import time
import urllib.error
import urllib.request

import pytest

from kube_emulator.external_secrets import FakeExternalSecretsOperator
from rotation_watch import RotationWatch

ES = ("external-secrets.io/v1", "ExternalSecret")
SECRET = "app-qdrant-api-key"
KEY_FIELD = "QDRANT__SERVICE__API_KEY"
CHECKSUM = "peekoff.qdrant/api-key-checksum"
ESO = ("-e", "qdrant_secret_backend=external-secrets")


@pytest.fixture
def eso_cluster(make_local_cluster):
    cluster = make_local_cluster()
    operator = FakeExternalSecretsOperator(cluster.emu, cluster.namespace,
                                           {"app-qdrant-api-key": "store-key-1-%s" % secrets.token_hex(16)})
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
        CHECKSUM] == checksum  # rolled back onto the unchanged key Secret
    assert cluster.get("v1", "Secret", SECRET + "-rotation") is None
    assert old not in stale.output

    # 2. the user put a new key into the store: the forced refresh brings it, Qdrant restarts on it, the old is refused
    new = "store-key-2-%s" % secrets.token_hex(16)
    operator.store["app-qdrant-api-key"] = new
    with RotationWatch(cluster, old) as watch:
        rotate = cluster.run(*ESO, playbook="playbooks/rotate_key.yml", verbosity=3)
    assert rotate.rc == 0, rotate.tail()
    assert watch.states == [(old, None, None), (old, new, None), (new, old, None), (new, None, None)], \
        [tuple(k and k[:6] for k in state) for state in watch.states]
    assert watch.peer_gaps() == [] and watch.errors == []
    assert {state for _key, _status, state in watch.refused("old")} <= {(new, None, None)}
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


@pytest.mark.parametrize("setting, needle", [
    ({"spec": {"refreshInterval": "0"}}, "has spec.refreshInterval 0 (0: no refresh after the first sync)"),
    ({"spec": {"refreshPolicy": "CreatedOnce"}}, "has spec.refreshPolicy CreatedOnce (the Secret is never synced"),
])
def test_rotation_is_refused_where_the_operator_would_ignore_the_refresh(eso_cluster, setting, needle):
    cluster, operator = eso_cluster
    converge = cluster.run(*ESO)
    assert converge.rc == 0, converge.tail()
    es = cluster.get(*ES[:1], "ExternalSecret", SECRET)
    rt = cluster.emu.cluster.type_for(*ES)
    changed = dict(es, spec=dict(es["spec"], **setting["spec"]))
    with cluster.emu.cluster.lock:
        cluster.emu.cluster.update(rt, cluster.namespace, SECRET, changed)
    time.sleep(0.5)  # the operator reconciles the spec change: no sync (it synced once; shouldRefresh says no)
    old = _key(cluster)
    operator.store["app-qdrant-api-key"] = "store-key-2-%s" % secrets.token_hex(16)
    checksum = cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["metadata"]["annotations"][CHECKSUM]

    # the fake operator, like ESO, ignores an annotation change here
    syncs = len(operator.syncs)
    annotated = cluster.get(*ES[:1], "ExternalSecret", SECRET)
    annotated["metadata"].setdefault("annotations", {})["force-sync"] = "1"
    with cluster.emu.cluster.lock:
        cluster.emu.cluster.update(rt, cluster.namespace, SECRET, annotated)
    time.sleep(0.5)
    assert len(operator.syncs) == syncs and _key(cluster) == old

    refused = cluster.run(*ESO, "-e", "qdrant_wait_timeout=5", playbook="playbooks/rotate_key.yml")
    assert refused.rc != 0
    text = " ".join(refused.output.split())
    assert "External Secrets Operator would ignore the refresh this playbook requests" in text
    assert needle in text, refused.tail()
    assert "Set qdrant_secret_refresh_interval to a duration above 0" in text
    # refused before anything changed: no annotation from the playbook, no roll, no rotation Secret
    assert cluster.get(*ES[:1], "ExternalSecret", SECRET)["metadata"]["annotations"]["force-sync"] == "1"
    assert cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["metadata"]["annotations"][
        CHECKSUM] == checksum
    assert cluster.get("v1", "Secret", SECRET + "-rotation") is None
    assert _key(cluster) == old
