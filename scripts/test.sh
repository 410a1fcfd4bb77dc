#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets everything up (scripts/bootstrap.sh), then runs each stage and
# prints the time it took. Stops at the first failing stage. `.ci/run` calls this.
#   scripts/test.sh                 all stages
#   scripts/test.sh pytest molecule only these stages (names as printed)
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
PY_VERSION="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
# Outside the checkout: inside it, ansible-test would ask this repository's git for the file list, where the copy
# is ignored, and then test nothing.
# One per run, so that runs side by side do not pull the tree from under each other.
BUILD_TOP="$(mktemp -d "${TMPDIR:-/tmp}/peekoff-qdrant-ansible-test.XXXXXX")"
BUILD="$BUILD_TOP/ansible_collections"
trap 'rm -rf "$BUILD_TOP"' EXIT
REPORTS="$ROOT/.build/reports"
rm -rf "$REPORTS"; mkdir -p "$REPORTS"

# A real ansible_collections/peekoff/qdrant tree (ansible-test refuses symlinks) holding exactly what git would
# ship (tracked files plus untracked, not ignored ones), with kubernetes.core beside it.
# Made once per run; sanity and units share it.
collection_copy() {
  [ -d "$BUILD/peekoff/qdrant" ] && return 0
  mkdir -p "$BUILD/peekoff/qdrant" "$BUILD/kubernetes"
  # Files deleted in the work tree but still tracked are listed too: pass on only those that exist.
  git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf - | tar -xf - -C "$BUILD/peekoff/qdrant"
  cp -r .collections/ansible_collections/kubernetes/core "$BUILD/kubernetes/core"
}

# ansible-test fetches get-pip.py from a host these machines cannot reach; seed its cache with our stand-in.
seed_get_pip() {
  local v
  # The pip release ansible-test pins for its virtual environments (ansible_test/_internal/python_requirements.py).
  v="$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from types import SimpleNamespace as N
print(g(N(version="'"$PY_VERSION"'"))["pip"])')"
  mkdir -p "$HOME/.ansible/test/cache"
  cp tests/sanity/get_pip_offline.py "$HOME/.ansible/test/cache/get_pip_${v//./_}.py"
}

# The real Kubernetes control plane of tests/pytest/test_real_cluster.py (docs/real-control-plane.md): built once,
# cached under a key of its go.sum (a warm run builds nothing); first, because a cold build is the longest step.
stage_control_plane() { bash scripts/build-control-plane.sh >/dev/null; }
stage_yamllint()  { yamllint --strict .; }
stage_ansible_lint() { ansible-lint --offline --profile production; }
stage_changelog() { antsibull-changelog lint; }
stage_build()     { rm -f .build/peekoff-qdrant-*.tar.gz; ansible-galaxy collection build --force --output-path .build . >/dev/null
                    python tests/sanity/check_build.py .build/peekoff-qdrant-*.tar.gz; }
stage_sanity()    { collection_copy; seed_get_pip
                    if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                      (apt-get update -qq && apt-get install -y -qq shellcheck) >/dev/null 2>&1 || echo "shellcheck not installable: its sanity test is skipped" >&2
                    fi
                    (cd "$BUILD/peekoff/qdrant" && ansible-test sanity --local --python "$PY_VERSION" --requirements --color no \
                       --skip-test pslint); }
stage_units()     { collection_copy
                    (cd "$BUILD/peekoff/qdrant" && ansible-test units --local --python "$PY_VERSION" --requirements --color no); }
stage_pytest()    { python -m pytest -p no:cacheprovider -n 2 --junitxml "$REPORTS/pytest.xml" tests/pytest tests/unit; }
# Against a real Qdrant built from source (tests/fixtures/qdrant-1.19.0/README.md): qdrant_check and a
# qdrant_snapshot round trip, single node and three peers. Optional: without QDRANT_BINARY it is skipped.
stage_real_qdrant() {
  if [ -z "${QDRANT_BINARY:-}" ]; then
    echo "real_qdrant skipped: QDRANT_BINARY is not set (no registry ships a Qdrant server binary; build one from"
    echo "source as tests/fixtures/qdrant-1.19.0/README.md says and set QDRANT_BINARY to run this stage)"
    return 0
  fi
  if [ ! -x "$QDRANT_BINARY" ]; then echo "QDRANT_BINARY=$QDRANT_BINARY is not an executable file" >&2; return 1; fi
  echo "real_qdrant: $("$QDRANT_BINARY" --version)"
  python -m pytest -p no:cacheprovider --junitxml "$REPORTS/real_qdrant.xml" tests/real_qdrant
}
# The scenarios that run here (emulator); kind and kind-cluster need a real cluster (CI job `kind`).
stage_molecule()  { (cd "$ROOT" && molecule test -s default && molecule test -s cluster); }

ALL=(control_plane yamllint ansible_lint changelog build sanity units pytest molecule real_qdrant)
STAGES=("${@:-${ALL[@]}}")
declare -A TOOK
START_ALL=$(date +%s)
for s in "${STAGES[@]}"; do
  printf '\n===== stage %s =====\n' "$s"
  t0=$(date +%s)
  if ! "stage_$s"; then
    printf '\n===== stage %s FAILED after %ss =====\n' "$s" "$(( $(date +%s) - t0 ))"
    exit 1
  fi
  TOOK[$s]=$(( $(date +%s) - t0 ))
  printf '===== stage %s passed in %ss =====\n' "$s" "${TOOK[$s]}"
done
printf '\n===== timings =====\n'
for s in "${STAGES[@]}"; do printf '%-14s %5ss\n' "$s" "${TOOK[$s]}"; done
printf '%-14s %5ss\n' total "$(( $(date +%s) - START_ALL ))"
if [ -f "$REPORTS/pytest.xml" ]; then python tests/sanity/junit_summary.py "$REPORTS"/*.xml; fi
