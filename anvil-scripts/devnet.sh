#!/usr/bin/env bash
# A local poq devnet: anvil on 127.0.0.1 (a free port), the contracts deployed, dev nodes staked.
#
#   anvil-scripts/devnet.sh up        start anvil, deploy, register dev operators and validators
#   anvil-scripts/devnet.sh start     start anvil only
#   anvil-scripts/devnet.sh deploy    deploy to the running anvil
#   anvil-scripts/devnet.sh register  stake and register the dev nodes
#   anvil-scripts/devnet.sh env       print RPC_URL and the contract addresses as shell exports
#   anvil-scripts/devnet.sh stop      stop anvil by its PID
#
# State lives in $POQ_DEVNET_DIR (default .devnet/): anvil.pid, anvil.port, anvil.log, deployment.json.
# Dev keys are anvil's well-known mnemonic accounts: 0 deploys, 1 requests, then operators, then validators.
# POQ_DEV_OPERATORS (default 1) and POQ_DEV_VALIDATORS (default 3) set how many nodes register.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${POQ_DEVNET_DIR:-$root/.devnet}"
bin="$root/contracts/node_modules/.bin"
mnemonic="test test test test test test test test test test test junk"
model="${POQ_DEV_MODEL:-smollm2-135m-instruct-q4_1}"
evaluator_id="${POQ_DEV_EVALUATOR_ID:-$("$bin/cast" keccak "poq-default-evaluator")}"
operators="${POQ_DEV_OPERATORS:-1}"
validators="${POQ_DEV_VALIDATORS:-3}"

die() { echo "devnet: $*" >&2; exit 1; }
need_toolchain() { [ -x "$bin/anvil" ] || die "toolchain missing, run 'make setup' first"; }
rpc_url() { [ -f "$dir/anvil.port" ] || die "no devnet running (run '$0 start')"; echo "http://127.0.0.1:$(cat "$dir/anvil.port")"; }
dev_key() { "$bin/cast" wallet private-key --mnemonic "$mnemonic" --mnemonic-index "$1"; }
dev_address() { "$bin/cast" wallet address --private-key "$(dev_key "$1")"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
running() { [ -f "$dir/anvil.pid" ] && kill -0 "$(cat "$dir/anvil.pid")" 2>/dev/null; }

start() {
  need_toolchain
  running && die "already running (pid $(cat "$dir/anvil.pid")); '$0 stop' first"
  mkdir -p "$dir"
  local port; port="$(free_port)"
  # setsid: anvil outlives this script and is stopped by its PID, never by name.
  setsid "$bin/anvil" --host 127.0.0.1 --port "$port" --mnemonic "$mnemonic" >"$dir/anvil.log" 2>&1 &
  echo $! >"$dir/anvil.pid"
  echo "$port" >"$dir/anvil.port"
  for _ in $(seq 1 100); do
    "$bin/cast" chain-id --rpc-url "http://127.0.0.1:$port" >/dev/null 2>&1 && { echo "anvil: http://127.0.0.1:$port (pid $(cat "$dir/anvil.pid"))"; return; }
    running || die "anvil exited: $(tail -n 5 "$dir/anvil.log")"
    sleep 0.1
  done
  die "anvil did not answer on port $port"
}

deploy() {
  RPC_URL="$(rpc_url)" PRIVATE_KEY="$(dev_key 0)" POQ_MODELS="$model" \
    POQ_OUTPUT_COMMIT_WINDOW="${POQ_OUTPUT_COMMIT_WINDOW:-120}" POQ_OUTPUT_REVEAL_WINDOW="${POQ_OUTPUT_REVEAL_WINDOW:-30}" \
    POQ_SCORE_COMMIT_WINDOW="${POQ_SCORE_COMMIT_WINDOW:-60}" POQ_SCORE_REVEAL_WINDOW="${POQ_SCORE_REVEAL_WINDOW:-30}" \
    POQ_NUM_OPERATORS="${POQ_NUM_OPERATORS:-$operators}" POQ_NUM_VALIDATORS="${POQ_NUM_VALIDATORS:-$validators}" \
    POQ_QUORUM="${POQ_QUORUM:-$(( validators / 2 + 1 ))}" \
    "$root/anvil-scripts/deploy.sh" "$dir/deployment.json" >/dev/null
  echo "deployed: $dir/deployment.json"
}

address_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$dir/deployment.json" "$1"; }

# register_nodes ROLE(1 operator, 2 validator) COUNT SERVICE_ID LABEL FIRST_ACCOUNT
register_nodes() {
  local role="$1" count="$2" service="$3" label="$4" index="$5" url registry
  url="$(rpc_url)"
  registry="$(address_of nodeRegistry)"
  for _ in $(seq 1 "$count"); do
    "$bin/cast" send -q --rpc-url "$url" --private-key "$(dev_key "$index")" --value 1ether \
      "$registry" "register(uint8,bytes32[])" "$role" "[$service]"
    echo "$label $(dev_address "$index") (account $index) serves $service"
    index=$((index + 1))
  done
}

register() {
  register_nodes 1 "$operators" "$("$bin/cast" keccak "$model")" "operator " 2
  register_nodes 2 "$validators" "$evaluator_id" "validator" $((2 + operators))
}

print_env() {
  echo "export RPC_URL=$(rpc_url)"
  echo "export POQ_TASK_MANAGER=$(address_of taskManager)"
  echo "export POQ_NODE_REGISTRY=$(address_of nodeRegistry)"
  echo "export POQ_DEPLOYMENT=$dir/deployment.json"
}

stop() {
  if running; then
    kill "$(cat "$dir/anvil.pid")"
    echo "anvil stopped (pid $(cat "$dir/anvil.pid"))"
  fi
  rm -f "$dir/anvil.pid" "$dir/anvil.port"
}

case "${1:-}" in
  up) start; deploy; register ;;
  start) start ;;
  deploy) deploy ;;
  register) register ;;
  env) print_env ;;
  stop|down) stop ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
