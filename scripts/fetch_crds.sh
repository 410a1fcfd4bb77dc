#!/usr/bin/env bash
# Fetch the CRDs the tests validate against (the same pinned upstream releases as ../shared/crds/) into a
# directory, for checkouts that have no ../shared/ beside them. Needs access to GitHub.
#   scripts/fetch_crds.sh [DIR]   (default .cache/crds); then: export QDRANT_TEST_CRD_DIR=DIR
set -euo pipefail
DIR="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/crds}"
GATEWAY_API_VERSION="v1.6.1"
EXTERNAL_SECRETS_VERSION="v2.9.0"
mkdir -p "$DIR"
get() { curl -fsSL --retry 3 -o "$DIR/$(basename "$1")" "$1"; }
get "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/$GATEWAY_API_VERSION/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"
get "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/$GATEWAY_API_VERSION/config/crd/standard/gateway.networking.k8s.io_grpcroutes.yaml"
get "https://raw.githubusercontent.com/external-secrets/external-secrets/$EXTERNAL_SECRETS_VERSION/config/crds/bases/external-secrets.io_externalsecrets.yaml"
echo "CRDs in $DIR; export QDRANT_TEST_CRD_DIR=$DIR"
