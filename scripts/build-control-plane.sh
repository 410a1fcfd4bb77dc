#!/usr/bin/env bash
# Build the tests' real Kubernetes control plane (tests/support/control_plane: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok in one multi-call binary `kcp`) once, and cache it under a key
# of the wrapper module's go.mod, go.sum and sources:
#   .cache/control-plane/<key>/kcp
# A warm run finds the binary and builds nothing. Prints the binary's path on stdout; progress goes to stderr.
#   scripts/build-control-plane.sh            build if needed
#   KCP_JOBS=2 scripts/build-control-plane.sh compile jobs (go build -p; default: the number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tests/support/control_plane"
log() { printf '[control-plane] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "needs Go (go.mod of $SRC says which release)"; exit 1; }
KEY="$(cd "$SRC" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)"
OUT="$ROOT/.cache/control-plane/$KEY"
BIN="$OUT/kcp"
# One build at a time (pytest-xdist workers may all ask for it): the others wait, then find it cached.
mkdir -p "$ROOT/.cache/control-plane"
exec 9>"$ROOT/.cache/control-plane/.lock"
flock 9
if [ -x "$BIN" ]; then
  log "cached: $BIN ($("$BIN" version))"
  echo "$BIN"; exit 0
fi

# The Kubernetes release the binary reports (/version), from the module's own requirement.
K8S_VERSION="$(cd "$SRC" && sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' go.mod | head -n1)"
MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"
LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
LDFLAGS="$LDFLAGS -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean"

mkdir -p "$OUT"
t0=$(date +%s)
log "downloading modules (Go module proxy)"
(cd "$SRC" && go mod download)
TOTAL="$(cd "$SRC" && go list -deps . | wc -l)"
log "building kcp ($K8S_VERSION, $TOTAL packages; go build caches compiled packages in $(go env GOCACHE))"
LOG="$OUT/build.log"
(cd "$SRC" && go build -v -p "${KCP_JOBS:-$(nproc)}" -trimpath -ldflags "$LDFLAGS" -o "$BIN.tmp" . >"$LOG" 2>&1) &
pid=$!
# go build -v names each package it compiles (cached ones are not named): a rough progress count.
while kill -0 "$pid" 2>/dev/null; do
  sleep 30
  kill -0 "$pid" 2>/dev/null || break
  log "$(grep -c . "$LOG" 2>/dev/null || echo 0)/$TOTAL packages compiled, $(( $(date +%s) - t0 ))s"
done
if ! wait "$pid"; then
  tail -n 40 "$LOG" >&2
  log "build failed after $(( $(date +%s) - t0 ))s (log: $LOG)"
  rm -f "$BIN.tmp"; exit 1
fi
mv "$BIN.tmp" "$BIN"
log "built $BIN in $(( $(date +%s) - t0 ))s ($("$BIN" version), $(du -h "$BIN" | cut -f1))"
echo "$BIN"
