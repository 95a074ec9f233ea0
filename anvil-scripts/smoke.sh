#!/usr/bin/env bash
# One whole task on a running devnet with nothing but `cast`: submit, draw the committee, commit and
# reveal an output, commit and reveal scores, finalize, withdraw. Proves the deployment works end to end
# and shows a requester needs no poq code. Expects `devnet.sh up` with 1 operator and 3 validators.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${POQ_DEVNET_DIR:-$root/.devnet}"
cast="$root/contracts/node_modules/.bin/cast"
eval "$("$root/anvil-scripts/devnet.sh" env)"
mnemonic="test test test test test test test test test test test junk"
key() { "$cast" wallet private-key --mnemonic "$mnemonic" --mnemonic-index "$1"; }
addr() { "$cast" wallet address --private-key "$(key "$1")"; }
send() { local k="$1"; shift; "$cast" send -q --rpc-url "$RPC_URL" --private-key "$(key "$k")" "$@"; }
call() { "$cast" call --rpc-url "$RPC_URL" "$@"; }
tm="$POQ_TASK_MANAGER"
chain_id="$("$cast" chain-id --rpc-url "$RPC_URL")"

model_id="$("$cast" keccak smollm2-135m-instruct-q4_1)"
evaluator_id="$("$cast" keccak poq-default-evaluator)"
prompt="What is proof of quality?"
output="A way to pay for model output by its scored quality."
fee=10000000000000000 # 0.01 ether

# commitment = keccak256(abi.encode(chainid, taskManager, taskId, sender, payloadHash, salt))
commitment() {
  "$cast" keccak "$("$cast" abi-encode "f(uint256,address,uint256,address,bytes32,bytes32)" \
    "$chain_id" "$tm" "$1" "$2" "$3" "$4")"
}

task_id="$(call "$tm" "nextTaskId()(uint256)")"
send 1 --value "$fee" "$tm" "submitTask(bytes32,bytes32,bytes,(uint32,uint32,uint16,uint32,uint32,uint64))" \
  "$model_id" "$evaluator_id" "$("$cast" from-utf8 "$prompt")" "(64,0,0,0,1000,7)"
echo "task $task_id submitted"

select_tx="$("$cast" send --json --rpc-url "$RPC_URL" --private-key "$(key 1)" "$tm" "selectCommittee(uint256)" "$task_id")"
data="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["logs"][0]["data"])' "$select_tx")"
committee="$("$cast" decode-abi --input "f(address[],address[],uint256[4])" "$data")"
operators="$(echo "$committee" | sed -n 1p)"
validators="$(echo "$committee" | sed -n 2p)"
echo "committee: operators $operators validators $validators"

op_index=2
op="$(addr $op_index)"
salt="$("$cast" keccak "salt-$op")"
send $op_index "$tm" "commitOutput(uint256,bytes32)" "$task_id" \
  "$(commitment "$task_id" "$op" "$("$cast" keccak "$("$cast" from-utf8 "$output")")" "$salt")"
send $op_index "$tm" "revealOutput(uint256,bytes,bytes32)" "$task_id" "$("$cast" from-utf8 "$output")" "$salt"
echo "output revealed by $op"

scores_hash="$("$cast" keccak "$("$cast" abi-encode "f(uint16[])" "[8000]")")"
for i in 3 4 5; do
  v="$(addr $i)"
  send $i "$tm" "commitScores(uint256,bytes32)" "$task_id" \
    "$(commitment "$task_id" "$v" "$scores_hash" "$("$cast" keccak "salt-$v")")"
done
for i in 3 4 5; do
  v="$(addr $i)"
  send $i "$tm" "revealScores(uint256,uint16[],bytes32)" "$task_id" "[8000]" "$("$cast" keccak "salt-$v")"
done
echo "scores revealed"

send 1 "$tm" "finalize(uint256,address[],address[])" "$task_id" "$operators" "$validators"
status="$(call "$tm" "getTask(uint256)((address,uint96,bytes32,bytes32,bytes32,uint8,uint16,uint40,uint40,uint8,uint8,uint8,uint8))" "$task_id" | python3 -c 'import sys; print(sys.stdin.read().strip("()\n").split(", ")[5])')"
[ "$status" = 3 ] || { echo "smoke: task status $status, expected 3 (Finalized)" >&2; exit 1; }
operator_credit="$(call "$tm" "balanceOf(address)(uint256)" "$op" | cut -d' ' -f1)"
# fee * 70 % operator share * 0.8 consensus quality
[ "$operator_credit" = 5600000000000000 ] || { echo "smoke: operator credited $operator_credit" >&2; exit 1; }
before="$("$cast" balance --rpc-url "$RPC_URL" "$op")"
send $op_index "$tm" "withdraw()"
after="$("$cast" balance --rpc-url "$RPC_URL" "$op")"
echo "finalized: operator credited $operator_credit wei, withdrew (balance $before -> $after)"
