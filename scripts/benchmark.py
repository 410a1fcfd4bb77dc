"""Measure how fast site.yml deploys, and how many Kubernetes API requests it costs (speed is a feature).

    .venv/bin/python scripts/benchmark.py [--runs N] [--json PATH] [--show-repeats K]

Not a test: it times nothing against a threshold. Run it from anywhere (it runs ansible-playbook from the
repository root so ansible.cfg applies; run scripts/bootstrap.sh first). For each of N runs it starts a fresh
in-process local cluster - the Kubernetes API emulator plus the Qdrant stand-in wired like
tests/support/local_env.py wires them (behind Service qdrant, keys from the Deployment's env) - and measures:

  a. converge       first ``ansible-playbook site.yml`` on the empty cluster
  b. reconverge     the same again (idempotent: changed=0)
  c. check          ``--check`` after that
  d. verify         ``--tags qdrant_verify`` (the verify play alone: read the Secret, run qdrant_check)
  e. baseline       ``kubectl apply --server-side -k DIR`` of the manifests site.yml renders with
                    ``-e qdrant_render_dir=DIR`` (the render itself touches no cluster and is timed as
                    ``render``), on a second fresh cluster, twice (first apply, then the idempotent one).
                    ``-k`` rather than ``-f DIR``: ``-f`` also reads kustomization.yaml (not an object) and does
                    not apply the Namespace before the objects in it.

All playbook runs use the local-cluster settings of scripts/deploy.sh (``qdrant_secret_backend=kubernetes``,
``qdrant_check_via=kubernetes_proxy``). kubernetes.core caches API discovery in $TMPDIR/k8srcp-*.json; each run
gets its own TMPDIR, so phase a starts with a cold cache, like a first deploy.

For each phase it prints wall time (median over runs; min and max in the JSON), Ansible tasks (TASK headers
printed, i.e. started, including skipped ones) and the recap, API requests by method (PATCH with
``dryRun`` counted apart as PATCH-dry) and by resource (``discovery`` = /api, /apis, /openapi, /version;
``<plural>.<group>``; ``services/proxy`` = requests qdrant_check made through the API server's service proxy),
and the requests repeated verbatim (same method, path and query) within the phase - candidates for savings.
Everything, per run and with every request in order (``requests.log``), goes to .build/benchmark.json (or
--json PATH). Wall times depend on the machine's load: compare numbers taken on the same machine.
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
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

LOCAL_VARS = ["-e", "qdrant_secret_backend=kubernetes", "-e", "qdrant_check_via=kubernetes_proxy"]
METHODS = ["GET", "POST", "PATCH", "PATCH-dry", "PUT", "DELETE"]
RECAP_RE = re.compile(r"^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)
SCRUB_ENV = ("KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "ANSIBLE_CONFIG",
             "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_VERBOSITY", "ANSIBLE_CHECK_MODE", "ANSIBLE_DIFF_ALWAYS")


def tool(name):
    for d in (os.path.dirname(sys.executable), os.path.join(ROOT, ".venv", "bin")):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    p = shutil.which(name)
    if not p:
        sys.exit("benchmark: %s not found (run scripts/bootstrap.sh)" % name)
    return p


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


class Cluster:
    def __init__(self, workdir):
        import local_env
        self.workdir = workdir
        self.tmp = os.path.join(workdir, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.emu, self.standin = local_env.build()
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
        out = proc.stdout + proc.stderr
        if proc.returncode != expect_rc:
            sys.stderr.write("benchmark: %s exited %s\n%s\n" % (" ".join(cmd), proc.returncode, out[-5000:]))
            sys.exit(1)
        rec = RECAP_RE.findall(proc.stdout.rsplit("PLAY RECAP", 1)[-1]) if "PLAY RECAP" in proc.stdout else []
        recap = dict(zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, rec[0]))) if rec else {}
        return {"wall_s": round(wall, 3), "tasks": len(re.findall(r"^TASK \[", proc.stdout, re.M)),
                "recap": recap, "requests": summarize_requests(list(self.emu.requests))}

    def stop(self):
        self.standin.stop()
        self.emu.stop()


def one_run(workdir):
    playbook = [tool("ansible-playbook"), "site.yml"] + LOCAL_VARS
    phases = {}
    c = Cluster(os.path.join(workdir, "cluster"))
    try:
        phases["converge"] = c.measure(playbook)
        phases["reconverge"] = c.measure(playbook)
        phases["check"] = c.measure(playbook + ["--check"])
        phases["verify"] = c.measure(playbook + ["--tags", "qdrant_verify"])
        render_dir = os.path.join(workdir, "render")
        secret_path = os.path.join(workdir, "render-secret.yaml")  # the key stays outside the Git directory
        phases["render"] = c.measure(playbook + ["-e", "qdrant_render_dir=" + render_dir,
                                                 "-e", "qdrant_render_secret_path=" + secret_path])
    finally:
        c.stop()
    b = Cluster(os.path.join(workdir, "baseline"))
    try:
        kubectl = [tool("kubectl"), "apply", "--server-side", "--field-manager=peekoff.qdrant", "-k", render_dir]
        phases["kubectl_apply"] = b.measure(kubectl)
        phases["kubectl_reapply"] = b.measure(kubectl)
        phases["kubectl_apply"]["objects"] = len([f for f in os.listdir(render_dir) if f != "kustomization.yaml"])
    finally:
        b.stop()
    return phases


def aggregate(runs):
    out = {}
    for phase in runs[0]:
        walls = [r[phase]["wall_s"] for r in runs]
        last = runs[-1][phase]
        out[phase] = {"wall_s_median": round(statistics.median(walls), 2), "wall_s_min": min(walls),
                      "wall_s_max": max(walls), "tasks": last["tasks"], "recap": last["recap"],
                      "requests": last["requests"]}
    return out


def print_table(agg, show_repeats):
    cols = ["phase", "wall s", "tasks", "ok", "chg", "skip", "requests"] + METHODS
    rows = []
    for phase, a in agg.items():
        r = a["requests"]
        rows.append([phase, "%.2f" % a["wall_s_median"], str(a["tasks"]), str(a["recap"].get("ok", "-")),
                     str(a["recap"].get("changed", "-")), str(a["recap"].get("skipped", "-")), str(r["total"])]
                    + [str(r["by_method"].get(m, 0)) for m in METHODS])
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    fmt = "  ".join("%-" + str(w) + "s" if i == 0 else "%" + str(w) + "s" for i, w in enumerate(widths))
    print(fmt % tuple(cols))
    print(fmt % tuple("-" * w for w in widths))
    for row in rows:
        print(fmt % tuple(row))
    resources = sorted({res for a in agg.values() for res in a["requests"]["by_resource"]})
    print("\nrequests by resource")
    w = max(len(x) for x in resources + ["resource"])
    print(("%-" + str(w) + "s") % "resource" + "".join("%16s" % p for p in agg))
    for res in resources:
        counts = "".join("%16s" % a["requests"]["by_resource"].get(res, 0) for a in agg.values())
        print(("%-" + str(w) + "s") % res + counts)
    if "verify" in agg and not agg["verify"]["requests"]["by_resource"].get("services/proxy"):
        print("\nNOTE: --tags qdrant_verify made no request through the service proxy: qdrant_check did not run.")
    for phase, a in agg.items():
        rep = a["requests"]["repeated"][:show_repeats]
        if rep:
            print("\n%s: requests repeated verbatim (count method path)" % phase)
            for x in rep:
                print("  %3d  %-6s %s" % (x["count"], x["method"], x["path"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=1, help="fresh clusters to measure (median wall time); default 1")
    ap.add_argument("--json", default=os.path.join(ROOT, ".build", "benchmark.json"), help="where to write JSON")
    ap.add_argument("--show-repeats", type=int, default=8, help="repeated requests to list per phase")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="qdrant-bench-") as d:
            t0 = time.monotonic()
            runs.append(one_run(d))
            sys.stderr.write("benchmark: run %d/%d took %.1fs\n" % (i + 1, args.runs, time.monotonic() - t0))
    agg = aggregate(runs)
    print_table(agg, args.show_repeats)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump({"runs": runs, "summary": agg, "local_vars": LOCAL_VARS,
                   "python": sys.version.split()[0]}, fh, indent=2)
    print("\nwrote %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
