# poq: two commands do everything. `make demo` runs the main job, `make test` runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

POQ_HOME ?= $(HOME)/.cache/poq
export POQ_HOME
FORGE := contracts/node_modules/.bin/forge
SLITHER := $(POQ_HOME)/venv/slither/bin/slither
SNAPSHOT_FILTER := --no-match-path 'test/invariant/*' --no-match-test 'testFuzz'

.PHONY: help setup demo test test-contracts test-rust slither gas fmt devnet-up devnet-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## install the pinned toolchain (idempotent)
	@scripts/setup.sh

demo: setup ## local devnet: anvil, deploy, dev nodes, one task driven with cast (no daemons yet)
	@scripts/demo.sh

test: setup test-contracts slither test-rust ## every check CI runs

test-contracts: ## forge fmt --check, build, test (unit, fuzz, invariant), devnet smoke test
	@# forge 1.7.1's fmt --check prints the diff but exits 0: fail on any output.
	@cd contracts && diff="$$(./node_modules/.bin/forge fmt --check 2>&1)" && { [ -z "$$diff" ] || { echo "$$diff"; echo 'forge fmt: run make fmt'; exit 1; }; }
	cd contracts && ./node_modules/.bin/forge build --sizes
	@# More fuzz runs than a local run; an environment override, not a profile, so nothing recompiles.
	cd contracts && FOUNDRY_FUZZ_RUNS=5000 ./node_modules/.bin/forge test
	@# Deterministic tests only (fuzz gas varies run to run); forge 1.7.1 exits 0 on a diff, so grep.
	@cd contracts && out="$$(./node_modules/.bin/forge snapshot --check $(SNAPSHOT_FILTER) 2>&1)"; echo "$$out"; ! grep -q '^Diff in' <<<"$$out"
	scripts/devnet-smoke.sh

slither: ## static analysis; findings not explained in contracts/slither.config.json fail
	cd contracts && PATH="$(CURDIR)/contracts/node_modules/.bin:$$PATH" $(SLITHER) . --config-file slither.config.json

test-rust: ## cargo fmt --check, clippy -D warnings, cargo test
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --workspace --locked

gas: setup ## refresh contracts/.gas-snapshot and snapshots/*.json, print the lifecycle gas tables
	cd contracts && ./node_modules/.bin/forge snapshot $(SNAPSHOT_FILTER)
	cd contracts && ./node_modules/.bin/forge test --isolate --match-path test/gas/LifecycleGas.t.sol -vv

fmt: ## format Solidity and Rust
	cd contracts && ./node_modules/.bin/forge fmt
	cargo fmt --all

devnet-up: setup ## start a local devnet and leave it running
	@anvil-scripts/devnet.sh up

devnet-down: ## stop the local devnet
	@anvil-scripts/devnet.sh stop
