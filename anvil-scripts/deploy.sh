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

cd "$root/contracts"
forge="node_modules/.bin/forge"
[ -x "$forge" ] || { echo "deploy: toolchain missing, run 'make setup' first" >&2; exit 1; }
# forge scripts may write only inside contracts/deployments (foundry.toml fs_permissions): write there
# under a unique name, then move the file where it was asked for.
staged="deployments/.deploy-$$.json"
trap 'rm -f "$staged"' EXIT
POQ_DEPLOYMENTS="$PWD/$staged" "$forge" script script/Deploy.s.sol:Deploy --rpc-url "$RPC_URL" \
  --private-key "$PRIVATE_KEY" --broadcast --slow --non-interactive >"${POQ_DEPLOY_LOG:-/dev/null}"
out="${1:-deployments/$(node_modules/.bin/cast chain-id --rpc-url "$RPC_URL").json}"
case "$out" in /*) ;; *) out="$OLDPWD/$out" ;; esac
mv "$staged" "$out"
echo "deployed: $out"
cat "$out"
