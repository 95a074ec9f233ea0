// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {console} from "forge-std/console.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";

import {Defaults} from "../../script/Defaults.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {SELECTION_WINDOW_BLOCKS} from "../../src/libraries/Constants.sol";
import {PoqTest} from "../utils/PoqTest.sol";
import {PoqHandler} from "./PoqHandler.sol";

/// @notice Invariants of the registry and the task manager under random interleavings driven by `PoqHandler`.
/// @dev Concrete suites below pick the parameters. Each run ends in `afterInvariant`, which settles every task,
/// pays every account and unstakes every node, then checks that both contracts are empty.
abstract contract PoqInvariants is PoqTest {
    PoqHandler internal handler;

    function _params() internal pure virtual returns (ITaskManager.Params memory);

    /// @dev Names the suite's cross-run statistics (environment variables).
    function _label() internal pure virtual returns (string memory);

    function setUp() public override {
        ITaskManager.Params memory p = _params();
        _deployContracts(p);

        handler = new PoqHandler(registry, manager, MODEL, EVALUATOR, treasury);
        // A committee and one spare of each role from the start, at twice the minimum stake; the last operator
        // and validators join during the run (and any node can leave).
        for (uint256 i; i < uint256(p.numOperators) + 1; ++i) {
            handler.register(i, 2 * Defaults.OPERATOR_MIN_STAKE);
        }
        for (uint256 i; i < uint256(p.numValidators) + 1; ++i) {
            handler.register(handler.NUM_OPERATORS() + i, 2 * Defaults.VALIDATOR_MIN_STAKE);
        }

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](15);
        selectors[0] = PoqHandler.register.selector;
        selectors[1] = PoqHandler.addStake.selector;
        selectors[2] = PoqHandler.requestUnstake.selector;
        selectors[3] = PoqHandler.withdrawStake.selector;
        selectors[4] = PoqHandler.submitTask.selector;
        selectors[5] = PoqHandler.selectCommittee.selector;
        selectors[6] = PoqHandler.commitOutput.selector;
        selectors[7] = PoqHandler.revealOutput.selector;
        selectors[8] = PoqHandler.commitScores.selector;
        selectors[9] = PoqHandler.revealScores.selector;
        selectors[10] = PoqHandler.finalize.selector;
        selectors[11] = PoqHandler.refund.selector;
        selectors[12] = PoqHandler.withdraw.selector;
        selectors[13] = PoqHandler.warp.selector;
        selectors[14] = PoqHandler.advance.selector;
        targetSelector(StdInvariant.FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ───────────────────────────── Invariants ─────────────────────────────

    /// @notice 1. The manager holds exactly the fees of open tasks plus every credited balance.
    function invariant_managerHoldsOpenFeesPlusBalances() public view {
        // Settled tasks were checked terminal when they settled, and a terminal status is final.
        uint256[] memory ids = handler.openTasks();
        uint256 openFees;
        for (uint256 i; i < ids.length; ++i) {
            ITaskManager.Task memory t = manager.getTask(ids[i]);
            if (t.status == ITaskManager.Status.Submitted || t.status == ITaskManager.Status.Active) openFees += t.fee;
        }
        _eq(openFees, handler.ghostOpenFees(), "open fees: contract vs ghost");
        address[] memory accounts = handler.allAccounts();
        uint256 balances;
        for (uint256 i; i < accounts.length; ++i) {
            balances += manager.balanceOf(accounts[i]);
        }
        _eq(address(manager).balance, openFees + balances, "manager balance != open fees + balances");
    }

    /// @notice 2. The registry holds exactly every node's stake plus unbonding.
    function invariant_registryHoldsStakePlusUnbonding() public view {
        address[] memory nodes = handler.allNodes();
        uint256 total;
        for (uint256 i; i < nodes.length; ++i) {
            INodeRegistry.Node memory info = registry.nodeInfo(nodes[i]);
            total += uint256(info.stake) + info.unbonding;
        }
        _eq(address(registry).balance, total, "registry balance != stake + unbonding");
    }

    /// @notice 3. Every task past its deadlines (or its selection window) settles: `finalize` / `refund` succeed
    /// and leave it `Finalized` or `Refunded`. Tried on a snapshot, then rolled back.
    function invariant_expiredTasksCanSettle() public {
        uint256[] memory open = handler.openTasks();
        uint256 snapshot = vm.snapshotState();
        for (uint256 i; i < open.length; ++i) {
            uint256 taskId = open[i];
            ITaskManager.Task memory t = manager.getTask(taskId);
            if (t.status == ITaskManager.Status.Submitted) {
                if (vm.getBlockNumber() <= t.submitBlock + SELECTION_WINDOW_BLOCKS) continue;
                manager.refund(taskId);
                _eq(uint256(manager.getTask(taskId).status), uint256(ITaskManager.Status.Refunded), "refund");
            } else {
                if (vm.getBlockTimestamp() < manager.deadlines(taskId)[3]) continue;
                (address[] memory ops, address[] memory vals) = handler.committeeOf(taskId);
                manager.finalize(taskId, ops, vals);
                ITaskManager.Status s = manager.getTask(taskId).status;
                if (s != ITaskManager.Status.Finalized) {
                    _eq(uint256(s), uint256(ITaskManager.Status.Refunded), "finalize");
                }
            }
        }
        vm.revertToState(snapshot);
    }

    /// @notice 4. Nobody takes out more than was put in for it: manager withdrawals never exceed credits (and the
    /// balance is exactly their difference); stake withdrawals never exceed deposits (and the remaining stake
    /// is exactly deposits − withdrawals − slashes).
    function invariant_noWithdrawalExceedsCredit() public view {
        (address[] memory accounts, uint256[] memory credited, uint256[] memory withdrawn) = handler.accountLedger();
        for (uint256 i; i < accounts.length; ++i) {
            _le(withdrawn[i], credited[i], "withdrawn > credited");
            _eq(manager.balanceOf(accounts[i]), credited[i] - withdrawn[i], "balance != credited - withdrawn");
        }
        uint256[] memory deposited;
        uint256[] memory slashed;
        address[] memory nodes;
        (nodes, deposited, withdrawn, slashed) = handler.nodeLedger();
        for (uint256 i; i < nodes.length; ++i) {
            _le(withdrawn[i] + slashed[i], deposited[i], "stake withdrawn + slashed > deposited");
            INodeRegistry.Node memory info = registry.nodeInfo(nodes[i]);
            _eq(uint256(info.stake) + info.unbonding, deposited[i] - withdrawn[i] - slashed[i], "stake bookkeeping");
        }
    }

    /// @notice 5. A settled task credits exactly its fee plus what it slashed, and every wei slashed in the
    /// registry reaches the manager.
    function invariant_settledTasksCreditFeePlusSlashes() public view {
        (
            uint256[] memory ids,
            uint256[] memory fees,
            uint256[] memory credited,
            uint256[] memory slashed,
            bool[] memory settled
        ) = handler.taskLedger();
        for (uint256 i; i < ids.length; ++i) {
            if (settled[i]) _eq(credited[i], fees[i] + slashed[i], "task credits != fee + slashed");
            else _eq(credited[i], 0, "open task credited");
        }
        _eq(handler.ghostManagerSlashed(), handler.ghostRegistrySlashed(), "slashed stake lost in transit");
    }

    /// @notice 6. Every call the handler could predict behaved as predicted, and every payout matched the
    /// handler's reference model of consensus, payout mode, tolerance and slashing.
    function invariant_handlerSawNoSurprises() public view {
        _noSurprises();
    }

    /// @notice End of each run: settle everything, pay everyone, unstake everyone; both contracts end empty.
    function afterInvariant() external {
        PoqHandler.Counters memory c = handler.getCounters();
        handler.settleEverything();
        _noSurprises();
        assertEq(handler.openTasks().length, 0, "open tasks left");
        assertEq(address(manager).balance, 0, "manager not empty after settling and withdrawing");
        assertEq(address(registry).balance, 0, "registry not empty after unstaking");
        (address[] memory nodes, uint256[] memory deposited, uint256[] memory withdrawn, uint256[] memory slashed) =
            handler.nodeLedger();
        for (uint256 i; i < nodes.length; ++i) {
            assertEq(deposited[i], withdrawn[i] + slashed[i], "node stake not fully accounted");
        }
        _accumulate(c);
    }

    /// @notice The handler alone can drive a task from submission to a paid finalization (so the campaigns
    /// reach it), with no surprise on the way.
    function test_handlerDrivesFullLifecycle() public {
        handler.submitTask(0, 1 ether, 1);
        handler.selectCommittee(0);
        uint256 all = 1; // `_oneIn(1, 4)` is false: every member of the committee acts
        assertFalse(_oneIn(all, 4));
        uint256 salt = _rightSalts(); // no member reveals with a wrong salt
        handler.commitOutput(0, all, 0);
        handler.revealOutput(0, all, salt);
        handler.commitScores(0, all, 8000);
        handler.revealScores(0, all, salt);
        // A finalize seed that neither warps nor passes a wrong committee (see `PoqHandler._oneIn`).
        uint256 mode;
        while (_oneIn(mode, 8) || _oneIn(mode, 7)) {
            ++mode;
        }
        handler.finalize(0, mode);
        PoqHandler.Counters memory c = handler.getCounters();
        _noSurprises();
        assertEq(c.finalizedPaid, 1, "not paid");
        assertEq(uint256(manager.getTask(1).status), uint256(ITaskManager.Status.Finalized));
    }

    // ───────────────────────────── Helpers ─────────────────────────────

    /// @dev Assert only on failure: a passing forge-std assert is still a cheatcode call, and these checks run
    /// after each of a campaign's 16k calls.
    function _eq(uint256 a, uint256 b, string memory why) internal pure {
        if (a != b) assertEq(a, b, why);
    }

    function _le(uint256 a, uint256 b, string memory why) internal pure {
        if (a > b) assertLe(a, b, why);
    }

    function _oneIn(uint256 seed, uint256 n) internal pure returns (bool) {
        return uint256(keccak256(abi.encode(seed, n))) % n == 0;
    }

    /// @dev A salt seed for which the handler's reveals use the right salt for every member.
    function _rightSalts() internal pure returns (uint256 seed) {
        for (;; ++seed) {
            bool ok = true;
            for (uint256 i; i < 8; ++i) {
                if (_oneIn(uint256(keccak256(abi.encode(seed, i))), 6)) ok = false;
            }
            if (ok) return seed;
        }
    }

    function _noSurprises() internal view {
        uint256 n = handler.surprises();
        if (n != 0) assertEq(n, 0, string.concat(handler.firstSurprise(), " / last: ", handler.lastSurprise()));
    }

    // ───────────────────────────── Run statistics ─────────────────────────────

    /// @dev Forge resets the EVM between runs, so totals across runs live in environment variables (shared by
    /// the suite's invariant campaigns). After 32 runs the random sequences must have paid out a task, refunded
    /// one and rejected a wrong salt. The summary printed last (`-vv`) holds the totals of every run.
    function _accumulate(PoqHandler.Counters memory c) internal {
        uint256 runs = _add("runs", 1);
        uint256 paid = _add("finalizedPaid", c.finalizedPaid);
        uint256 refundedByFinalize = _add("finalizedRefunded", c.finalizedRefunded);
        uint256 early = _add("earlyFinalizes", c.earlyFinalizes);
        uint256 refunds = _add("refunds", c.refunds);
        uint256 wrongSalt = _add("wrongSaltRejected", c.wrongSaltRejected);
        uint256 submits = _add("submits", c.submits);
        uint256 selections = _add("selections", c.selections);
        uint256 outputCommits = _add("outputCommits", c.outputCommits);
        uint256 outputReveals = _add("outputReveals", c.outputReveals);
        uint256 scoreCommits = _add("scoreCommits", c.scoreCommits);
        uint256 scoreReveals = _add("scoreReveals", c.scoreReveals);
        uint256 slashes = _add("slashes", c.slashes);
        uint256 withdrawals = _add("withdrawals", c.withdrawals);
        uint256 stakeWithdrawals = _add("stakeWithdrawals", c.stakeWithdrawals);
        uint256 wrongCommittee = _add("wrongCommitteeRejected", c.wrongCommitteeRejected);
        console.log("poq invariant summary:", _label(), "runs", runs);
        console.log("  submits", submits, "selections", selections);
        console.log("  outputCommits", outputCommits, "outputReveals", outputReveals);
        console.log("  scoreCommits", scoreCommits, "scoreReveals", scoreReveals);
        console.log("  finalizedPaid", paid, "finalizedRefunded", refundedByFinalize);
        console.log("  earlyFinalizes", early, "refunds", refunds);
        console.log("  slashes", slashes, "wrongSaltRejected", wrongSalt);
        console.log("  wrongCommitteeRejected", wrongCommittee, "withdrawals", withdrawals);
        console.log("  stakeWithdrawals", stakeWithdrawals);
        if (runs == 32) {
            assertGt(paid, 0, "no task was finalized with a payout in 32 runs");
            assertGt(refundedByFinalize + refunds, 0, "no task was refunded in 32 runs");
            assertGt(wrongSalt, 0, "no wrong salt was tried in 32 runs");
        }
    }

    function _add(string memory field, uint256 amount) internal returns (uint256 total) {
        string memory name = string.concat("POQ_INV_", _label(), "_", field);
        total = vm.envOr(name, uint256(0)) + amount;
        vm.setEnv(name, vm.toString(total));
    }
}

/// @notice K = 1, M = 3, quorum 2, median, proportional: the deployment defaults.
contract PoqInvariantsDefaults is PoqInvariants {
    function _params() internal pure override returns (ITaskManager.Params memory) {
        return Defaults.params();
    }

    function _label() internal pure override returns (string memory) {
        return "DEFAULTS";
    }
}

/// @notice K = 2, M = 3, quorum 2, trimmed mean, winner takes all, the shortest windows.
contract PoqInvariantsWinnerTakesAll is PoqInvariants {
    function _params() internal pure override returns (ITaskManager.Params memory p) {
        p = Defaults.params();
        p.numOperators = 2;
        p.numValidators = 3;
        p.quorum = 2;
        p.aggregation = ITaskManager.Aggregation.TrimmedMean;
        p.payoutMode = ITaskManager.PayoutMode.WinnerTakesAll;
        p.outputCommitWindow = 60;
        p.outputRevealWindow = 30;
        p.scoreCommitWindow = 60;
        p.scoreRevealWindow = 30;
    }

    function _label() internal pure override returns (string memory) {
        return "WTA";
    }
}
