#!/usr/bin/env bash
# Installs everything poq needs from the package registries, into the project and $POQ_HOME.
# Idempotent and quick when nothing changed: each step keeps a stamp of what it installed.
#
#   POQ_HOME   caches, virtual environments and models (default $HOME/.cache/poq)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
poq_home="${POQ_HOME:-$HOME/.cache/poq}"
mkdir -p "$poq_home"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required ($2)" >&2; exit 1; }; }
need node "Node.js runs the pinned solc and ships Foundry through npm"
need npm "installs the pinned Foundry, solc, OpenZeppelin and forge-std"
need python3 "runs slither in a virtual environment"
need cargo "builds the Rust workspace"

# Foundry 1.7.1, solc 0.8.37, OpenZeppelin 5.7.0 and forge-std, pinned by contracts/package-lock.json.
stamp="$root/contracts/node_modules/.poq-lock.sha256"
lock_sum="$(sha256sum "$root/contracts/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: installing the contracts toolchain (npm ci)"
  (cd "$root/contracts" && npm ci --cache "$poq_home/npm" --prefer-offline --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi

# slither, pinned, in its own virtual environment.
venv="$poq_home/venv/slither"
requirements="$root/scripts/requirements-slither.txt"
req_sum="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$venv/.poq-req.sha256" 2>/dev/null)" != "$req_sum" ]; then
  echo "setup: installing slither into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$req_sum" >"$venv/.poq-req.sha256"
fi
