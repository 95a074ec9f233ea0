// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @dev Hard bounds shared by the registry and the task manager. The owner sets parameters only within
/// them, so no parameter can strand funds or make a task outlive the stake that backs it.

/// @dev Basis points: 10_000 = 100 %. Scores, shares and tolerances are in bps.
uint256 constant BPS = 10_000;

/// @dev Operators per task. Validators pack one 16-bit score per operator into a 248-bit word.
uint256 constant MAX_OPERATORS = 15;
/// @dev Validators per task; bounds the O(K·M) work in `finalize`.
uint256 constant MAX_VALIDATORS = 32;

/// @dev Each of the four commit/reveal windows lies in [MIN_WINDOW, MAX_WINDOW] seconds.
uint256 constant MIN_WINDOW = 5 seconds;
uint256 constant MAX_WINDOW = 6 hours;

/// @dev Time after a task's last deadline for anyone to finalize it while its nodes' stake is still there.
uint256 constant SETTLEMENT_GRACE = 1 days;

/// @dev The longest a selected node's stake can be needed: four windows plus the settlement grace.
/// The unbonding delay never falls below it, so stake that backs an open task cannot leave before the
/// task can be settled.
uint256 constant MAX_TASK_LIFETIME = 4 * MAX_WINDOW + SETTLEMENT_GRACE;

/// @dev Hard caps on prompt and output sizes (bytes); the owner sets lower working limits.
uint256 constant HARD_MAX_PROMPT_BYTES = 64 * 1024;
uint256 constant HARD_MAX_OUTPUT_BYTES = 64 * 1024;

/// @dev The treasury's cut of a fee is at most 20 %.
uint256 constant MAX_TREASURY_BPS = 2000;

/// @dev A trimmed mean drops this share of the scores at each end.
uint256 constant TRIM_BPS = 2000;

/// @dev The EVM keeps the hashes of the last 256 blocks: the window to draw a committee.
uint256 constant SELECTION_WINDOW_BLOCKS = 256;
