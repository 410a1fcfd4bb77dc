"""Check the built collection tarball: it carries what users need and none of the developer-only content."""
import sys
import tarfile

MUST = ["MANIFEST.json", "meta/runtime.yml", "README.md", "LICENSE", "plugins/modules/qdrant_check.py",
        "roles/storage/tasks/main.yml", "roles/qdrant/tasks/main.yml", "roles/gateway_routes/tasks/main.yml",
        "roles/secrets/tasks/main.yml", "playbooks/site.yml"]
MUST_NOT = (".venv/", ".collections/", ".build/", "tests/output/", ".ci/", ".state/", "__pycache__")
# Tests are for developers (galaxy.yml build_ignore: tests): no test file, fixture, emulator or stand-in ships.
TEST_DIRS = ("tests/", "molecule/")

with tarfile.open(sys.argv[1]) as tar:
    names = set(tar.getnames())
missing = [m for m in MUST if m not in names and "./" + m not in names]
leaked = sorted(n for n in names if any(p in n + "/" for p in MUST_NOT)
                or any((n[2:] if n.startswith("./") else n).startswith(t) or n in (t.rstrip("/"), "./" + t.rstrip("/"))
                       for t in TEST_DIRS))
if missing or leaked:
    sys.exit(f"collection tarball: missing {missing}, must not contain {leaked[:10]}")
print(f"collection tarball {sys.argv[1]}: {len(names)} entries, contents as expected")
