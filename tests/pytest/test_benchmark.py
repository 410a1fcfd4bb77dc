"""The pure parts of scripts/benchmark.py on synthetic numbers, so that the script cannot rot unnoticed.

The benchmark is a measurement, not a test: nothing here times anything. These tests check what a reader of its
output relies on - medians over rounds, the ratios of issue 11 against their targets (met / not met), the JSON
schema that ``--compare`` reads back, and the deltas it prints.
"""
import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("benchmark", os.path.join(ROOT, "scripts", "benchmark.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _m(wall, requests=(), **extra):
    """A measurement as Cluster.measure returns it, from (method, path, query) requests."""
    out = {"wall_s": wall, "tasks": 3, "recap": {"ok": 3, "changed": 0},
           "requests": bench.summarize_requests(list(requests))}
    out.update(extra)
    return out


DISCOVERY = [("GET", "/api", ""), ("GET", "/apis", ""), ("GET", "/version", "")]


def _patches(n, ns="qdrant"):
    return [("PATCH", "/api/v1/namespaces/%s/configmaps/c%d" % (ns, i), "fieldManager=x") for i in range(n)]


def _round(scale=1.0, rerun=6.0, rerun_requests=12, inst3=15.0):
    proxy = [("GET", "/api/v1/namespaces/qdrant/services/qdrant:6333/proxy/healthz", "")] * 4
    return {
        "empty": _m(1.0 * scale),
        "render": _m(2.5 * scale),
        "floor_cold": _m(2.0 * scale, DISCOVERY + _patches(8), objects=8),
        "floor": _m(2.0 * scale, _patches(8), objects=8),
        "floor_check": _m(3.0 * scale, _patches(8) + proxy, objects=8),
        "cold": _m(20.0 * scale, _patches(30), instances=1),
        "rerun": _m(rerun * scale, _patches(rerun_requests), instances=1),
        "check": _m(5.0 * scale, [("PATCH", "/api/v1/namespaces/qdrant/secrets/s", "dryRun=All")]),
        "inst3_cold": _m(40.0 * scale, instances=3),
        "inst3": _m(inst3 * scale, instances=3),
    }


def _ratios(summary):
    return {r["name"]: r for r in bench.compute_ratios(summary)}


def test_resource_of_and_dry_run_patches_are_counted_apart():
    assert bench.resource_of("/apis/apps/v1/namespaces/qdrant/deployments/qdrant") == "deployments.apps"
    assert bench.resource_of("/api/v1/namespaces/qdrant/services/qdrant:6333/proxy/collections") == "services/proxy"
    assert bench.resource_of("/openapi/v2") == "discovery"
    s = bench.summarize_requests([("PATCH", "/api/v1/namespaces/q/secrets/s", "dryRun=All")] * 2
                                 + [("PATCH", "/api/v1/namespaces/q/secrets/s", "")])
    assert s["by_method"] == {"PATCH-dry": 2, "PATCH": 1}
    assert s["repeated"] == [{"count": 2, "method": "PATCH-dry", "path": "/api/v1/namespaces/q/secrets/s?dryRun=All"}]


def test_aggregate_takes_medians_over_rounds():
    summary = bench.aggregate([_round(1.0), _round(3.0), _round(2.0)])
    assert summary["rerun"]["wall_s"] == 12.0
    assert (summary["rerun"]["wall_s_min"], summary["rerun"]["wall_s_max"]) == (6.0, 18.0)
    assert summary["rerun"]["rounds"] == 3
    assert summary["floor_cold"]["by_resource"]["discovery"] == 3
    assert summary["floor"]["objects"] == 8 and summary["inst3"]["instances"] == 3


def test_ratios_met_when_within_targets():
    r = _ratios(bench.aggregate([_round()]))
    # rerun 6 s / floor+check 3 s = 2.0: exactly the target is met.
    assert r["rerun / floor_check (wall)"]["value"] == 2.0 and r["rerun / floor_check (wall)"]["met"] is True
    assert r["render / empty (wall)"]["value"] == 2.5 and r["render / empty (wall)"]["met"] is True
    assert r["3 instances / 1 instance (re-run wall)"] == {
        "name": "3 instances / 1 instance (re-run wall)", "value": 2.5, "target": 3.0, "met": True,
        "detail": "15.00s / 6.00s"}
    assert r["3 instances / 3 floor_checks (re-run wall)"]["value"] == round(15.0 / 9.0, 2)
    # budget = 8 objects + 3 discovery (cold floor) + 4 of the check's own (floor_check - floor) = 15.
    api = r["rerun API requests / (objects + discovery + check's own)"]
    assert (api["value"], api["met"], api["detail"]) == (0.8, True, "12 / (8 + 3 + 4)")
    assert r["cold / floor_check (wall)"]["target"] is None and r["cold / floor_check (wall)"]["met"] is None
    # Every site.yml phase against every floor (issue 11, part 5), the targeted two once.
    for phase in ("rerun", "cold", "check", "render"):
        for base in ("empty", "floor", "floor_check"):
            assert "%s / %s (wall)" % (phase, base) in r
    assert r["check / floor (wall)"]["value"] == 2.5
    assert len([n for n in r if n.startswith("rerun / floor_check")]) == 1


def test_ratios_not_met_beyond_targets():
    r = _ratios(bench.aggregate([_round(rerun=30.0, rerun_requests=58, inst3=100.0)]))
    assert r["rerun / floor_check (wall)"]["value"] == 10.0 and r["rerun / floor_check (wall)"]["met"] is False
    assert r["3 instances / 1 instance (re-run wall)"]["met"] is False  # 100 s / 30 s = 3.33 > 3
    api = r["rerun API requests / (objects + discovery + check's own)"]
    assert api["met"] is False and api["value"] == round(58 / 15, 2)
    lines = bench.format_ratios(bench.compute_ratios(bench.aggregate([_round(rerun=30.0)]))).splitlines()
    assert any(line.startswith("rerun / floor_check (wall)") and "NOT MET" in line for line in lines)


def test_no_multi_instance_ratio_without_several_instances():
    rnd = _round()
    del rnd["inst3"], rnd["inst3_cold"]
    names = [r["name"] for r in bench.compute_ratios(bench.aggregate([rnd]))]
    assert not [n for n in names if "instances" in n]


def test_report_schema_round_trips_through_json_and_compare():
    meta = {"commit": "abc1234", "date": "2026-12-01T18:00:00Z"}
    old = bench.validate_report(json.loads(json.dumps(bench.make_report([_round()], meta))))
    new = bench.make_report([_round(rerun=3.0)], dict(meta, commit="def5678"))
    assert [row[0] for row in bench.compare(old, new)] == [
        "empty", "floor_cold", "floor", "floor_check", "render", "cold", "rerun", "check", "inst3_cold", "inst3"]
    rows = {row[0]: row for row in bench.compare(old, new)}
    assert rows["rerun"] == ("rerun", 6.0, 3.0, -50.0, 12, 12)
    assert rows["empty"][3] == 0.0
    text = bench.format_compare(bench.compare(old, new), old["meta"], new["meta"])
    assert "abc1234" in text and "def5678" in text and "-50.0" in text


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r.update(schema_version=1), "schema_version"),
    (lambda r: r["summary"].pop("floor_check"), "floor_check"),
    (lambda r: r["summary"]["rerun"].pop("requests"), "'requests'"),
    (lambda r: r["ratios"][0].pop("met"), "keys"),
])
def test_validate_report_names_what_is_wrong(breakage, message):
    report = bench.make_report([_round()], {"commit": "x"})
    breakage(report)
    with pytest.raises(ValueError, match=message):
        bench.validate_report(report)


def test_cost_per_instance_divides_each_instance_count_by_its_hosts():
    rows = bench.per_instance(bench.aggregate([_round(rerun=6.0, rerun_requests=12, inst3=15.0)]))
    assert [r["instances"] for r in rows] == [1, 3]
    one, three = rows
    assert (one["cold_s"], one["rerun_s"], one["rerun_requests"]) == (20.0, 6.0, 12)
    assert (three["cold_s"], three["rerun_s"]) == (round(40.0 / 3, 3), 5.0)
    text = bench.format_per_instance(rows)
    assert text.splitlines()[0].startswith("instances") and len(text.splitlines()) == 3
