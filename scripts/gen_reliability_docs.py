"""Write the README's "Reliability" table from the reliability tests' own case tables, so that it cannot drift.

    python scripts/gen_reliability_docs.py          rewrite README.md between the RELIABILITY markers
    python scripts/gen_reliability_docs.py --check  exit 1 when README.md is out of date
                                                     (tests/pytest/test_reliability_docs.py runs this)

The counts are the number of entries of each table (read with ast, nothing is imported or run); the tests fail
when any entry fails, so "leaks found" and "writes before a refusal" are 0 whenever the suite is green.
"""
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- RELIABILITY:BEGIN (scripts/gen_reliability_docs.py) -->", "<!-- RELIABILITY:END -->"
PYTEST = "tests/pytest/"


def count(path, name):
    """Number of entries of the list or dict literal assigned to ``name`` at the top of ``path``."""
    tree = ast.parse((ROOT / path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            value = node.value
            if isinstance(value, (ast.List, ast.Tuple)):
                return len(value.elts)
            if isinstance(value, ast.Dict):
                return len(value.keys)
    raise SystemExit("%s: no list or dict %s" % (path, name))


def rows():
    tags = PYTEST + "test_reliability_tags.py"
    bad = PYTEST + "test_reliability_bad_input.py"
    opts = "tests/unit/plugins/modules/test_qdrant_check_bad_options.py"
    faults = PYTEST + "test_reliability_faults.py"
    leaks = PYTEST + "test_reliability_secrets.py"
    rbac = PYTEST + "test_reliability_rbac.py"
    booleans = PYTEST + "test_reliability_booleans.py"
    interrupts = PYTEST + "test_reliability_interrupts.py"
    return [
        ("bad role variables (one `site.yml` run, a host per case): refused before any write, naming the variable",
         count(bad, "BAD_INPUTS"), bad),
        ("bad `qdrant_check` options: refused before any request, naming the option", count(opts, "BAD_OPTIONS"), opts),
        ("`--tags`/`--skip-tags` combinations: work or refuse before writing; key never rotated",
         count(tags, "TAG_CASES") + count(tags, "COLD_TAG_CASES"), tags),
        ("boolean variables given as `-e name=true` and `-e name=false`", count(booleans, "BOOLEAN_CASES"), booleans),
        ("Kubernetes API faults injected (500, dropped connection, 409, 429, 401, slow) plus missing CRDs; "
         "a plain re-run converges, key and PVC kept", count(faults, "FAULTS") + count(faults, "MISSING_CRDS"), faults),
        ("modes searched at `-vvv` for a key, its base64 or a JWT (leaks found: 0), plus the API request log",
         count(leaks, "SECRET_MODES"), leaks),
        ("modes whose every API request is checked against `docs/rbac/qdrant-deployer.yaml`",
         count(rbac, "RBAC_RUNS"), rbac),
        ("interruptions: a cold converge killed after its N-th write, then a plain re-run (same objects, first key "
         "and PVC kept)", count(interrupts, "INTERRUPTIONS"), interrupts),
    ]


def render():
    lines = ["| what was tried | cases | test |", "|---|---|---|"]
    lines += ["| %s | %d | `%s` |" % (what, n, path) for what, n, path in rows()]
    return "\n".join(lines)


def main():
    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit("README.md has no %s ... %s block" % (BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + render() + "\n" + END + tail
    if "--check" in sys.argv[1:]:
        if new != text:
            print("README.md reliability table is out of date: run python scripts/gen_reliability_docs.py")
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
