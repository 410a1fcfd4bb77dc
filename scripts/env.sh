# shellcheck shell=bash
# Sourced by scripts/deploy.sh and scripts/test.sh: set everything up (scripts/bootstrap.sh, idempotent) and
# point this shell at the checkout's toolchain: the .venv tools first on PATH, the checkout's ansible.cfg.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
bash scripts/bootstrap.sh
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
