"""A fake External Secrets Operator for the emulator (tests only): a thread that reconciles ExternalSecrets of one
namespace from an in-memory store, in the order of ESO's own Reconciler (external-secrets/external-secrets,
pkg/controllers/externalsecret/externalsecret_controller.go, read at main cc5bfbc, 2026-08):

1. Reconcile (line ~372): ``if !shouldRefresh(es) && isSecretValid(existingSecret, es) { skip }``.
2. shouldRefresh, by spec.refreshPolicy:
   - CreatedOnce: refresh only while status.syncedResourceVersion is empty or status.refreshTime is zero;
   - OnChange: the same, else when syncedResourceVersion differs from GetResourceVersion(metadata);
   - Periodic or unset (shouldRefreshPeriodic): refreshInterval <= 0 and synced once -> never; else when
     syncedResourceVersion differs from GetResourceVersion(metadata) (an annotation change, e.g. force-sync);
     else when refreshTime is zero, in the future, or older than refreshInterval.
   GetResourceVersion (pkg/controllers/util/util.go) is "<generation>-<hash of labels and annotations>".
3. isSecretValid: creationPolicy Orphan -> valid; the Secret missing, its label
   reconcile.external-secrets.io/managed != "true", or its annotation reconcile.external-secrets.io/data-hash not
   the hash of its data -> invalid (then it syncs whatever shouldRefresh says).
4. A sync writes the store's values into the target Secret (that label and annotation set) and the status:
   refreshTime, syncedResourceVersion, condition Ready/SecretSynced.

Only ``spec.data[].remoteRef.key`` is supported (no dataFrom, templates or sync windows).
"""
import base64
import calendar
import hashlib
import json
import re
import threading
import time

ES = ("external-secrets.io/v1", "ExternalSecret")
LABEL_MANAGED = "reconcile.external-secrets.io/managed"
ANNOTATION_DATA_HASH = "reconcile.external-secrets.io/data-hash"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration_seconds(text):
    """A Go duration (metav1.Duration) in seconds; "0" is 0."""
    text = str(text or "0").strip()
    if text in ("0", ""):
        return 0.0
    return sum(float(n) * _UNIT[u] for n, u in _DURATION_PART.findall(text))


def _hash(value):
    return hashlib.md5(json.dumps(value, sort_keys=True).encode()).hexdigest()  # noqa: S324 - not security


def resource_version(meta):
    """GetResourceVersion: generation and a hash of the labels and annotations."""
    labels_and_annotations = {"annotations": meta.get("annotations") or {}, "labels": meta.get("labels") or {}}
    return "%s-%s" % (meta.get("generation", 1), _hash(labels_and_annotations))


def _parse_time(text):
    if not text:
        return None
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def should_refresh(es, now=None):
    now = time.time() if now is None else now
    spec, status = es.get("spec") or {}, es.get("status") or {}
    synced = status.get("syncedResourceVersion") or ""
    refresh_time = _parse_time(status.get("refreshTime"))
    policy = spec.get("refreshPolicy") or "Periodic"
    if policy == "CreatedOnce":
        return synced == "" or refresh_time is None
    if policy == "OnChange":
        if synced == "" or refresh_time is None:
            return True
        return synced != resource_version(es["metadata"])
    # Periodic, and the default
    interval = duration_seconds(spec.get("refreshInterval", "1h"))
    if interval <= 0 and synced != "":
        return False
    if synced != resource_version(es["metadata"]):
        return True
    if refresh_time is None or refresh_time > now:
        return True
    return refresh_time + interval < now


def is_secret_valid(secret, es):
    if ((es.get("spec") or {}).get("target") or {}).get("creationPolicy") == "Orphan":
        return True
    if secret is None:
        return False
    meta = secret.get("metadata") or {}
    if (meta.get("labels") or {}).get(LABEL_MANAGED) != "true":
        return False
    return (meta.get("annotations") or {}).get(ANNOTATION_DATA_HASH) == _hash(secret.get("data") or {})


class FakeExternalSecretsOperator:
    """Reconciles every ExternalSecret of ``namespace`` in ``emu`` from ``store`` ({remote key: value}) every
    ``interval`` seconds (ESO requeues; its watch also reconciles at once on a change). ``syncs`` lists the
    force-sync annotation of each sync (None when there was none); ``skipped`` counts reconciles that skipped."""

    def __init__(self, emu, namespace, store, interval=0.1):
        self.emu, self.namespace, self.store = emu, namespace, dict(store)
        self.syncs, self.skipped = [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.interval = interval
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            for es in self.emu.list(*ES, namespace=self.namespace):
                self.reconcile(es)
            self._stop.wait(self.interval)

    def reconcile(self, es):
        target = ((es.get("spec") or {}).get("target") or {}).get("name") or es["metadata"]["name"]
        existing = self.emu.get("v1", "Secret", self.namespace, target)
        if not should_refresh(es) and is_secret_valid(existing, es):
            self.skipped += 1
            return False
        data = {}
        for item in (es.get("spec") or {}).get("data") or []:
            value = self.store.get((item.get("remoteRef") or {}).get("key"))
            if value is not None:
                data[item["secretKey"]] = base64.b64encode(value.encode()).decode()
        meta = {"name": target, "namespace": self.namespace, "labels": {LABEL_MANAGED: "true"},
                "annotations": {ANNOTATION_DATA_HASH: _hash(data)}}
        if existing is None:
            self.emu.create_object({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
                                    "metadata": meta})
        else:
            merged = dict(existing, data=data)
            merged["metadata"] = dict(existing["metadata"])
            merged["metadata"]["labels"] = dict(existing["metadata"].get("labels") or {}, **meta["labels"])
            merged["metadata"]["annotations"] = dict(existing["metadata"].get("annotations") or {},
                                                     **meta["annotations"])
            rt = self.emu.cluster.type_for("v1", "Secret")
            with self.emu.cluster.lock:
                self.emu.cluster.update(rt, self.namespace, target, merged)
        self.emu.set_status(*ES, self.namespace, es["metadata"]["name"], {
            "refreshTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "syncedResourceVersion": resource_version(es["metadata"]),
            "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                            "message": "secret synced"}]})
        self.syncs.append(((es["metadata"].get("annotations") or {}).get("force-sync")))
        return True

    def stop(self):
        self._stop.set()
        self._thread.join(5)
