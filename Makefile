# poq: two commands do everything. `make demo` runs the main job, `make test` runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

POQ_HOME ?= $(HOME)/.cache/poq
export POQ_HOME
FORGE := contracts/node_modules/.bin/forge
SLITHER := $(POQ_HOME)/venv/slither/bin/slither

.PHONY: help setup demo test test-contracts test-rust slither gas devnet-up devnet-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## install the pinned toolchain (idempotent)
	@scripts/setup.sh

demo: setup ## local devnet: anvil, deploy, dev nodes, one task driven with cast (no daemons yet)
	@scripts/demo.sh

test: setup test-contracts slither test-rust ## every check CI runs

test-contracts: ## forge fmt --check, build, test (unit, fuzz, invariant), devnet smoke test
	cd contracts && ./node_modules/.bin/forge fmt --check
	cd contracts && ./node_modules/.bin/forge build --sizes
	cd contracts && FOUNDRY_PROFILE=ci ./node_modules/.bin/forge test
	scripts/devnet-smoke.sh

slither: ## static analysis; findings not explained in contracts/slither.config.json fail
	cd contracts && PATH="$(CURDIR)/contracts/script/solc:$$PATH" $(SLITHER) . --config-file slither.config.json

test-rust: ## cargo fmt --check, clippy -D warnings, cargo test
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --workspace --locked

gas: setup ## refresh contracts/.gas-snapshot and print the lifecycle gas table
	cd contracts && ./node_modules/.bin/forge snapshot

devnet-up: setup ## start a local devnet and leave it running
	@anvil-scripts/devnet.sh up

devnet-down: ## stop the local devnet
	@anvil-scripts/devnet.sh stop
