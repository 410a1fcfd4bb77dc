"""The emulator's fake External Secrets Operator decides like ESO's Reconciler (external-secrets/external-secrets
pkg/controllers/externalsecret/externalsecret_controller.go: skip when !shouldRefresh && isSecretValid;
shouldRefresh by refreshPolicy, shouldRefreshPeriodic; pkg/controllers/util/util.go GetResourceVersion)."""
import time

import pytest

from kube_emulator.external_secrets import (ANNOTATION_DATA_HASH, LABEL_MANAGED, _hash, duration_seconds,
                                            is_secret_valid, resource_version, should_refresh)

NOW = 1_800_000_000


def es(policy=None, interval="1h", synced=True, annotations=None, refreshed=NOW - 60):
    meta = {"name": "k", "generation": 1, "annotations": annotations or {}}
    spec = {"refreshInterval": interval}
    if policy:
        spec["refreshPolicy"] = policy
    status = {}
    if synced:
        status = {"syncedResourceVersion": resource_version(meta),
                  "refreshTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(refreshed))}
    return {"metadata": meta, "spec": spec, "status": status}


def annotate(obj):
    obj["metadata"]["annotations"] = {"force-sync": "1"}
    return obj


@pytest.mark.parametrize("policy, interval, want", [
    (None, "1h", True), ("Periodic", "1h", True), ("OnChange", "1h", True),
    (None, "0", False), ("Periodic", "0s", False), ("CreatedOnce", "1h", False), ("CreatedOnce", "0", False),
    ("OnChange", "0", True),  # OnChange ignores the interval: the annotation change is a change
])
def test_an_annotation_change_refreshes_unless_eso_ignores_it(policy, interval, want):
    assert should_refresh(annotate(es(policy, interval)), now=NOW) is want


def test_nothing_changed_no_refresh_until_the_interval_passed_and_first_sync_always():
    assert should_refresh(es(), now=NOW) is False
    assert should_refresh(es(refreshed=NOW - 3700), now=NOW) is True
    assert should_refresh(es(refreshed=NOW + 600), now=NOW) is True  # refreshTime in the future
    for policy, interval in ((None, "0"), ("CreatedOnce", "1h"), ("OnChange", "1h")):
        assert should_refresh(es(policy, interval, synced=False), now=NOW) is True


def test_an_invalid_secret_is_synced_whatever_should_refresh_says():
    data = {"K": "dg=="}
    good = {"metadata": {"labels": {LABEL_MANAGED: "true"}, "annotations": {ANNOTATION_DATA_HASH: _hash(data)}},
            "data": data}
    spec = {"spec": {"target": {}}}
    assert is_secret_valid(good, spec) is True
    assert is_secret_valid(None, spec) is False
    assert is_secret_valid(dict(good, data={"K": "eA=="}), spec) is False
    assert is_secret_valid(dict(good, metadata={"annotations": good["metadata"]["annotations"]}), spec) is False
    assert is_secret_valid(None, {"spec": {"target": {"creationPolicy": "Orphan"}}}) is True


def test_go_durations():
    assert duration_seconds("0") == 0 and duration_seconds("0s") == 0 and duration_seconds("1h30m") == 5400
    assert duration_seconds("1.5s") == 1.5
