"""Watch a key rotation on the local cluster (emulator + stand-in) while playbooks/rotate_key.yml runs.

Every ``interval`` seconds, in a thread:
- the keys a pod of the workload (Deployment or StatefulSet ``qdrant``) would start with now: its container env
  resolved against the live Secrets (QDRANT__SERVICE__API_KEY, QDRANT__SERVICE__ALT_API_KEY,
  QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH), recorded as a new *state* whenever it changes;
- a client: GET /collections on the stand-in (which takes its keys from the pods, as a restarted pod does) with
  the key the key Secret carries now, and with the old key, each answer kept with the state seen before and after
  the request (only requests with the same state on both sides are judged).

``peer_gaps()`` lists neighbouring states whose pods would refuse each other (during a roll pods of both run side
by side: with enforce_internal_auth a peer sends its api_key and accepts api_key or alt_api_key, Qdrant v1.19.0
src/common/auth/mod.rs and lib/collection/src/shards/channel_service.rs).
"""
import base64
import threading
import urllib.error
import urllib.request

import local_env

ALT = "QDRANT__SERVICE__ALT_API_KEY"
INTERNAL_AUTH = "QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH"


class RotationWatch:
    def __init__(self, cluster, old_key, secret="app-qdrant-api-key", key_field="QDRANT__SERVICE__API_KEY",
                 interval=0.05):
        self.cluster, self.old_key, self.secret, self.key_field = cluster, old_key, secret, key_field
        self.interval = interval
        self.states = []    # [(api_key, alt_api_key or None, enforce_internal_auth or None)]
        self.requests = []  # [(which: 'secret' | 'old', key, status, state)]
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    # ------------------------------------------------------------------ reading the cluster
    def state(self):
        emu, ns = self.cluster.emu, self.cluster.namespace
        workload = (emu.get("apps/v1", "Deployment", ns, "qdrant") or emu.get("apps/v1", "StatefulSet", ns, "qdrant"))
        if workload is None:
            return None
        env = {}
        for c in workload["spec"]["template"]["spec"].get("containers") or []:
            env.update(local_env._resolve_env(emu, ns, c))
        return (env.get(local_env.ENV_API_KEY), env.get(ALT), env.get(INTERNAL_AUTH))

    def secret_key(self):
        obj = self.cluster.get("v1", "Secret", self.secret)
        value = ((obj or {}).get("data") or {}).get(self.key_field)
        return base64.b64decode(value).decode() if value else None

    def _status(self, key):
        req = urllib.request.Request(self.cluster.standin.url + "/collections", headers={"api-key": key})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None  # not listening (no pod): not a refusal

    def _loop(self):
        while not self._stop.is_set():
            try:
                self._poll()
            except local_env.Unresolvable:
                pass  # a pod could not start with this env: the next poll sees the fixed state
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(e))
            self._stop.wait(self.interval)

    def _poll(self):
        before = self.state()
        if before is not None and (not self.states or self.states[-1] != before):
            self.states.append(before)
        probes = [("secret", self.secret_key()), ("old", self.old_key)]
        answers = [(which, key, self._status(key)) for which, key in probes if key]
        after = self.state()
        if before is not None and before == after:
            self.requests.extend((which, key, status, before) for which, key, status in answers)

    # ------------------------------------------------------------------ judging
    def peer_gaps(self):
        """Neighbouring states a, b where a pod of one would refuse a pod of the other."""
        gaps = []
        for a, b in zip(self.states, self.states[1:]):
            accepts_a, accepts_b = {a[0], a[1]} - {None}, {b[0], b[1]} - {None}
            if a[0] not in accepts_b or b[0] not in accepts_a:
                gaps.append((a, b))
        return gaps

    def refused(self, which):
        return [(key, status, state) for w, key, status, state in self.requests if w == which and status == 401]
