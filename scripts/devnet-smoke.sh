#!/usr/bin/env bash
# Starts a throw-away devnet (its own port and state folder), runs anvil-scripts/smoke.sh on it, and
# stops it whatever happens.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
POQ_DEVNET_DIR="$(mktemp -d "${TMPDIR:-/tmp}/poq-devnet.XXXXXX")"
export POQ_DEVNET_DIR
trap '"$root/anvil-scripts/devnet.sh" stop >/dev/null; rm -rf "$POQ_DEVNET_DIR"' EXIT
"$root/anvil-scripts/devnet.sh" up
"$root/anvil-scripts/smoke.sh"
