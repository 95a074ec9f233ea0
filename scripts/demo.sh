#!/usr/bin/env bash
# The demo as far as it goes today: a local devnet with the contracts deployed and dev nodes staked,
# and one task driven through its whole lifecycle with `cast`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cat <<'NOTE'
poq demo: the operator and validator daemons and the `poq` CLI do not exist yet, so no model runs.
This demo deploys the contracts to a local anvil, stakes one operator and three validators, and plays
every role of one task with `cast` (a fixed output, fixed scores of 0.8) to show the on-chain lifecycle.
NOTE
"$root/scripts/devnet-smoke.sh"
