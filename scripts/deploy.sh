#!/usr/bin/env bash
# Set everything up (scripts/bootstrap.sh) and run site.yml.
#   - With KUBECONFIG (or K8S_AUTH_KUBECONFIG) naming a file: deploys to THAT cluster.
#   - Without: deploys to the bundled LOCAL EMULATED cluster (tests/support/kube_emulator) with a Qdrant
#     stand-in behind the qdrant Service, so the whole flow can be tried on a machine with no cluster.
# Extra arguments go to ansible-playbook, e.g. scripts/deploy.sh --check --diff -e qdrant_storage_size=100Gi
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

KCFG="${K8S_AUTH_KUBECONFIG:-${KUBECONFIG:-}}"
if [ -n "$KCFG" ]; then
  [ -f "${KCFG%%:*}" ] || { echo "deploy: kubeconfig ${KCFG%%:*} does not exist" >&2; exit 2; }
  echo "deploy: deploying to the cluster of kubeconfig ${KCFG%%:*} (context: ${K8S_AUTH_CONTEXT:-current})"
  export K8S_AUTH_KUBECONFIG="${KCFG%%:*}"
  exec ansible-playbook site.yml "$@"
fi

STATE="$ROOT/.state/local"
cat <<'MSG'
==========================================================================================
 deploy: no KUBECONFIG given. Deploying to the LOCAL EMULATED cluster bundled for tests:
 an in-process Kubernetes API emulator with a Qdrant stand-in behind Service qdrant.
 Nothing real is created. Set KUBECONFIG=/path/to/kubeconfig to deploy to a real cluster.
==========================================================================================
MSG
# Reuse a local cluster left running by an earlier run (a second run shows changed=0), else start one.
if ! python tests/support/local_env.py status --state-dir "$STATE" >/dev/null 2>&1; then
  python tests/support/local_env.py start --state-dir "$STATE"
fi
trap 'cat <<MSG
deploy: the local emulated cluster keeps running so you can look at it or deploy again:
  KUBECONFIG=$STATE/kubeconfig kubectl get deploy,svc,pvc,secret,networkpolicy,httproute -n qdrant
  python tests/support/local_env.py stop --state-dir $STATE     # stop it
MSG' EXIT
export K8S_AUTH_KUBECONFIG="$STATE/kubeconfig"
# No External Secrets Operator runs in the emulator: the secrets role makes a plain Secret instead, and the
# check reaches Qdrant through the Kubernetes API service proxy (there is no Gateway in front of it).
ansible-playbook site.yml \
  -e qdrant_secret_backend=kubernetes \
  -e qdrant_check_via=kubernetes_proxy \
  "$@"
