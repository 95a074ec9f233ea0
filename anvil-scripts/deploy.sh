#!/usr/bin/env bash
# Deploys poq to any RPC endpoint (a testnet or a local anvil) and writes the addresses as JSON.
#
#   RPC_URL=https://... PRIVATE_KEY=0x... anvil-scripts/deploy.sh [OUT.json]
#
# The key comes from the environment only, never from the command line. Every POQ_* override that
# contracts/script/Deploy.s.sol documents (owner, treasury, models, committee sizes, windows, stakes)
# is passed through. OUT defaults to contracts/deployments/<chainid>.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
: "${RPC_URL:?set RPC_URL to the chain's JSON-RPC endpoint}"
: "${PRIVATE_KEY:?set PRIVATE_KEY to the deployer's key}"
[ $# -ge 1 ] && export POQ_DEPLOYMENTS="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

cd "$root/contracts"
forge="node_modules/.bin/forge"
[ -x "$forge" ] || { echo "deploy: toolchain missing, run 'make setup' first" >&2; exit 1; }
"$forge" script script/Deploy.s.sol:Deploy --rpc-url "$RPC_URL" --private-key "$PRIVATE_KEY" \
  --broadcast --slow --non-interactive >"${POQ_DEPLOY_LOG:-/dev/null}"
out="${POQ_DEPLOYMENTS:-$root/contracts/deployments/$(node_modules/.bin/cast chain-id --rpc-url "$RPC_URL").json}"
echo "deployed: $out"
cat "$out"
