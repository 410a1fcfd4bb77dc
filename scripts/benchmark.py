"""Measure site.yml against its floors on the bundled Kubernetes API emulator (speed is a feature; issue 11).

    .venv/bin/python scripts/benchmark.py [--rounds N] [--quick] [--instances 1,3,5] [--json PATH]
                                          [--compare OLD.json] [--show-repeats K]

A measurement, not a test: nothing is timed against a threshold in the test suite (tests/pytest/test_benchmark.py
only exercises the pure parts below on synthetic numbers). Each round starts fresh in-process clusters - the API
emulator plus Qdrant stand-ins wired like tests/support/local_env.py wires them - and measures, with the
local-cluster settings of scripts/deploy.sh (``qdrant_secret_backend=kubernetes``,
``qdrant_check_via=kubernetes_proxy``):

floors
  empty            an empty play (ansible-playbook start-up)
  floor_cold       one ``kubernetes.core.k8s`` task applying every object ``site.yml -e qdrant_render_dir=DIR``
                   renders (one definition list, server-side apply) to a fresh cluster
  floor            the same task again (every object already there: the re-run floor)
  floor_check      that task plus one ``qdrant_check`` (through the API server's service proxy)
  kubectl_cold     ``kubectl apply --server-side -k DIR`` of the render to a fresh cluster (when kubectl is on PATH)
  kubectl          the same again
site.yml
  render           ``site.yml -e qdrant_render_dir=DIR`` (touches no cluster)
  cold             first ``site.yml`` on an empty cluster (kubernetes.core discovery cache cold)
  rerun            the same again (idempotent: changed=0)
  check            ``site.yml --check`` after that
  instN_cold/instN N instances in one play (an inventory of N hosts, ``ansible_connection: local``, each with
                   its own ``qdrant_namespace``, ``-e qdrant_hosts=all``): first converge, then the re-run.
                   One instance is the plain ``site.yml`` run above (cold and rerun).

Then the ratios issue 11 targets, each with its target and whether it is met (see RATIOS), and the cost per
instance (wall time and requests of the cold converge and the re-run, divided by the instance count). Numbers are medians
over the rounds (min and max in the JSON). The JSON (default .build/benchmark-<git short sha>.json) holds the
summary, the ratios and every round with every API request in order; ``--compare OLD.json`` prints the deltas.
Wall times depend on the machine's load: compare only numbers taken on the same machine under the same load.
"""
import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUPPORT = os.path.join(ROOT, "tests", "support")

SCHEMA_VERSION = 2
LOCAL_VARS = ["-e", "qdrant_secret_backend=kubernetes", "-e", "qdrant_check_via=kubernetes_proxy"]
METHODS = ["GET", "POST", "PATCH", "PATCH-dry", "PUT", "DELETE"]
DEFAULT_INSTANCES = (1, 3, 5)
QUICK_INSTANCES = (1, 2)
RECAP_RE = re.compile(r"^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)
SCRUB_ENV = ("KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "ANSIBLE_CONFIG",
             "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_VERBOSITY", "ANSIBLE_CHECK_MODE", "ANSIBLE_DIFF_ALWAYS",
             "ANSIBLE_INVENTORY")
# The phases every report carries, in print order (instN phases follow); the rest are optional (kubectl).
PHASE_ORDER = ["empty", "floor_cold", "floor", "floor_check", "kubectl_cold", "kubectl", "render", "cold", "rerun",
               "check"]
REQUIRED_PHASES = ["empty", "floor", "floor_check", "render", "cold", "rerun", "check"]

EMPTY_PLAY = """---
- name: Empty play (ansible-playbook start-up)
  hosts: localhost
  gather_facts: false
  tasks: []
"""

FLOOR_PLAY = """---
- name: Floor - one kubernetes.core.k8s task applying every rendered object (plus one qdrant_check)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply every rendered object (one definition list, server-side apply)
      kubernetes.core.k8s:
        definition: "{{ lookup('ansible.builtin.file', bench_objects) | from_yaml_all | list }}"
        apply: true
        server_side_apply:
          field_manager: peekoff.qdrant
          force_conflicts: true

    - name: Prove health and authentication
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy:
          namespace: "{{ bench_namespace }}"
          service: qdrant
          port: "6333"
        api_key: "{{ bench_api_key }}"
        wait_timeout: 120
      no_log: true
      when: bench_check | bool
"""


# ----------------------------------------------------------------------------------------- pure parts (tested)
def resource_of(path):
    """'/apis/apps/v1/namespaces/qdrant/deployments/qdrant' -> 'deployments.apps'."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] in ("openapi", "version", "healthz", "livez", "readyz"):
        return "discovery"
    if parts[0] == "api":
        group, rest = "", parts[2:]
    elif parts[0] == "apis":
        group, rest = (parts[1] if len(parts) > 1 else ""), parts[3:]
    else:
        return "other:" + parts[0]
    if not rest:
        return "discovery"
    if rest[0] == "namespaces" and len(rest) >= 3:
        plural, tail = rest[2], rest[3:]
    else:
        plural, tail = rest[0], rest[1:]
    if plural == "services" and len(tail) >= 2 and tail[1] == "proxy":
        return "services/proxy"
    name = plural + ("." + group if group else "")
    if len(tail) >= 2:
        name += "/" + tail[1]
    return name


def summarize_requests(requests):
    """[(method, path, query)] -> totals by method (PATCH with dryRun apart) and resource, verbatim repeats."""
    by_method = collections.Counter()
    by_resource = collections.Counter()
    verbatim = collections.Counter()
    for method, path, query in requests:
        m = "PATCH-dry" if method == "PATCH" and "dryRun" in (query or "") else method
        by_method[m] += 1
        by_resource[resource_of(path)] += 1
        if resource_of(path) != "services/proxy":
            verbatim[(m, path + ("?" + query if query else ""))] += 1
    repeats = sorted(((n, m, p) for (m, p), n in verbatim.items() if n > 1), reverse=True)
    return {"total": len(requests), "by_method": dict(by_method), "by_resource": dict(sorted(by_resource.items())),
            "repeated": [{"count": n, "method": m, "path": p} for n, m, p in repeats],
            "log": [[m, p, q] for m, p, q in requests]}


def _median(values):
    return round(statistics.median(values), 3)


def aggregate(rounds):
    """Rounds [{phase: measurement}] -> {phase: medians}; request counts are medians too (they should not vary)."""
    out = {}
    for phase in rounds[0]:
        ms = [r[phase] for r in rounds if phase in r]
        walls = [m["wall_s"] for m in ms]
        last = ms[-1]
        resources = sorted({k for m in ms for k in m["requests"]["by_resource"]})
        methods = sorted({k for m in ms for k in m["requests"]["by_method"]})
        out[phase] = {
            "wall_s": _median(walls), "wall_s_min": min(walls), "wall_s_max": max(walls), "rounds": len(ms),
            "tasks": last.get("tasks", 0), "recap": last.get("recap", {}),
            "requests": _median([m["requests"]["total"] for m in ms]),
            "by_method": {k: _median([m["requests"]["by_method"].get(k, 0) for m in ms]) for k in methods},
            "by_resource": {k: _median([m["requests"]["by_resource"].get(k, 0) for m in ms]) for k in resources},
            "repeated": last["requests"].get("repeated", []),
        }
        for key in ("objects", "instances"):
            if key in last:
                out[phase][key] = last[key]
    return out


def _ratio(a, b):
    return round(a / b, 2) if b else None


def _entry(name, value, target, detail):
    return {"name": name, "value": value, "target": target, "met": None if value is None else value <= target,
            "detail": detail}


def compute_ratios(summary):
    """The ratios issue 11 targets, from one summary: [{name, value, target, met, detail}] (met None: not measured).

    - re-run <= 2x the single-apply+check floor (wall);
    - render <= 3x the empty play (wall);
    - N instances in one play <= N x one instance and <= 2x N single-apply+check floors (re-run wall; N = the largest
      instance count measured, 5 in a full run);
    - API requests of a re-run <= managed objects + discovery + the check's own: managed objects = the rendered
      objects, discovery = the discovery requests of the cold floor (what one client needs to learn the API), the
      check's own = requests of floor_check minus those of floor. Reported as requests / that budget (<= 1).
    Also reported without a target: re-run, cold converge, --check and render against the empty play, the
    single-apply floor and the single-apply+check floor.
    """
    s = summary
    wall = {p: v["wall_s"] for p, v in s.items()}
    out = [
        _entry("rerun / floor_check (wall)", _ratio(wall["rerun"], wall["floor_check"]), 2.0,
               "%.2fs / %.2fs" % (wall["rerun"], wall["floor_check"])),
        _entry("render / empty (wall)", _ratio(wall["render"], wall["empty"]), 3.0,
               "%.2fs / %.2fs" % (wall["render"], wall["empty"])),
    ]
    insts = sorted(v["instances"] for p, v in s.items() if p.startswith("inst") and not p.endswith("_cold")
                   and "instances" in v)
    one = wall["rerun"]
    if insts and insts[-1] > 1:
        n = insts[-1]
        multi = wall["inst%d" % n]
        out.append(_entry("%d instances / 1 instance (re-run wall)" % n, _ratio(multi, one), float(n),
                          "%.2fs / %.2fs" % (multi, one)))
        out.append(_entry("%d instances / %d floor_checks (re-run wall)" % (n, n),
                          _ratio(multi, n * wall["floor_check"]), 2.0,
                          "%.2fs / (%d x %.2fs)" % (multi, n, wall["floor_check"])))
    objects = s.get("floor_cold", s["floor"]).get("objects") or s["floor"].get("objects") or 0
    discovery = s.get("floor_cold", s["floor"])["by_resource"].get("discovery", 0)
    check_own = max(s["floor_check"]["requests"] - s["floor"]["requests"], 0)
    budget = objects + discovery + check_own
    out.append(_entry("rerun API requests / (objects + discovery + check's own)",
                      _ratio(s["rerun"]["requests"], budget), 1.0,
                      "%g / (%g + %g + %g)" % (s["rerun"]["requests"], objects, discovery, check_own)))
    targeted = {r["name"] for r in out}
    for phase in ("rerun", "cold", "check", "render"):
        for base in ("empty", "floor", "floor_check"):
            name = "%s / %s (wall)" % (phase, base)
            if name not in targeted:
                out.append({"name": name, "value": _ratio(wall[phase], wall[base]), "target": None, "met": None,
                            "detail": "no target"})
    return out


def per_instance(summary):
    """Cost per instance for each instance count measured (1 = the plain site.yml cold/rerun): [{instances,
    cold_s, rerun_s, cold_requests, rerun_requests}], each the phase's median divided by the instance count."""
    rows = []
    pairs = [(1, "cold", "rerun")] + sorted(
        (v["instances"], p + "_cold", p) for p, v in summary.items()
        if p.startswith("inst") and not p.endswith("_cold") and v.get("instances", 1) > 1)
    for n, cold, rerun in pairs:
        if cold not in summary or rerun not in summary:
            continue
        rows.append({"instances": n,
                     "cold_s": round(summary[cold]["wall_s"] / n, 3), "rerun_s": round(summary[rerun]["wall_s"] / n, 3),
                     "cold_requests": round(summary[cold]["requests"] / n, 2),
                     "rerun_requests": round(summary[rerun]["requests"] / n, 2)})
    return rows


def format_per_instance(rows):
    lines = ["%-9s %14s %14s %15s %15s" % ("instances", "cold s/inst", "rerun s/inst", "cold req/inst", "rerun req/inst")]
    for r in rows:
        values = (r["instances"], r["cold_s"], r["rerun_s"], r["cold_requests"], r["rerun_requests"])
        lines.append("%-9d %14.2f %14.2f %15g %15g" % values)
    return "\n".join(lines)


def make_report(rounds, meta):
    """The JSON document: schema_version, meta, summary (medians), ratios, per_instance, rounds (raw)."""
    summary = aggregate(rounds)
    return {"schema_version": SCHEMA_VERSION, "meta": meta, "summary": summary, "ratios": compute_ratios(summary),
            "per_instance": per_instance(summary), "rounds": rounds}


def validate_report(report):
    """Raise ValueError naming what is wrong with a report (read back for --compare, or just written)."""
    if not isinstance(report, dict) or report.get("schema_version") != SCHEMA_VERSION:
        raise ValueError("not a benchmark report of schema_version %d" % SCHEMA_VERSION)
    for key in ("meta", "summary", "ratios", "rounds"):
        if key not in report:
            raise ValueError("report has no %r" % key)
    for phase in REQUIRED_PHASES:
        if phase not in report["summary"]:
            raise ValueError("summary has no phase %r" % phase)
    for phase, v in report["summary"].items():
        for key in ("wall_s", "requests", "by_method", "by_resource"):
            if key not in v:
                raise ValueError("summary phase %r has no %r" % (phase, key))
        if not isinstance(v["wall_s"], (int, float)) or not isinstance(v["requests"], (int, float)):
            raise ValueError("summary phase %r: wall_s and requests must be numbers" % phase)
    for r in report["ratios"]:
        if set(r) != {"name", "value", "target", "met", "detail"}:
            raise ValueError("ratio entry %r has keys %s" % (r.get("name"), sorted(r)))
    return report


def compare(old, new):
    """Deltas new - old per phase present in both: [(phase, old wall, new wall, % change, old req, new req)]."""
    rows = []
    for phase in phase_order(new["summary"]):
        if phase not in old["summary"]:
            continue
        o, n = old["summary"][phase], new["summary"][phase]
        pct = round(100.0 * (n["wall_s"] - o["wall_s"]) / o["wall_s"], 1) if o["wall_s"] else None
        rows.append((phase, o["wall_s"], n["wall_s"], pct, o["requests"], n["requests"]))
    return rows


def format_ratios(ratios):
    lines = []
    for r in ratios:
        mark = "-" if r["met"] is None else ("MET" if r["met"] else "NOT MET")
        value = "n/a" if r["value"] is None else "%.2f" % r["value"]
        target = "" if r["target"] is None else "<= %.2f" % r["target"]
        lines.append("%-62s %6s %8s  %-7s  %s" % (r["name"], value, target, mark, r["detail"]))
    return "\n".join(lines)


def format_compare(rows, old_meta, new_meta):
    lines = ["compare %s (%s) -> %s (%s)" % (old_meta.get("commit", "?"), old_meta.get("date", "?"),
                                             new_meta.get("commit", "?"), new_meta.get("date", "?")),
             "%-14s %9s %9s %8s %8s %8s" % ("phase", "old s", "new s", "wall %", "old req", "new req")]
    for phase, ow, nw, pct, oreq, nreq in rows:
        delta = "n/a" if pct is None else "%+.1f" % pct
        lines.append("%-14s %9.2f %9.2f %8s %8g %8g" % (phase, ow, nw, delta, oreq, nreq))
    return "\n".join(lines)


def phase_order(summary):
    """PHASE_ORDER, then the instN phases by N (cold before re-run)."""
    return [p for p in PHASE_ORDER if p in summary] + sorted(
        (p for p in summary if p not in PHASE_ORDER),
        key=lambda p: (int(re.sub(r"\D", "", p) or 0), not p.endswith("_cold")))


def format_summary(summary):
    phases = phase_order(summary)
    cols = ["phase", "wall s", "min", "max", "tasks", "ok", "chg", "requests"] + METHODS
    rows = []
    for p in phases:
        a = summary[p]
        rows.append([p, "%.2f" % a["wall_s"], "%.2f" % a["wall_s_min"], "%.2f" % a["wall_s_max"], str(a["tasks"]),
                     str(a["recap"].get("ok", "-")), str(a["recap"].get("changed", "-")), "%g" % a["requests"]]
                    + ["%g" % a["by_method"].get(m, 0) for m in METHODS])
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    fmt = "  ".join("%-" + str(w) + "s" if i == 0 else "%" + str(w) + "s" for i, w in enumerate(widths))
    lines = [fmt % tuple(cols), fmt % tuple("-" * w for w in widths)] + [fmt % tuple(r) for r in rows]
    resources = sorted({res for p in phases for res in summary[p]["by_resource"]})
    if resources:
        w = max(len(x) for x in resources + ["resource"])
        lines += ["", "requests by resource", ("%-" + str(w) + "s") % "resource" + "".join("%13s" % p for p in phases)]
        for res in resources:
            lines.append(("%-" + str(w) + "s") % res
                         + "".join("%13g" % summary[p]["by_resource"].get(res, 0) for p in phases))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- measuring
def tool(name, required=True):
    for d in (os.path.dirname(sys.executable), os.path.join(ROOT, ".venv", "bin")):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    p = shutil.which(name)
    if not p and required:
        sys.exit("benchmark: %s not found (run scripts/bootstrap.sh)" % name)
    return p


class Cluster:
    """A fresh emulator with one Qdrant stand-in per namespace (Service qdrant:6333, keys from Deployment qdrant)."""

    def __init__(self, workdir, namespaces=("qdrant",)):
        if SUPPORT not in sys.path:
            sys.path.insert(0, SUPPORT)
        import local_env
        from qdrant_standin import QdrantStandin, StandinConfig
        self.workdir = workdir
        self.tmp = os.path.join(workdir, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.emu, first = local_env.build(namespace=namespaces[0])
        self.standins = [first]
        for ns in namespaces[1:]:
            pod = local_env.PodConfig(self.emu, ns, "qdrant")
            standin = QdrantStandin(config=StandinConfig(version=pod.version), tls=None)
            standin.config_provider = pod.config
            standin.start()
            self.standins.append(standin)
            self.emu.register_service_backend(
                ns, "qdrant", 6333, standin.url,
                ready=lambda ns=ns, pod=pod: self.emu.cluster.service_has_endpoints(ns, "qdrant") and pod.ready())
        self.kubeconfig = self.emu.write_kubeconfig(os.path.join(workdir, "kubeconfig"))

    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
        env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.tmp, "ansible-local"), TMPDIR=self.tmp,
                   ANSIBLE_PYTHON_INTERPRETER=tool("python"), K8S_AUTH_KUBECONFIG=self.kubeconfig,
                   KUBECONFIG=self.kubeconfig, PYTHONDONTWRITEBYTECODE="1")
        env["PATH"] = os.path.dirname(tool("ansible-playbook")) + os.pathsep + env.get("PATH", "")
        return env

    def measure(self, cmd, expect_rc=0):
        self.emu.reset_requests()
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        if proc.returncode != expect_rc:
            tail = (proc.stdout + proc.stderr)[-5000:]
            sys.stderr.write("benchmark: %s exited %s\n%s\n" % (" ".join(cmd), proc.returncode, tail))
            sys.exit(1)
        rec = RECAP_RE.findall(proc.stdout.rsplit("PLAY RECAP", 1)[-1]) if "PLAY RECAP" in proc.stdout else []
        recap = {}
        for row in rec:  # summed over hosts
            for k, v in zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, row)):
                recap[k] = recap.get(k, 0) + v
        return {"wall_s": round(wall, 3), "tasks": len(re.findall(r"^TASK \[", proc.stdout, re.M)),
                "recap": recap, "requests": summarize_requests(list(self.emu.requests))}

    def stop(self):
        for s in self.standins:
            s.stop()
        self.emu.stop()


def _write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)
    return path


def _render_objects(render_dir, secret_path):
    """The rendered objects plus the Secret kept outside the render dir, as one multi-document YAML (Namespace first,
    as kubectl -k orders), and the API key."""
    import yaml
    docs = []
    files = [os.path.join(render_dir, n) for n in sorted(os.listdir(render_dir))
             if n != "kustomization.yaml" and n.endswith(".yaml")]
    for path in files + [secret_path]:
        with open(path, encoding="utf-8") as fh:
            docs += [d for d in yaml.safe_load_all(fh) if d]
    docs.sort(key=lambda d: d.get("kind") != "Namespace")
    key = None
    for d in docs:
        if d.get("kind") == "Secret":
            import base64
            data = d.get("data") or {}
            if "QDRANT__SERVICE__API_KEY" in data:
                key = base64.b64decode(data["QDRANT__SERVICE__API_KEY"]).decode()
    return yaml.safe_dump_all(docs, sort_keys=False), len(docs), key


def one_round(workdir, instance_counts, use_kubectl):
    playbook = [tool("ansible-playbook"), "site.yml"] + LOCAL_VARS
    phases = {}
    render_dir = os.path.join(workdir, "render")
    secret_path = os.path.join(workdir, "render-secret.yaml")
    a = Cluster(os.path.join(workdir, "main"))
    try:
        phases["empty"] = a.measure([tool("ansible-playbook"), _write(os.path.join(workdir, "empty.yml"), EMPTY_PLAY)])
        # The plain Secret of the kubernetes backend stays outside the Git directory (qdrant_render_secret_path).
        phases["render"] = a.measure(playbook + ["-e", "qdrant_render_dir=" + render_dir,
                                                 "-e", "qdrant_render_secret_path=" + secret_path])
        phases["cold"] = a.measure(playbook)
        phases["rerun"] = a.measure(playbook)
        phases["check"] = a.measure(playbook + ["--check"])
    finally:
        a.stop()
    phases["cold"]["instances"] = phases["rerun"]["instances"] = 1

    objects_yaml, n_objects, key = _render_objects(render_dir, secret_path)
    objects_file = _write(os.path.join(workdir, "objects.yaml"), objects_yaml, 0o600)
    secret_vars = _write(os.path.join(workdir, "floor-vars.json"),
                         json.dumps({"bench_api_key": key, "bench_objects": objects_file, "bench_namespace": "qdrant"}),
                         0o600)
    floor = [tool("ansible-playbook"), _write(os.path.join(workdir, "floor.yml"), FLOOR_PLAY), "-e", "@" + secret_vars]
    b = Cluster(os.path.join(workdir, "floor"))
    try:
        phases["floor_cold"] = b.measure(floor + ["-e", "bench_check=false"])
        phases["floor"] = b.measure(floor + ["-e", "bench_check=false"])
        phases["floor_check"] = b.measure(floor + ["-e", "bench_check=true"])
    finally:
        b.stop()
    for p in ("floor_cold", "floor", "floor_check"):
        phases[p]["objects"] = n_objects

    if use_kubectl:
        c = Cluster(os.path.join(workdir, "kubectl"))
        try:
            kubectl = [use_kubectl, "apply", "--server-side", "--field-manager=peekoff.qdrant",
                       "--cache-dir=" + os.path.join(c.tmp, "kube-cache"), "-k", render_dir]
            phases["kubectl_cold"] = c.measure(kubectl)
            phases["kubectl"] = c.measure(kubectl)
        finally:
            c.stop()

    for n in instance_counts:
        if n == 1:
            continue
        namespaces = ["qdrant-%d" % i for i in range(1, n + 1)]
        hosts = {"qdrant%d" % i: {"ansible_connection": "local", "ansible_python_interpreter": tool("python"),
                                  "qdrant_namespace": ns} for i, ns in enumerate(namespaces, 1)}
        inventory = _write(os.path.join(workdir, "inventory-%d.json" % n), json.dumps({"all": {"hosts": hosts}}))
        multi = playbook + ["-i", inventory, "-e", "qdrant_hosts=all"]
        m = Cluster(os.path.join(workdir, "inst%d" % n), namespaces)
        try:
            phases["inst%d_cold" % n] = m.measure(multi)
            phases["inst%d" % n] = m.measure(multi)
        finally:
            m.stop()
        phases["inst%d_cold" % n]["instances"] = phases["inst%d" % n]["instances"] = n
    return phases


def _git(*args):
    try:
        return subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of fresh clusters (medians); default 3")
    ap.add_argument("--quick", action="store_true", help="1 round, instances 1 and 2 only")
    ap.add_argument("--instances", help="comma-separated instance counts (default 1,3,5; --quick 1,2)")
    ap.add_argument("--json", help="where to write the JSON (default .build/benchmark-<git short sha>.json)")
    ap.add_argument("--compare", metavar="OLD.json", help="print deltas against an earlier JSON")
    ap.add_argument("--no-kubectl", action="store_true", help="skip the kubectl floor even when kubectl is on PATH")
    ap.add_argument("--show-repeats", type=int, default=5, help="requests repeated verbatim to list for rerun")
    args = ap.parse_args(argv)
    rounds_n = 1 if args.quick else args.rounds
    if rounds_n < 1:
        ap.error("--rounds must be at least 1")
    counts = tuple(int(x) for x in args.instances.split(",")) if args.instances else (
        QUICK_INSTANCES if args.quick else DEFAULT_INSTANCES)
    old = None
    if args.compare:
        with open(args.compare, encoding="utf-8") as fh:
            old = validate_report(json.load(fh))
    kubectl = None if args.no_kubectl else shutil.which("kubectl")
    sha = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    rounds = []
    for i in range(rounds_n):
        with tempfile.TemporaryDirectory(prefix="qdrant-bench-") as d:
            t0 = time.monotonic()
            rounds.append(one_round(d, counts, kubectl))
            sys.stderr.write("benchmark: round %d/%d took %.1fs\n" % (i + 1, rounds_n, time.monotonic() - t0))
    meta = {"commit": sha + ("-dirty" if dirty else ""), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rounds": rounds_n, "instances": list(counts), "kubectl": bool(kubectl), "local_vars": LOCAL_VARS,
            "python": sys.version.split()[0], "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}
    report = validate_report(make_report(rounds, meta))
    summary = report["summary"]
    print("medians of %d round(s); commit %s; %s CPUs, load average %s at the end\n"
          % (rounds_n, meta["commit"], meta["cpus"], meta["loadavg_1m"]))
    print(format_summary(summary))
    rep = summary["rerun"]["repeated"][:args.show_repeats]
    if rep:
        print("\nrerun: requests repeated verbatim (count method path)")
        for x in rep:
            print("  %3d  %-6s %s" % (x["count"], x["method"], x["path"]))
    print("\nratios (targets of issue 11)")
    print(format_ratios(report["ratios"]))
    print("\ncost per instance (N instances in one play; medians divided by N)")
    print(format_per_instance(report["per_instance"]))
    if old is not None:
        print()
        print(format_compare(compare(old, report), old["meta"], meta))
    path = args.json or os.path.join(ROOT, ".build", "benchmark-%s.json" % meta["commit"])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1)
    print("\nwrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
