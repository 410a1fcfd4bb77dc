#!/usr/bin/env bash
# Set up everything the collection needs on a fresh machine, idempotently:
#   - .venv/ with the pinned Python packages of requirements-dev.txt (Python >= 3.12),
#   - kubernetes.core taken from the PyPI `ansible` bundle (Galaxy is not needed),
#   - .collections/ansible_collections/{kubernetes/core, peekoff/qdrant -> this checkout}.
# Safe to run again: it only redoes what is missing or out of date.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The one place the kubernetes.core release is pinned for offline installs: the `ansible` bundle that carries it.
ANSIBLE_BUNDLE_VERSION="14.5.0"
KUBERNETES_CORE_VERSION="$(sed -n 's/^ *version: *"\{0,1\}\([0-9.]*\)"\{0,1\}/\1/p' "$ROOT/requirements.yml" | head -n1)"

VENV="$ROOT/.venv"
COLL="$ROOT/.collections/ansible_collections"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

find_python() {
  local c
  for c in "${QDRANT_PYTHON:-}" python3.13 python3.12 \
           /root/.pyenv/versions/3.13*/bin/python3 /root/.pyenv/versions/3.12*/bin/python3 \
           /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)" || { log "need Python >= 3.12 (ansible-core 2.21); set QDRANT_PYTHON to one"; exit 1; }
  log "creating .venv with $PY"
  "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$ROOT/requirements-dev.txt" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  log "installing requirements-dev.txt into .venv"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
  echo "$WANT" > "$STAMP"
fi

if [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' "$COLL/kubernetes/core/MANIFEST.json" 2>/dev/null)" != "$KUBERNETES_CORE_VERSION" ]; then
  log "installing kubernetes.core $KUBERNETES_CORE_VERSION from the PyPI bundle ansible==$ANSIBLE_BUNDLE_VERSION"
  TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps "ansible==$ANSIBLE_BUNDLE_VERSION" -d "$TMP"
  rm -rf "$COLL/kubernetes/core"; mkdir -p "$COLL"
  "$VENV/bin/python" - "$TMP"/ansible-*.whl "$COLL/.." "$KUBERNETES_CORE_VERSION" <<'PY'
import json, sys, zipfile
wheel, dest, want = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith("ansible_collections/kubernetes/core/")]
    z.extractall(dest, members=names)
    got = json.loads(z.read("ansible_collections/kubernetes/core/MANIFEST.json"))["collection_info"]["version"]
if got != want:
    sys.exit(f"bundle carries kubernetes.core {got}, requirements.yml pins {want}: change ANSIBLE_BUNDLE_VERSION")
PY
fi

# The collection itself, resolvable from the checkout (ansible.cfg points collections_path here).
mkdir -p "$COLL/peekoff"
if [ "$(readlink "$COLL/peekoff/qdrant" 2>/dev/null)" != "../../.." ]; then
  rm -rf "$COLL/peekoff/qdrant"
  ln -s ../../.. "$COLL/peekoff/qdrant"
fi
# Whole output captured first: `| head -n1` would close the pipe on ansible mid-write (BrokenPipe traceback).
VERSION_TEXT="$("$VENV/bin/ansible" --version)"
log "ready: ${VERSION_TEXT%%$'\n'*}, kubernetes.core $KUBERNETES_CORE_VERSION"
