"""playbooks/rotate_key.yml end to end on the local cluster (emulator + stand-in, plain Secret backend, JWT RBAC on):
the new key lands in the Secret, the pod template's key checksum changes so the pods restart (the stand-in takes
its keys from the Deployment's env like a restarted pod), and in the same run qdrant_check proves the new key
works while Qdrant refuses the old key (its own 401) and JWTs minted from it (its own 403 InvalidSignature).
Nothing secret appears at -vvv. Issue 20 point 2: the key moves in three rolls through service.alt_api_key, and
a watch (tests/support/rotation_watch.py) proves that during the run a client with the key the Secret carries,
or with the old key until the last roll, is never refused, and that neighbouring pod states accept each other's
key."""
import base64
import json
import time
import urllib.error
import urllib.request

from qdrant_standin import mint_jwt
from rotation_watch import RotationWatch

SECRET = "app-qdrant-api-key"
KEY_FIELD = "QDRANT__SERVICE__API_KEY"
CHECKSUM = "peekoff.qdrant/api-key-checksum"


def _status(url, headers):
    req = urllib.request.Request(url + "/collections", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_rotate_key_restarts_qdrant_and_proves_the_old_key_and_its_tokens_refused(make_local_cluster):
    cluster = make_local_cluster()
    converge = cluster.run("-e", "qdrant_jwt_rbac=true")
    assert converge.rc == 0, converge.tail()
    old = base64.b64decode(cluster.get("v1", "Secret", SECRET)["data"][KEY_FIELD]).decode()
    old_checksum = cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["metadata"]["annotations"][CHECKSUM]
    old_token = mint_jwt(old, {"access": "r", "exp": int(time.time()) + 3600})
    assert _status(cluster.standin.url, {"api-key": old})[0] == 200  # before: the old key reads

    with RotationWatch(cluster, old) as watch:
        rotate = cluster.run("-e", "qdrant_jwt_rbac=true", playbook="playbooks/rotate_key.yml", verbosity=3)
    assert rotate.rc == 0, rotate.tail()
    assert rotate.recap["failed"] == 0
    new = base64.b64decode(cluster.get("v1", "Secret", SECRET)["data"][KEY_FIELD]).decode()
    assert new != old and len(new) == 48
    dep = cluster.get("apps/v1", "Deployment", "qdrant")
    assert dep["spec"]["template"]["metadata"]["annotations"][CHECKSUM] != old_checksum
    # three rolls: old with new as the second key, new with old as the second key, new alone
    assert watch.states == [(old, None, None), (old, new, None), (new, old, None), (new, None, None)], \
        [tuple(k and k[:6] for k in state) for state in watch.states]
    assert watch.peer_gaps() == [] and watch.errors == []
    assert watch.refused("secret") == []  # the key the Secret carries always opens Qdrant
    assert {state for _key, _status, state in watch.refused("old")} <= {(new, None, None)}  # until the last roll
    assert len([r for r in watch.requests if r[0] == "old" and r[2] == 200 and r[3] == (new, old, None)]) > 0
    assert cluster.get("v1", "Secret", SECRET + "-rotation") is None  # the rotation Secret is gone
    env = {e["name"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "QDRANT__SERVICE__ALT_API_KEY" not in env
    for secret in (old, new, old_token):
        assert secret not in rotate.output
    # the proof came from qdrant_check in the same run, with Qdrant's own refusal bodies (YAML output doubles ')
    shown = rotate.output.replace("''", "'")
    assert "retired key 1: HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)" in shown
    assert "retired key 1: HTTP 403 'InvalidSignature' (Qdrant's own refusal)" in shown
    assert "The API key was rotated" in shown
    # and it holds afterwards: the running Qdrant has the new key only
    assert _status(cluster.standin.url, {"api-key": new})[0] == 200
    assert _status(cluster.standin.url, {"api-key": old}) == (401, "Invalid API key or JWT")
    assert _status(cluster.standin.url, {"Authorization": "Bearer " + old_token}) == (403, "InvalidSignature")
    assert json.loads(_status(cluster.standin.url, {"api-key": new})[1])["status"] == "ok"


def test_check_mode_and_extra_vars_that_would_skip_the_rotation_secret_are_refused_up_front(make_local_cluster):
    cluster = make_local_cluster()
    checked = cluster.run(playbook="playbooks/rotate_key.yml", check=True)
    assert checked.rc != 0 and "no --check" in " ".join(checked.output.split())
    pinned = cluster.run("-e", "qdrant_api_key_secret_name=app-qdrant-api-key", playbook="playbooks/rotate_key.yml")
    assert pinned.rc != 0
    assert "Do not pass qdrant_api_key_secret_name or qdrant_alt_api_key_secret_key as extra vars" in " ".join(
        pinned.output.split())
