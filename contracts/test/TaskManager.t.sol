// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Vm} from "forge-std/Vm.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Errors} from "@openzeppelin/contracts/utils/Errors.sol";

import {Defaults} from "../script/Defaults.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../src/interfaces/ITaskManager.sol";
import {PoqTest} from "./utils/PoqTest.sol";

/// @notice Helpers shared by the per-function TaskManager test contracts.
abstract contract TaskManagerTestBase is PoqTest {
    uint256 internal constant FEE = 1 ether;
    uint256 internal constant BPS_ = 10_000;
    uint256 internal constant OP_SLASH = 0.05 ether;
    uint256 internal constant VAL_SLASH = 0.02 ether;

    // Entry tags: role << 4 | state (Operator = 1, Validator = 2; Selected = 1, Committed = 2, Revealed = 3).
    uint256 internal constant OP_SELECTED = 0x11;
    uint256 internal constant OP_COMMITTED = 0x12;
    uint256 internal constant OP_REVEALED = 0x13;
    uint256 internal constant VAL_SELECTED = 0x21;
    uint256 internal constant VAL_COMMITTED = 0x22;
    uint256 internal constant VAL_REVEALED = 0x23;
    uint256 internal constant LOW_BYTE = 0xff;

    address internal stranger = makeAddr("stranger");
    /// @dev Accounts beyond the shared actors that may hold credits (for the escrow check).
    address[] internal extraActors;

    // ───────────────────────────── Accounting ─────────────────────────────

    function _creditedSum() internal view returns (uint256 sum) {
        sum = manager.balanceOf(requester) + manager.balanceOf(treasury) + manager.balanceOf(owner)
            + manager.balanceOf(stranger);
        for (uint256 i; i < operators.length; ++i) {
            sum += manager.balanceOf(operators[i]);
        }
        for (uint256 i; i < validators.length; ++i) {
            sum += manager.balanceOf(validators[i]);
        }
        for (uint256 i; i < extraActors.length; ++i) {
            sum += manager.balanceOf(extraActors[i]);
        }
    }

    function _openFees() internal view returns (uint256 sum) {
        uint256 next = manager.nextTaskId();
        for (uint256 id = 1; id < next; ++id) {
            ITaskManager.Task memory t = manager.getTask(id);
            if (t.status == ITaskManager.Status.Submitted || t.status == ITaskManager.Status.Active) sum += t.fee;
        }
    }

    /// @dev The manager holds exactly the credits of all actors plus the fees of open tasks.
    function _assertSolvent() internal view {
        assertEq(address(manager).balance, _creditedSum() + _openFees(), "manager balance != credits + open fees");
    }

    function _stake(address node) internal view returns (uint256) {
        return registry.nodeInfo(node).stake;
    }

    function _status(uint256 taskId) internal view returns (ITaskManager.Status) {
        return manager.getTask(taskId).status;
    }

    // ───────────────────────────── Arrays ─────────────────────────────────

    function _sorted(address[] memory a) internal pure returns (address[] memory s) {
        s = new address[](a.length);
        for (uint256 i; i < a.length; ++i) {
            s[i] = a[i];
        }
        for (uint256 i = 1; i < s.length; ++i) {
            address v = s[i];
            uint256 j = i;
            while (j > 0 && s[j - 1] > v) {
                s[j] = s[j - 1];
                --j;
            }
            s[j] = v;
        }
    }

    function _addrs(address a) internal pure returns (address[] memory r) {
        r = new address[](1);
        r[0] = a;
    }

    function _addrs(address a, address b, address c) internal pure returns (address[] memory r) {
        r = new address[](3);
        r[0] = a;
        r[1] = b;
        r[2] = c;
    }

    function _s3(uint16 a, uint16 b, uint16 c) internal pure returns (uint16[] memory r) {
        r = new uint16[](3);
        r[0] = a;
        r[1] = b;
        r[2] = c;
    }

    function _fill(uint256 k, uint16 s) internal pure returns (uint16[] memory r) {
        r = new uint16[](k);
        for (uint256 i; i < k; ++i) {
            r[i] = s;
        }
    }

    /// @dev Per-validator score vectors for a K=1 task.
    function _k1(uint16 a, uint16 b, uint16 c) internal pure returns (uint16[][] memory r) {
        r = new uint16[][](3);
        r[0] = _scores1(a);
        r[1] = _scores1(b);
        r[2] = _scores1(c);
    }

    function _u16(uint256[] memory a) internal pure returns (uint16[] memory r) {
        r = new uint16[](a.length);
        for (uint256 i; i < a.length; ++i) {
            r[i] = uint16(a[i]);
        }
    }

    // ───────────────────────────── Lifecycle ──────────────────────────────

    function _commitOut(uint256 taskId, address op, bytes memory output) internal {
        vm.prank(op);
        manager.commitOutput(taskId, _outputCommitment(taskId, op, output, _salt(op)));
    }

    /// @dev `PoqTest._select` with the block read through the cheatcode: under via-ir `block.number` may be
    /// read once per test and not see an earlier `vm.roll`.
    function _selectNext(uint256 taskId) internal returns (address[] memory ops, address[] memory vals) {
        vm.roll(vm.getBlockNumber() + 1);
        vm.recordLogs();
        manager.selectCommittee(taskId);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (ops, vals,) = abi.decode(logs[0].data, (address[], address[], uint256[4]));
    }

    function _submitSelect(uint256 fee) internal returns (uint256 taskId, address[] memory ops, address[] memory vals) {
        taskId = _submit(fee);
        (ops, vals) = _selectNext(taskId);
    }

    /// @dev Every operator commits `OUTPUT`, then every operator reveals it.
    function _allOutputs(uint256 taskId, address[] memory ops) internal {
        for (uint256 i; i < ops.length; ++i) {
            _commitOut(taskId, ops[i], OUTPUT);
        }
        for (uint256 i; i < ops.length; ++i) {
            _revealOutput(taskId, ops[i], OUTPUT);
        }
    }

    /// @dev Every validator commits `s[i]`, then every validator reveals it.
    function _allScores(uint256 taskId, address[] memory vals, uint16[][] memory s) internal {
        for (uint256 i; i < vals.length; ++i) {
            _commitScores(taskId, vals[i], s[i]);
        }
        for (uint256 i; i < vals.length; ++i) {
            _revealScores(taskId, vals[i], s[i]);
        }
    }

    /// @dev A whole K=1 task with all three validators revealing; returns the committee.
    function _runK1(uint256 fee, uint16 a, uint16 b, uint16 c)
        internal
        returns (uint256 taskId, address[] memory ops, address[] memory vals)
    {
        (taskId, ops, vals) = _submitSelect(fee);
        _allOutputs(taskId, ops);
        _allScores(taskId, vals, _k1(a, b, c));
        manager.finalize(taskId, ops, vals);
    }

    function _params() internal pure returns (ITaskManager.Params memory) {
        return Defaults.params();
    }

    /// @dev The consensus vector of the `TaskFinalized` event among `logs`.
    function _finalizedConsensus(Vm.Log[] memory logs) internal view returns (uint16[] memory consensus, uint256 rest) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(manager) && logs[i].topics[0] == ITaskManager.TaskFinalized.selector) {
                return abi.decode(logs[i].data, (uint16[], uint256));
            }
        }
        revert("no TaskFinalized");
    }

    // ───────────────────────────── References ─────────────────────────────

    function _sortU(uint256[] memory a) internal pure {
        for (uint256 i = 1; i < a.length; ++i) {
            uint256 v = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = v;
        }
    }

    function _refMedian(uint256[] memory a) internal pure returns (uint256) {
        _sortU(a);
        uint256 n = a.length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    function _refTrimmedMean(uint256[] memory a) internal pure returns (uint256) {
        _sortU(a);
        uint256 n = a.length;
        uint256 trim = n / 5; // 20 % at each end
        uint256 sum;
        for (uint256 i = trim; i < n - trim; ++i) {
            sum += a[i];
        }
        return sum / (n - 2 * trim);
    }
}

// ═══════════════════════════════════ submitTask ═══════════════════════════════════

contract TaskManagerSubmitTest is TaskManagerTestBase {
    function test_submit_storesTaskAndEmits() public {
        vm.deal(requester, FEE);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskSubmitted(1, requester, MODEL, EVALUATOR, FEE, _sampling(), PROMPT);
        vm.prank(requester);
        uint256 taskId = manager.submitTask{value: FEE}(MODEL, EVALUATOR, PROMPT, _sampling());

        assertEq(taskId, 1);
        assertEq(manager.nextTaskId(), 2);
        ITaskManager.Task memory t = manager.getTask(taskId);
        assertEq(t.requester, requester);
        assertEq(t.fee, FEE);
        assertEq(t.promptHash, keccak256(PROMPT));
        assertEq(t.modelId, MODEL);
        assertEq(t.evaluatorId, EVALUATOR);
        assertEq(uint256(t.status), uint256(ITaskManager.Status.Submitted));
        assertEq(t.paramsVersion, 1);
        assertEq(t.submitBlock, vm.getBlockNumber());
        assertEq(t.selectedAt, 0);
        assertEq(t.outputsCommitted + t.outputsRevealed + t.scoresCommitted + t.scoresRevealed, 0);
        assertEq(address(manager).balance, FEE);
        assertEq(requester.balance, 0);
        _assertSolvent();
    }

    function test_submit_idsIncrement() public {
        assertEq(_submit(FEE), 1);
        assertEq(_submit(FEE), 2);
        assertEq(_submit(FEE), 3);
        assertEq(manager.nextTaskId(), 4);
        assertEq(address(manager).balance, 3 * FEE);
        _assertSolvent();
    }

    function test_submit_acceptsExactMinimumFeeAndMaxPrompt() public {
        bytes memory prompt = new bytes(_params().maxPromptBytes);
        vm.deal(requester, Defaults.MODEL_MIN_FEE);
        vm.prank(requester);
        uint256 taskId = manager.submitTask{value: Defaults.MODEL_MIN_FEE}(MODEL, EVALUATOR, prompt, _sampling());
        assertEq(manager.getTask(taskId).fee, Defaults.MODEL_MIN_FEE);
        assertEq(manager.getTask(taskId).promptHash, keccak256(prompt));
    }

    function test_submit_acceptsMaxUint96Fee() public {
        uint256 fee = type(uint96).max;
        uint256 taskId = _submit(fee);
        assertEq(manager.getTask(taskId).fee, fee);
        _assertSolvent();
    }

    function test_submit_revertsOnEmptyPrompt() public {
        vm.deal(requester, FEE);
        vm.expectRevert(ITaskManager.EmptyPrompt.selector);
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, EVALUATOR, "", _sampling());
    }

    function test_submit_revertsOnPromptTooLarge() public {
        uint256 max = _params().maxPromptBytes;
        bytes memory prompt = new bytes(max + 1);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PromptTooLarge.selector, max + 1, max));
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, EVALUATOR, prompt, _sampling());
    }

    function test_submit_revertsOnUnknownModel() public {
        bytes32 unknown = keccak256("no-such-model");
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownModel.selector, unknown));
        vm.prank(requester);
        manager.submitTask{value: FEE}(unknown, EVALUATOR, PROMPT, _sampling());
    }

    function test_submit_revertsOnRemovedModel() public {
        vm.prank(owner);
        manager.setModelMinFee(MODEL, 0);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownModel.selector, MODEL));
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, EVALUATOR, PROMPT, _sampling());
    }

    function test_submit_revertsOnFeeBelowMinimum() public {
        uint256 min = Defaults.MODEL_MIN_FEE;
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeBelowMinimum.selector, min - 1, min));
        vm.prank(requester);
        manager.submitTask{value: min - 1}(MODEL, EVALUATOR, PROMPT, _sampling());

        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeBelowMinimum.selector, 0, min));
        vm.prank(requester);
        manager.submitTask(MODEL, EVALUATOR, PROMPT, _sampling());
    }

    function test_submit_revertsOnFeeTooLarge() public {
        uint256 fee = uint256(type(uint96).max) + 1;
        vm.deal(requester, fee);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeTooLarge.selector, fee));
        vm.prank(requester);
        manager.submitTask{value: fee}(MODEL, EVALUATOR, PROMPT, _sampling());
    }

    function test_submit_revertsWhenTooFewOperators() public {
        bytes32 lonely = keccak256("model-nobody-serves");
        vm.prank(owner);
        manager.setModelMinFee(lonely, 1);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotEnoughNodes.selector, lonely, 0, 1));
        vm.prank(requester);
        manager.submitTask{value: FEE}(lonely, EVALUATOR, PROMPT, _sampling());
    }

    function test_submit_revertsWhenTooFewValidators() public {
        bytes32 evaluator = keccak256("evaluator-with-two-nodes");
        _register("evalA", INodeRegistry.Role.Validator, evaluator);
        _register("evalB", INodeRegistry.Role.Validator, evaluator);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotEnoughNodes.selector, evaluator, 2, 3));
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, evaluator, PROMPT, _sampling());
    }

    function test_submit_revertsWhenEvaluatorIdIsBoundToOperators() public {
        // Three operators serve MODEL: enough for a validator committee, were pools not role-checked.
        _register("extraOp1", INodeRegistry.Role.Operator, MODEL);
        _register("extraOp2", INodeRegistry.Role.Operator, MODEL);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotEnoughNodes.selector, MODEL, 0, 3));
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, MODEL, PROMPT, _sampling());
    }

    function test_submit_revertsWhenModelIdIsBoundToValidators() public {
        vm.prank(owner);
        manager.setModelMinFee(EVALUATOR, 1);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotEnoughNodes.selector, EVALUATOR, 0, 1));
        vm.prank(requester);
        manager.submitTask{value: FEE}(EVALUATOR, EVALUATOR, PROMPT, _sampling());
    }

    function test_submit_checksPromptBeforeModelAndFee() public {
        bytes32 unknown = keccak256("no-such-model");
        vm.expectRevert(ITaskManager.EmptyPrompt.selector);
        vm.prank(requester);
        manager.submitTask(unknown, EVALUATOR, "", _sampling());
    }

    function test_submit_revertsWhenPaused_otherActionsGoOn() public {
        // One task mid-flight and one that will need a refund, both opened before the pause.
        (uint256 live, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256 stale = _submit(FEE);
        vm.prank(owner);
        manager.pause();

        vm.deal(requester, FEE);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, EVALUATOR, PROMPT, _sampling());

        // The open task runs to the end and pays out while paused.
        _allOutputs(live, ops);
        _allScores(live, vals, _k1(8000, 8000, 8000));
        manager.finalize(live, ops, vals);
        assertEq(uint256(_status(live)), uint256(ITaskManager.Status.Finalized));

        // A stale task is refunded while paused.
        vm.roll(manager.getTask(stale).submitBlock + 257);
        manager.refund(stale);
        assertEq(uint256(_status(stale)), uint256(ITaskManager.Status.Refunded));

        // Withdrawals work while paused.
        uint256 credited = manager.balanceOf(ops[0]);
        assertEq(credited, 0.56 ether);
        uint256 before = ops[0].balance;
        vm.prank(ops[0]);
        manager.withdraw();
        assertEq(ops[0].balance, before + credited);
        vm.prank(requester);
        manager.withdraw();
        _assertSolvent();

        // Unpausing restores submission.
        vm.prank(owner);
        manager.unpause();
        _submit(FEE);
        _assertSolvent();
    }

    function testFuzz_submit_fee(uint256 fee) public {
        fee = bound(fee, 0, uint256(type(uint96).max) * 2);
        vm.deal(requester, fee);
        if (fee < Defaults.MODEL_MIN_FEE) {
            vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeBelowMinimum.selector, fee, Defaults.MODEL_MIN_FEE));
        } else if (fee > type(uint96).max) {
            vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeTooLarge.selector, fee));
        }
        vm.prank(requester);
        uint256 taskId = manager.submitTask{value: fee}(MODEL, EVALUATOR, PROMPT, _sampling());
        if (fee >= Defaults.MODEL_MIN_FEE && fee <= type(uint96).max) {
            assertEq(manager.getTask(taskId).fee, fee);
            assertEq(address(manager).balance, fee);
        } else {
            assertEq(address(manager).balance, 0);
            assertEq(manager.nextTaskId(), 1);
        }
        _assertSolvent();
    }
}

// ═══════════════════════════════════ selectCommittee ═══════════════════════════════════

contract TaskManagerSelectTest is TaskManagerTestBase {
    function test_select_drawsCommitteeAndEmits() public {
        uint256 taskId = _submit(FEE);
        vm.roll(vm.getBlockNumber() + 1);
        uint256 t0 = vm.getBlockTimestamp();
        uint256[4] memory d = [t0 + 180, t0 + 240, t0 + 360, t0 + 420];
        vm.expectEmit(address(manager));
        emit ITaskManager.CommitteeSelected(taskId, operators, _sorted(validators), d);
        vm.prank(stranger); // anyone may draw
        manager.selectCommittee(taskId);

        ITaskManager.Task memory t = manager.getTask(taskId);
        assertEq(uint256(t.status), uint256(ITaskManager.Status.Active));
        assertEq(t.selectedAt, t0);
        uint256[4] memory got = manager.deadlines(taskId);
        for (uint256 i; i < 4; ++i) {
            assertEq(got[i], d[i]);
        }
        (ITaskManager.EntryState state, uint256 word) = manager.entryOf(taskId, operators[0]);
        assertEq(uint256(state), uint256(ITaskManager.EntryState.Selected));
        assertEq(word, OP_SELECTED);
        for (uint256 i; i < validators.length; ++i) {
            (state, word) = manager.entryOf(taskId, validators[i]);
            assertEq(uint256(state), uint256(ITaskManager.EntryState.Selected));
            assertEq(word, VAL_SELECTED);
        }
        (state, word) = manager.entryOf(taskId, stranger);
        assertEq(uint256(state), uint256(ITaskManager.EntryState.None));
        assertEq(word, 0);
        _assertSolvent();
    }

    function test_select_committeeFollowsSeed() public {
        // A larger pool: the draw must match the registry's draw for the documented seed.
        for (uint256 i; i < 4; ++i) {
            _register(string.concat("extraValidator", vm.toString(i)), INodeRegistry.Role.Validator, EVALUATOR);
        }
        uint256 taskId = _submit(FEE);
        uint256 submitBlock = vm.getBlockNumber();
        vm.setBlockhash(submitBlock, keccak256("some block hash"));
        vm.roll(submitBlock + 7);
        bytes32 seed = keccak256(abi.encode(blockhash(submitBlock), taskId));
        address[] memory expectedVals = registry.select(EVALUATOR, 3, keccak256(abi.encode(seed, 1)));
        (address[] memory ops, address[] memory vals) = _selectNext(taskId);
        assertEq(ops, registry.select(MODEL, 1, keccak256(abi.encode(seed, 0))));
        assertEq(vals, expectedVals);
        for (uint256 i = 1; i < vals.length; ++i) {
            assertLt(uint160(vals[i - 1]), uint160(vals[i]), "committee ascending");
        }
    }

    function test_select_committeeAscendingWithThreeOperators() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 3;
        _deploy(p);
        (, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        assertEq(ops, _sorted(operators));
        assertEq(vals, _sorted(validators));
    }

    function test_select_revertsOnUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 0));
        manager.selectCommittee(0);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 99));
        manager.selectCommittee(99);
    }

    function test_select_revertsWhenActive() public {
        (uint256 taskId,,) = _submitSelect(FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Active));
        manager.selectCommittee(taskId);
    }

    function test_select_revertsWhenFinalizedOrRefunded() public {
        (uint256 done,,) = _runK1(FEE, 8000, 8000, 8000);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, done, ITaskManager.Status.Finalized)
        );
        manager.selectCommittee(done);

        uint256 stale = _submit(FEE);
        vm.roll(vm.getBlockNumber() + 257);
        manager.refund(stale);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, stale, ITaskManager.Status.Refunded)
        );
        manager.selectCommittee(stale);
    }

    function test_select_revertsInSubmissionBlock() public {
        uint256 taskId = _submit(FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.SeedNotYetAvailable.selector, taskId, vm.getBlockNumber()));
        manager.selectCommittee(taskId);
    }

    function test_select_worksOnLastBlockOfWindow() public {
        uint256 taskId = _submit(FEE);
        vm.roll(vm.getBlockNumber() + 256);
        manager.selectCommittee(taskId);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Active));
    }

    function test_select_revertsAfterWindow() public {
        uint256 taskId = _submit(FEE);
        vm.roll(vm.getBlockNumber() + 257);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.SelectionWindowClosed.selector, taskId));
        manager.selectCommittee(taskId);
    }

    function test_select_revertsWhenPoolShrank_thenRefundable() public {
        uint256 taskId = _submit(FEE);
        // A validator leaves the pool between submission and selection.
        vm.prank(validators[0]);
        registry.requestUnstake(Defaults.VALIDATOR_MIN_STAKE);
        vm.roll(vm.getBlockNumber() + 1);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotEnoughNodes.selector, EVALUATOR, 2, 3));
        manager.selectCommittee(taskId);
        // The fee is not stuck: once the window closes, the requester is refunded.
        vm.roll(vm.getBlockNumber() + 256);
        manager.refund(taskId);
        assertEq(manager.balanceOf(requester), FEE);
        _assertSolvent();
    }

    function test_deadlines_revertsUnlessActive() public {
        uint256 taskId = _submit(FEE);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Submitted)
        );
        manager.deadlines(taskId);
    }

    function testFuzz_select_blockWindow(uint256 blocks) public {
        blocks = bound(blocks, 0, 600);
        uint256 taskId = _submit(FEE);
        uint256 submitBlock = vm.getBlockNumber();
        vm.roll(submitBlock + blocks);
        if (blocks == 0) {
            vm.expectRevert(abi.encodeWithSelector(ITaskManager.SeedNotYetAvailable.selector, taskId, submitBlock));
        } else if (blocks > 256) {
            vm.expectRevert(abi.encodeWithSelector(ITaskManager.SelectionWindowClosed.selector, taskId));
        }
        manager.selectCommittee(taskId);
        ITaskManager.Status expected =
            blocks >= 1 && blocks <= 256 ? ITaskManager.Status.Active : ITaskManager.Status.Submitted;
        assertEq(uint256(_status(taskId)), uint256(expected));

        // refund is the exact complement of selection once the seed exists.
        if (expected == ITaskManager.Status.Submitted && blocks > 256) {
            manager.refund(taskId);
            assertEq(manager.balanceOf(requester), FEE);
        } else if (expected == ITaskManager.Status.Submitted) {
            vm.expectRevert(abi.encodeWithSelector(ITaskManager.SelectionWindowOpen.selector, taskId));
            manager.refund(taskId);
        }
        _assertSolvent();
    }
}

// ═══════════════════════════════════ refund ═══════════════════════════════════

contract TaskManagerRefundTest is TaskManagerTestBase {
    function test_refund_creditsRequesterAfterWindow() public {
        uint256 taskId = _submit(FEE);
        vm.roll(vm.getBlockNumber() + 257);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskRefunded(taskId, FEE);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, FEE);
        vm.prank(stranger); // anyone may trigger it
        manager.refund(taskId);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
        assertEq(manager.balanceOf(requester), FEE);
        assertEq(manager.balanceOf(stranger), 0);
        _assertSolvent();
    }

    function test_refund_revertsWhileSelectable() public {
        uint256 taskId = _submit(FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.SelectionWindowOpen.selector, taskId));
        manager.refund(taskId);
        vm.roll(vm.getBlockNumber() + 256);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.SelectionWindowOpen.selector, taskId));
        manager.refund(taskId);
    }

    function test_refund_revertsOnUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 5));
        manager.refund(5);
    }

    function test_refund_revertsWhenActive() public {
        (uint256 taskId,,) = _submitSelect(FEE);
        vm.roll(vm.getBlockNumber() + 1000);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Active));
        manager.refund(taskId);
    }

    function test_refund_revertsTwice() public {
        uint256 taskId = _submit(FEE);
        vm.roll(vm.getBlockNumber() + 257);
        manager.refund(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Refunded)
        );
        manager.refund(taskId);
        assertEq(manager.balanceOf(requester), FEE);
        _assertSolvent();
    }

    function test_refund_revertsWhenFinalized() public {
        (uint256 taskId,,) = _runK1(FEE, 8000, 8000, 8000);
        vm.roll(vm.getBlockNumber() + 1000);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Finalized)
        );
        manager.refund(taskId);
    }
}

// ═══════════════════════════════════ commitOutput ═══════════════════════════════════

contract TaskManagerCommitOutputTest is TaskManagerTestBase {
    function test_commitOutput_storesAndEmits() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        bytes32 c = _outputCommitment(taskId, ops[0], OUTPUT, _salt(ops[0]));
        vm.expectEmit(address(manager));
        emit ITaskManager.OutputCommitted(taskId, ops[0], c);
        vm.prank(ops[0]);
        manager.commitOutput(taskId, c);
        (ITaskManager.EntryState state, uint256 word) = manager.entryOf(taskId, ops[0]);
        assertEq(uint256(state), uint256(ITaskManager.EntryState.Committed));
        assertEq(word, (uint256(c) & ~LOW_BYTE) | OP_COMMITTED);
        assertEq(manager.getTask(taskId).outputsCommitted, 1);
    }

    function test_commitOutput_revertsOnUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 1));
        vm.prank(operators[0]);
        manager.commitOutput(1, bytes32(uint256(1)));
    }

    function test_commitOutput_revertsBeforeSelection() public {
        uint256 taskId = _submit(FEE);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Submitted)
        );
        vm.prank(operators[0]);
        manager.commitOutput(taskId, bytes32(uint256(1)));
    }

    function test_commitOutput_revertsWhenFinalized() public {
        (uint256 taskId,,) = _runK1(FEE, 8000, 8000, 8000);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Finalized)
        );
        vm.prank(operators[0]);
        manager.commitOutput(taskId, bytes32(uint256(1)));
    }

    function test_commitOutput_revertsForStranger() public {
        (uint256 taskId,,) = _submitSelect(FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, stranger));
        vm.prank(stranger);
        manager.commitOutput(taskId, bytes32(uint256(1)));
    }

    function test_commitOutput_revertsForUnselectedOperator() public {
        address other = _register("otherOperator", INodeRegistry.Role.Operator, MODEL);
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        address unselected = ops[0] == other ? operators[0] : other;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, unselected));
        vm.prank(unselected);
        manager.commitOutput(taskId, bytes32(uint256(1)));
    }

    function test_commitOutput_revertsForValidator() public {
        (uint256 taskId,, address[] memory vals) = _submitSelect(FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.commitOutput(taskId, bytes32(uint256(1)));
    }

    function test_commitOutput_allowedAtLastSecond() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        vm.warp(manager.deadlines(taskId)[0] - 1);
        _commitOut(taskId, ops[0], OUTPUT);
        assertEq(manager.getTask(taskId).outputsCommitted, 1);
    }

    function test_commitOutput_revertsAtDeadline() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        uint256 selectedAt = vm.getBlockTimestamp();
        uint256 d0 = manager.deadlines(taskId)[0];
        vm.warp(d0);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, selectedAt, d0));
        vm.prank(ops[0]);
        manager.commitOutput(taskId, bytes32(uint256(1)));
    }

    function test_commitOutput_revertsOnSecondCommit() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.AlreadyCommitted.selector, taskId, ops[0]));
        vm.prank(ops[0]);
        manager.commitOutput(taskId, bytes32(uint256(2)));
        // ... and after the reveal too.
        _revealOutput(taskId, ops[0], OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.AlreadyCommitted.selector, taskId, ops[0]));
        vm.prank(ops[0]);
        manager.commitOutput(taskId, bytes32(uint256(2)));
    }

    function testFuzz_commitOutput_timing(uint256 dt) public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        uint256 t0 = vm.getBlockTimestamp();
        uint256 d0 = manager.deadlines(taskId)[0];
        dt = bound(dt, 0, 2000);
        vm.warp(t0 + dt);
        bytes32 c = _outputCommitment(taskId, ops[0], OUTPUT, _salt(ops[0]));
        if (t0 + dt >= d0) vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, t0, d0));
        vm.prank(ops[0]);
        manager.commitOutput(taskId, c);
        assertEq(manager.getTask(taskId).outputsCommitted, t0 + dt < d0 ? 1 : 0);
    }
}

// ═══════════════════════════════════ revealOutput ═══════════════════════════════════

contract TaskManagerRevealOutputTest is TaskManagerTestBase {
    function _deployK3() internal {
        ITaskManager.Params memory p = _params();
        p.numOperators = 3;
        _deploy(p);
    }

    function test_revealOutput_storesHashAndEmits() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        // K=1: the only operator has committed, so the reveal phase is open at once.
        vm.expectEmit(address(manager));
        emit ITaskManager.OutputRevealed(taskId, ops[0], OUTPUT);
        _revealOutput(taskId, ops[0], OUTPUT);
        (ITaskManager.EntryState state, uint256 word) = manager.entryOf(taskId, ops[0]);
        assertEq(uint256(state), uint256(ITaskManager.EntryState.Revealed));
        assertEq(word, (uint256(keccak256(OUTPUT)) & ~LOW_BYTE) | OP_REVEALED);
        assertEq(manager.getTask(taskId).outputsRevealed, 1);
    }

    function test_revealOutput_opensEarlyOnlyWhenAllCommitted() public {
        _deployK3();
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitOut(taskId, ops[0], OUTPUT);
        _commitOut(taskId, ops[1], OUTPUT);
        // Two of three committed: not open yet.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[0]));
        // The third commits: open before the commit deadline.
        _commitOut(taskId, ops[2], OUTPUT);
        assertLt(vm.getBlockTimestamp(), d[0]);
        _revealOutput(taskId, ops[0], OUTPUT);
        assertEq(manager.getTask(taskId).outputsRevealed, 1);
    }

    function test_revealOutput_opensAtCommitDeadline() public {
        _deployK3();
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitOut(taskId, ops[0], OUTPUT);
        vm.warp(d[0] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[0]));
        vm.warp(d[0]);
        _revealOutput(taskId, ops[0], OUTPUT);
        // An operator that never committed has nothing to reveal.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotCommitted.selector, taskId, ops[1]));
        vm.prank(ops[1]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[1]));
    }

    function test_revealOutput_allowedAtLastSecond() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        vm.warp(manager.deadlines(taskId)[1] - 1);
        _revealOutput(taskId, ops[0], OUTPUT);
        assertEq(manager.getTask(taskId).outputsRevealed, 1);
    }

    function test_revealOutput_revertsAtDeadline() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[1]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[0]));
    }

    function test_revealOutput_revertsOnSecondReveal() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        _revealOutput(taskId, ops[0], OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotCommitted.selector, taskId, ops[0]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[0]));
        assertEq(manager.getTask(taskId).outputsRevealed, 1);
    }

    function test_revealOutput_revertsForStrangerAndValidator() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, stranger));
        vm.prank(stranger);
        manager.revealOutput(taskId, OUTPUT, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.revealOutput(taskId, OUTPUT, bytes32(0));
    }

    function test_revealOutput_revertsOnWrongOutputOrSalt() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, ops[0]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, "a different output", _salt(ops[0]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, ops[0]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, bytes32(uint256(_salt(ops[0])) ^ 1));
        // The right pair still works.
        _revealOutput(taskId, ops[0], OUTPUT);
    }

    function test_revealOutput_revertsOnOutputTooLarge() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        uint256 max = _params().maxOutputBytes;
        bytes memory big = new bytes(max + 1);
        vm.prank(ops[0]);
        manager.commitOutput(taskId, _outputCommitment(taskId, ops[0], big, _salt(ops[0])));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.OutputTooLarge.selector, max + 1, max));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, big, _salt(ops[0]));
    }

    function test_revealOutput_acceptsMaxAndEmptyOutput() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 2;
        _deploy(p);
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        bytes memory max = new bytes(p.maxOutputBytes);
        _commitOut(taskId, ops[0], max);
        _commitOut(taskId, ops[1], "");
        _revealOutput(taskId, ops[0], max);
        _revealOutput(taskId, ops[1], "");
        assertEq(manager.getTask(taskId).outputsRevealed, 2);
    }

    function test_revealOutput_revertsOnUnknownTaskAndStatus() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 3));
        manager.revealOutput(3, OUTPUT, bytes32(0));
        uint256 taskId = _submit(FEE);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Submitted)
        );
        manager.revealOutput(taskId, OUTPUT, bytes32(0));
    }

    function testFuzz_revealOutput_timingAllCommitted(uint256 dt) public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        uint256 t0 = vm.getBlockTimestamp();
        uint256[4] memory d = manager.deadlines(taskId);
        dt = bound(dt, 0, 2000);
        vm.warp(t0 + dt);
        bool ok = t0 + dt < d[1];
        if (!ok) vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[0]));
        assertEq(manager.getTask(taskId).outputsRevealed, ok ? 1 : 0);
    }

    function testFuzz_revealOutput_timingPartlyCommitted(uint256 dt) public {
        _deployK3();
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        _commitOut(taskId, ops[2], OUTPUT);
        uint256 t0 = vm.getBlockTimestamp();
        uint256[4] memory d = manager.deadlines(taskId);
        dt = bound(dt, 0, 2000);
        vm.warp(t0 + dt);
        bool ok = t0 + dt >= d[0] && t0 + dt < d[1];
        if (!ok) vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
        vm.prank(ops[2]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[2]));
        assertEq(manager.getTask(taskId).outputsRevealed, ok ? 1 : 0);
    }
}

// ═══════════════════════════════════ commitScores ═══════════════════════════════════

contract TaskManagerCommitScoresTest is TaskManagerTestBase {
    function test_commitScores_storesAndEmits() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        bytes32 c = _scoresCommitment(taskId, vals[1], _scores1(7000), _salt(vals[1]));
        vm.expectEmit(address(manager));
        emit ITaskManager.ScoresCommitted(taskId, vals[1], c);
        vm.prank(vals[1]);
        manager.commitScores(taskId, c);
        (ITaskManager.EntryState state, uint256 word) = manager.entryOf(taskId, vals[1]);
        assertEq(uint256(state), uint256(ITaskManager.EntryState.Committed));
        assertEq(word, (uint256(c) & ~LOW_BYTE) | VAL_COMMITTED);
        assertEq(manager.getTask(taskId).scoresCommitted, 1);
    }

    function test_commitScores_revertsBeforeOutputsSettled() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        // Before anything is revealed.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
        vm.prank(vals[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));
        // Committed but not revealed: the output can still come, so scoring waits.
        _commitOut(taskId, ops[0], OUTPUT);
        vm.warp(d[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
        vm.prank(vals[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));
    }

    function test_commitScores_opensEarlyWhenAllRevealed() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        assertLt(vm.getBlockTimestamp(), manager.deadlines(taskId)[0]);
        _commitScores(taskId, vals[0], _scores1(5000));
        assertEq(manager.getTask(taskId).scoresCommitted, 1);
    }

    function test_commitScores_opensAtCommitDeadlineWhenCommittedAreRevealed() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 3;
        _deploy(p);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitOut(taskId, ops[0], OUTPUT);
        _commitOut(taskId, ops[1], OUTPUT);
        vm.warp(d[0]);
        _revealOutput(taskId, ops[0], OUTPUT);
        // ops[1] committed but has not revealed yet: scoring cannot open.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
        vm.prank(vals[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));
        _revealOutput(taskId, ops[1], OUTPUT);
        // Every committed output is out and ops[2] can no longer commit: open before d[1].
        assertLt(vm.getBlockTimestamp(), d[1]);
        _commitScores(taskId, vals[0], _fill(3, 5000));
    }

    function test_commitScores_opensAtRevealDeadlineDespiteUnrevealed() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 2;
        _deploy(p);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitOut(taskId, ops[0], OUTPUT);
        _commitOut(taskId, ops[1], OUTPUT);
        _revealOutput(taskId, ops[0], OUTPUT);
        vm.warp(d[1] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
        vm.prank(vals[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));
        vm.warp(d[1]);
        _commitScores(taskId, vals[0], _fill(2, 5000));
    }

    function test_commitScores_allowedAtLastSecond() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        vm.warp(manager.deadlines(taskId)[2] - 1);
        _commitScores(taskId, vals[0], _scores1(5000));
    }

    function test_commitScores_revertsAtDeadline() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[2]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
        vm.prank(vals[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));
    }

    function test_commitScores_revertsWhenNoOutputWasRevealed() public {
        (uint256 taskId,, address[] memory vals) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        // Nobody committed: settled (empty) at the commit deadline.
        vm.warp(d[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NoOutputsToScore.selector, taskId));
        vm.prank(vals[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));

        // Committed but never revealed: settled (empty) at the reveal deadline.
        (uint256 taskId2, address[] memory ops2,) = _submitSelect(FEE);
        _commitOut(taskId2, ops2[0], OUTPUT);
        vm.warp(manager.deadlines(taskId2)[1]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NoOutputsToScore.selector, taskId2));
        vm.prank(vals[0]);
        manager.commitScores(taskId2, bytes32(uint256(1)));
    }

    function test_commitScores_revertsForStrangerAndOperator() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, stranger));
        vm.prank(stranger);
        manager.commitScores(taskId, bytes32(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, ops[0]));
        vm.prank(ops[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));
    }

    function test_commitScores_revertsForUnselectedValidator() public {
        address extra = _register("extraValidator", INodeRegistry.Role.Validator, EVALUATOR);
        extraActors.push(extra);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        address unselected = extra;
        for (uint256 i; i < validators.length; ++i) {
            bool inCommittee;
            for (uint256 j; j < vals.length; ++j) {
                if (vals[j] == validators[i]) inCommittee = true;
            }
            if (!inCommittee) unselected = validators[i];
        }
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, unselected));
        vm.prank(unselected);
        manager.commitScores(taskId, bytes32(uint256(1)));
    }

    function test_commitScores_revertsOnSecondCommit() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(5000));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.AlreadyCommitted.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.commitScores(taskId, bytes32(uint256(1)));
    }

    function test_commitScores_revertsOnUnknownTaskAndStatus() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 8));
        manager.commitScores(8, bytes32(0));
        (uint256 taskId,,) = _runK1(FEE, 8000, 8000, 8000);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Finalized)
        );
        manager.commitScores(taskId, bytes32(0));
    }

    function testFuzz_commitScores_timing(uint256 dt) public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint256 t0 = vm.getBlockTimestamp();
        uint256[4] memory d = manager.deadlines(taskId);
        dt = bound(dt, 0, 2000);
        vm.warp(t0 + dt);
        bool ok = t0 + dt < d[2];
        bytes32 c = _scoresCommitment(taskId, vals[0], _scores1(1), _salt(vals[0]));
        if (!ok) vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
        vm.prank(vals[0]);
        manager.commitScores(taskId, c);
        assertEq(manager.getTask(taskId).scoresCommitted, ok ? 1 : 0);
    }
}

// ═══════════════════════════════════ revealScores ═══════════════════════════════════

contract TaskManagerRevealScoresTest is TaskManagerTestBase {
    function test_revealScores_storesPackedAndEmits() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint16[][] memory s = _k1(8000, 10_000, 0);
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], s[i]);
        }
        vm.expectEmit(address(manager));
        emit ITaskManager.ScoresRevealed(taskId, vals[0], s[0]);
        _revealScores(taskId, vals[0], s[0]);
        _revealScores(taskId, vals[1], s[1]);
        _revealScores(taskId, vals[2], s[2]);
        (ITaskManager.EntryState state, uint256 word) = manager.entryOf(taskId, vals[0]);
        assertEq(uint256(state), uint256(ITaskManager.EntryState.Revealed));
        assertEq(word, (uint256(8000) << 8) | VAL_REVEALED);
        (, word) = manager.entryOf(taskId, vals[1]);
        assertEq(word, (uint256(10_000) << 8) | VAL_REVEALED);
        (, word) = manager.entryOf(taskId, vals[2]);
        assertEq(word, VAL_REVEALED);
        assertEq(manager.getTask(taskId).scoresRevealed, 3);
    }

    function test_revealScores_packsOneScorePerOperator() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 3;
        _deploy(p);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint16[] memory s = _s3(1234, 10_000, 7);
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], s);
        }
        _revealScores(taskId, vals[2], s);
        (, uint256 word) = manager.entryOf(taskId, vals[2]);
        assertEq(word, (uint256(1234) << 8) | (uint256(10_000) << 24) | (uint256(7) << 40) | VAL_REVEALED);
    }

    function test_revealScores_opensEarlyOnlyWhenAllCommitted() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitScores(taskId, vals[0], _scores1(8000));
        _commitScores(taskId, vals[1], _scores1(8000));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[2], d[3]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[0]));
        _commitScores(taskId, vals[2], _scores1(8000));
        _revealScores(taskId, vals[0], _scores1(8000));
        assertEq(manager.getTask(taskId).scoresRevealed, 1);
    }

    function test_revealScores_opensAtCommitDeadline() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitScores(taskId, vals[0], _scores1(8000));
        vm.warp(d[2] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[2], d[3]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[0]));
        vm.warp(d[2]);
        _revealScores(taskId, vals[0], _scores1(8000));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotCommitted.selector, taskId, vals[1]));
        vm.prank(vals[1]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[1]));
    }

    function test_revealScores_allowedAtLastSecond() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(8000));
        vm.warp(manager.deadlines(taskId)[3] - 1);
        _revealScores(taskId, vals[0], _scores1(8000));
    }

    function test_revealScores_revertsAtDeadline() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(8000));
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[3]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[2], d[3]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[0]));
    }

    function _allCommitted() internal returns (uint256 taskId, address[] memory vals) {
        address[] memory ops;
        (taskId, ops, vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(8000));
        }
    }

    function test_revealScores_revertsOnWrongLength() public {
        (uint256 taskId, address[] memory vals) = _allCommitted();
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidScores.selector, taskId));
        vm.prank(vals[0]);
        manager.revealScores(taskId, new uint16[](0), _salt(vals[0]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidScores.selector, taskId));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _fill(2, 8000), _salt(vals[0]));
    }

    function test_revealScores_revertsOnScoreAboveBps() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        // The validator even committed to the invalid vector: the reveal still fails.
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(10_001));
        }
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidScores.selector, taskId));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(10_001), _salt(vals[0]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidScores.selector, taskId));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(type(uint16).max), _salt(vals[0]));
    }

    function test_revealScores_revertsOnMismatch() public {
        (uint256 taskId, address[] memory vals) = _allCommitted();
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8001), _salt(vals[0]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[1]));
    }

    function test_revealScores_revertsOnSecondReveal() public {
        (uint256 taskId, address[] memory vals) = _allCommitted();
        _revealScores(taskId, vals[0], _scores1(8000));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotCommitted.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[0]));
        assertEq(manager.getTask(taskId).scoresRevealed, 1);
    }

    function test_revealScores_revertsForStrangerAndOperator() public {
        (uint256 taskId,) = _allCommitted();
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, stranger));
        vm.prank(stranger);
        manager.revealScores(taskId, _scores1(8000), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, operators[0]));
        vm.prank(operators[0]);
        manager.revealScores(taskId, _scores1(8000), bytes32(0));
    }

    function test_revealScores_revertsOnUnknownTaskAndStatus() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 4));
        manager.revealScores(4, _scores1(1), bytes32(0));
        uint256 taskId = _submit(FEE);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Submitted)
        );
        manager.revealScores(taskId, _scores1(1), bytes32(0));
    }

    function testFuzz_revealScores_timingPartlyCommitted(uint256 dt) public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(8000));
        _commitScores(taskId, vals[2], _scores1(8000));
        uint256 t0 = vm.getBlockTimestamp();
        uint256[4] memory d = manager.deadlines(taskId);
        dt = bound(dt, 0, 2000);
        vm.warp(t0 + dt);
        bool ok = t0 + dt >= d[2] && t0 + dt < d[3];
        if (!ok) vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[2], d[3]));
        vm.prank(vals[2]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[2]));
        assertEq(manager.getTask(taskId).scoresRevealed, ok ? 1 : 0);
    }
}

// ═══════════════════════════════════ finalize ═══════════════════════════════════

contract TaskManagerFinalizeTest is TaskManagerTestBase {
    uint256 internal constant VAL_SHARE_3 = uint256(0.25 ether) / 3; // 83_333_333_333_333_333

    function _snapshotStakes() internal view returns (uint256[] memory opStakes, uint256[] memory valStakes) {
        opStakes = new uint256[](operators.length);
        valStakes = new uint256[](validators.length);
        for (uint256 i; i < operators.length; ++i) {
            opStakes[i] = _stake(operators[i]);
        }
        for (uint256 i; i < validators.length; ++i) {
            valStakes[i] = _stake(validators[i]);
        }
    }

    function _slashedSince(uint256[] memory opStakes, uint256[] memory valStakes) internal view returns (uint256 sum) {
        for (uint256 i; i < operators.length; ++i) {
            sum += opStakes[i] - _stake(operators[i]);
        }
        for (uint256 i; i < validators.length; ++i) {
            sum += valStakes[i] - _stake(validators[i]);
        }
    }

    function _scoresN(uint16[] memory perValidator) internal pure returns (uint16[][] memory r) {
        r = new uint16[][](perValidator.length);
        for (uint256 i; i < perValidator.length; ++i) {
            r[i] = _scores1(perValidator[i]);
        }
    }

    function _u16s(uint16 a, uint16 b, uint16 c, uint16 d) internal pure returns (uint16[] memory r) {
        r = new uint16[](4);
        (r[0], r[1], r[2], r[3]) = (a, b, c, d);
    }

    function _u16s(uint16 a, uint16 b, uint16 c, uint16 d, uint16 e) internal pure returns (uint16[] memory r) {
        r = new uint16[](5);
        (r[0], r[1], r[2], r[3], r[4]) = (a, b, c, d, e);
    }

    // ───────────────────────────── Median ─────────────────────────────

    function test_finalize_medianOddCount_paysEveryoneToTheWei() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _allScores(taskId, vals, _k1(8000, 8200, 7900));
        // All validators revealed: settled before any deadline.
        assertLt(vm.getBlockTimestamp(), manager.deadlines(taskId)[0]);

        uint256 rest = FEE - 0.56 ether - 3 * VAL_SHARE_3 - 0.05 ether;
        assertEq(rest, 140_000_000_000_000_001);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, ops[0], 0.56 ether);
        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(address(manager));
            emit ITaskManager.Credited(taskId, vals[i], VAL_SHARE_3);
        }
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, treasury, 0.05 ether);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _scores1(8000), rest);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, rest);
        vm.prank(stranger); // anyone may finalize
        manager.finalize(taskId, ops, vals);

        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Finalized));
        assertEq(manager.balanceOf(ops[0]), 0.56 ether);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.balanceOf(vals[i]), VAL_SHARE_3);
            assertEq(_stake(vals[i]), Defaults.VALIDATOR_MIN_STAKE);
        }
        assertEq(manager.balanceOf(treasury), 0.05 ether);
        assertEq(manager.balanceOf(requester), rest);
        assertEq(manager.balanceOf(stranger), 0);
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE);
        assertEq(_creditedSum(), FEE);
        _assertSolvent();
    }

    function test_finalize_medianOddCount_outlierEarnsNothing() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _allScores(taskId, vals, _k1(8000, 3000, 8200));
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.56 ether);
        assertEq(manager.balanceOf(vals[0]), 0.125 ether);
        assertEq(manager.balanceOf(vals[1]), 0);
        assertEq(manager.balanceOf(vals[2]), 0.125 ether);
        assertEq(manager.balanceOf(treasury), 0.05 ether);
        assertEq(manager.balanceOf(requester), 0.14 ether);
        // An outlier is not slashed: it revealed.
        assertEq(_stake(vals[1]), Defaults.VALIDATOR_MIN_STAKE);
        _assertSolvent();
    }

    function test_finalize_medianEvenCount_averagesTheMiddleTwo() public {
        ITaskManager.Params memory p = _params();
        p.numValidators = 4;
        _deploy(p);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        // Sorted: 6000 7000 8001 9000 -> (7000 + 8001) / 2 = 7500 (rounded down).
        _allScores(taskId, vals, _scoresN(_u16s(9000, 6000, 8001, 7000)));
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _scores1(7500), 0.175 ether);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.525 ether);
        assertEq(manager.balanceOf(vals[0]), 0); // 9000: 1500 off
        assertEq(manager.balanceOf(vals[1]), 0); // 6000: 1500 off
        assertEq(manager.balanceOf(vals[2]), 0.125 ether); // 8001: 501 off
        assertEq(manager.balanceOf(vals[3]), 0.125 ether); // 7000: 500 off
        assertEq(manager.balanceOf(treasury), 0.05 ether);
        assertEq(manager.balanceOf(requester), 0.175 ether);
        _assertSolvent();
    }

    function test_finalize_toleranceIsInclusive() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        // Median 5000; 4000 and 6000 lie exactly 1000 (the tolerance) away; 3999 would not.
        _allScores(taskId, vals, _k1(4000, 5000, 6000));
        manager.finalize(taskId, ops, vals);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.balanceOf(vals[i]), VAL_SHARE_3);
        }
        (uint256 taskId2,,) = _submitSelect(FEE);
        _allOutputs(taskId2, ops);
        _allScores(taskId2, vals, _k1(3999, 5000, 6000));
        manager.finalize(taskId2, ops, vals);
        assertEq(manager.balanceOf(vals[0]), VAL_SHARE_3);
        assertEq(manager.balanceOf(vals[1]), VAL_SHARE_3 + 0.125 ether);
        assertEq(manager.balanceOf(vals[2]), VAL_SHARE_3 + 0.125 ether);
        _assertSolvent();
    }

    // ───────────────────────────── Trimmed mean ─────────────────────────────

    function test_finalize_trimmedMean_dropsOneEachEndOfFive() public {
        ITaskManager.Params memory p = _params();
        p.aggregation = ITaskManager.Aggregation.TrimmedMean;
        p.numValidators = 5;
        p.quorum = 3;
        _deploy(p);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        // Sorted 1000 7000 7500 8000 10000: drop 1000 and 10000, mean 7500.
        _allScores(taskId, vals, _scoresN(_u16s(10_000, 1000, 7500, 8000, 7000)));
        uint256 share = uint256(0.25 ether) / 3;
        uint256 rest = FEE - 0.525 ether - 3 * share - 0.05 ether;
        assertEq(rest, 175_000_000_000_000_001);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _scores1(7500), rest);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.525 ether);
        assertEq(manager.balanceOf(vals[0]), 0);
        assertEq(manager.balanceOf(vals[1]), 0);
        assertEq(manager.balanceOf(vals[2]), share);
        assertEq(manager.balanceOf(vals[3]), share);
        assertEq(manager.balanceOf(vals[4]), share);
        assertEq(manager.balanceOf(treasury), 0.05 ether);
        assertEq(manager.balanceOf(requester), rest);
        _assertSolvent();
    }

    function test_finalize_trimmedMean_ofThreeIsThePlainMean() public {
        ITaskManager.Params memory p = _params();
        p.aggregation = ITaskManager.Aggregation.TrimmedMean;
        _deploy(p);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        // 3 * 20 % rounds to no trim: (7000 + 8000 + 8001) / 3 = 7667.
        _allScores(taskId, vals, _k1(8001, 7000, 8000));
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _scores1(7667), 163_310_000_000_000_001);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 536_690_000_000_000_000);
        assertEq(manager.balanceOf(requester), 163_310_000_000_000_001);
        _assertSolvent();
    }

    // ───────────────────────────── Payout modes ─────────────────────────────

    function _deployK3(ITaskManager.PayoutMode mode) internal {
        ITaskManager.Params memory p = _params();
        p.numOperators = 3;
        p.payoutMode = mode;
        _deploy(p);
    }

    function test_finalize_proportionalK3_paysEachByItsQuality() public {
        _deployK3(ITaskManager.PayoutMode.Proportional);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint16[][] memory s = new uint16[][](3);
        s[0] = _s3(9000, 5000, 1000);
        s[1] = _s3(8000, 6000, 1500);
        s[2] = _s3(8500, 5500, 3000);
        _allScores(taskId, vals, s);
        // Consensus 8500, 5500, 1500; each operator earns 0.7 / 3 * quality; 1500 is under the floor.
        uint256 rest = 373_333_333_333_333_334;
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _s3(8500, 5500, 1500), rest);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 198_333_333_333_333_333);
        assertEq(manager.balanceOf(ops[1]), 128_333_333_333_333_333);
        assertEq(manager.balanceOf(ops[2]), 0);
        // vals[2] is 1500 off on the third output.
        assertEq(manager.balanceOf(vals[0]), 0.125 ether);
        assertEq(manager.balanceOf(vals[1]), 0.125 ether);
        assertEq(manager.balanceOf(vals[2]), 0);
        assertEq(manager.balanceOf(treasury), 0.05 ether);
        assertEq(manager.balanceOf(requester), rest);
        assertEq(_creditedSum(), FEE);
        _assertSolvent();
    }

    function test_finalize_winnerTakesAllK3_tieGoesToLowestAddress() public {
        _deployK3(ITaskManager.PayoutMode.WinnerTakesAll);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        assertLt(uint160(ops[1]), uint160(ops[2]));
        _allOutputs(taskId, ops);
        uint16[][] memory s = new uint16[][](3);
        s[0] = _s3(1000, 8000, 8000);
        s[1] = _s3(1000, 8000, 8000);
        s[2] = _s3(1000, 8000, 8000);
        _allScores(taskId, vals, s);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0);
        assertEq(manager.balanceOf(ops[1]), 0.56 ether);
        assertEq(manager.balanceOf(ops[2]), 0);
        assertEq(manager.balanceOf(requester), 140_000_000_000_000_001);
        _assertSolvent();
    }

    function test_finalize_winnerTakesAllK3_threeWayTieGoesToFirst() public {
        _deployK3(ITaskManager.PayoutMode.WinnerTakesAll);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint16[][] memory s = new uint16[][](3);
        s[0] = _s3(7000, 7000, 7000);
        s[1] = _s3(7000, 7000, 7000);
        s[2] = _s3(7000, 7000, 7000);
        _allScores(taskId, vals, s);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.49 ether);
        assertEq(manager.balanceOf(ops[1]), 0);
        assertEq(manager.balanceOf(ops[2]), 0);
        _assertSolvent();
    }

    function test_finalize_winnerTakesAllK3_bestOutputWins() public {
        _deployK3(ITaskManager.PayoutMode.WinnerTakesAll);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint16[][] memory s = new uint16[][](3);
        s[0] = _s3(6000, 7000, 9000);
        s[1] = _s3(6500, 7000, 8800);
        s[2] = _s3(6000, 7500, 9100);
        _allScores(taskId, vals, s);
        // Consensus 6000, 7000, 9000: only the best earns 0.7 * 0.9.
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _s3(6000, 7000, 9000), 70_000_000_000_000_001);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0);
        assertEq(manager.balanceOf(ops[1]), 0);
        assertEq(manager.balanceOf(ops[2]), 0.63 ether);
        assertEq(manager.balanceOf(requester), 70_000_000_000_000_001);
        _assertSolvent();
    }

    function test_finalize_winnerTakesAllK3_nobodyAboveFloor() public {
        _deployK3(ITaskManager.PayoutMode.WinnerTakesAll);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint16[][] memory s = new uint16[][](3);
        s[0] = _s3(1000, 1999, 0);
        s[1] = _s3(1000, 1999, 0);
        s[2] = _s3(1000, 1999, 0);
        _allScores(taskId, vals, s);
        manager.finalize(taskId, ops, vals);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.balanceOf(ops[i]), 0);
            assertEq(manager.balanceOf(vals[i]), VAL_SHARE_3);
        }
        assertEq(manager.balanceOf(requester), 700_000_000_000_000_001);
        _assertSolvent();
    }

    // ───────────────────────────── Quality floor ─────────────────────────────

    function test_finalize_belowFloor_operatorEarnsNothing() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _allScores(taskId, vals, _k1(1500, 1999, 1500));
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _scores1(1500), 700_000_000_000_000_001);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.balanceOf(vals[i]), VAL_SHARE_3);
        }
        assertEq(manager.balanceOf(treasury), 0.05 ether);
        assertEq(manager.balanceOf(requester), 700_000_000_000_000_001);
        // A poor but revealed output is not slashed.
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE);
        _assertSolvent();
    }

    function test_finalize_atFloor_operatorIsPaid() public {
        (uint256 taskId, address[] memory ops,) = _runK1(FEE, 2000, 2000, 2000);
        assertEq(manager.balanceOf(ops[0]), 0.14 ether);
        assertEq(manager.balanceOf(requester), 560_000_000_000_000_001);
        taskId;
        _assertSolvent();
    }

    function test_finalize_noTreasury_noCut() public {
        vm.prank(owner);
        manager.setTreasury(address(0));
        (uint256 taskId,,) = _runK1(FEE, 8000, 8200, 7900);
        assertEq(manager.balanceOf(treasury), 0);
        assertEq(manager.balanceOf(address(0)), 0);
        assertEq(manager.balanceOf(operators[0]), 0.56 ether);
        assertEq(manager.balanceOf(requester), 190_000_000_000_000_001);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Finalized));
        _assertSolvent();
    }

    function test_finalize_noValidatorAgrees_poolGoesToRequester() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(2000));
        _commitScores(taskId, vals[1], _scores1(9000));
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[2]); // vals[2] stayed silent: reveals open at the commit deadline
        _revealScores(taskId, vals[0], _scores1(2000));
        _revealScores(taskId, vals[1], _scores1(9000));
        // Every committed score is revealed and commits are closed: settled before d[3].
        manager.finalize(taskId, ops, vals);
        // Median of two: 5500; both validators are 3500 away.
        assertEq(manager.balanceOf(ops[0]), 0.385 ether);
        assertEq(manager.balanceOf(vals[0]), 0);
        assertEq(manager.balanceOf(vals[1]), 0);
        assertEq(manager.balanceOf(vals[2]), 0);
        assertEq(manager.balanceOf(treasury), 0.05 ether);
        assertEq(manager.balanceOf(requester), 0.565 ether + VAL_SLASH);
        assertEq(_stake(vals[2]), Defaults.VALIDATOR_MIN_STAKE - VAL_SLASH);
        _assertSolvent();
    }

    // ───────────────────────────── Faults and slashing ─────────────────────────────

    function test_finalize_quorumNotMet_refundsAndSlashesSilentValidators() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(8000));
        _commitScores(taskId, vals[1], _scores1(8000)); // commits, never reveals
        // vals[2] never commits.
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[2]);
        _revealScores(taskId, vals[0], _scores1(8000));
        uint256 registryBefore = address(registry).balance;

        vm.warp(d[3] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]));
        manager.finalize(taskId, ops, vals);

        vm.warp(d[3]);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskRefunded(taskId, FEE);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, FEE);
        vm.expectEmit(address(manager));
        emit ITaskManager.Slashed(taskId, vals[1], VAL_SLASH);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, VAL_SLASH);
        vm.expectEmit(address(manager));
        emit ITaskManager.Slashed(taskId, vals[2], VAL_SLASH);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, VAL_SLASH);
        manager.finalize(taskId, ops, vals);

        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
        assertEq(manager.balanceOf(requester), FEE + 2 * VAL_SLASH);
        assertEq(manager.balanceOf(ops[0]), 0);
        assertEq(manager.balanceOf(vals[0]), 0);
        assertEq(manager.balanceOf(treasury), 0);
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE);
        assertEq(_stake(vals[0]), Defaults.VALIDATOR_MIN_STAKE);
        assertEq(_stake(vals[1]), Defaults.VALIDATOR_MIN_STAKE - VAL_SLASH);
        assertEq(_stake(vals[2]), Defaults.VALIDATOR_MIN_STAKE - VAL_SLASH);
        assertEq(address(registry).balance, registryBefore - 2 * VAL_SLASH);
        assertEq(address(manager).balance, FEE + 2 * VAL_SLASH);
        _assertSolvent();
    }

    function test_finalize_quorumNotMet_settlesAtCommitDeadlineWhenAllCommittedRevealed() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(8000));
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[2] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]));
        manager.finalize(taskId, ops, vals);
        vm.warp(d[2]);
        _revealScores(taskId, vals[0], _scores1(8000));
        manager.finalize(taskId, ops, vals);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
        assertEq(manager.balanceOf(requester), FEE + 2 * VAL_SLASH);
        _assertSolvent();
    }

    function test_finalize_committedButUnrevealedValidatorSlashed_taskStillPays() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(8000));
        _commitScores(taskId, vals[1], _scores1(7000));
        _commitScores(taskId, vals[2], _scores1(9000));
        _revealScores(taskId, vals[0], _scores1(8000));
        _revealScores(taskId, vals[1], _scores1(7000));
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[3] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]));
        manager.finalize(taskId, ops, vals);
        vm.warp(d[3]);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _scores1(7500), 0.175 ether);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, 0.175 ether);
        vm.expectEmit(address(manager));
        emit ITaskManager.Slashed(taskId, vals[2], VAL_SLASH);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, VAL_SLASH);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.525 ether);
        assertEq(manager.balanceOf(vals[0]), 0.125 ether);
        assertEq(manager.balanceOf(vals[1]), 0.125 ether);
        assertEq(manager.balanceOf(vals[2]), 0);
        assertEq(manager.balanceOf(requester), 0.175 ether + VAL_SLASH);
        assertEq(_stake(vals[2]), Defaults.VALIDATOR_MIN_STAKE - VAL_SLASH);
        _assertSolvent();
    }

    function test_finalize_silentOperatorAmongThree_slashedOthersPaid() public {
        _deployK3(ITaskManager.PayoutMode.Proportional);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitOut(taskId, ops[0], OUTPUT);
        _commitOut(taskId, ops[1], OUTPUT);
        vm.warp(d[0]);
        _revealOutput(taskId, ops[0], OUTPUT);
        _revealOutput(taskId, ops[1], OUTPUT);
        // Scores for the silent operator are ignored, whatever they are.
        uint16[][] memory s = new uint16[][](3);
        s[0] = _s3(8000, 6000, 0);
        s[1] = _s3(8000, 6000, 10_000);
        s[2] = _s3(8000, 6000, 5000);
        _allScores(taskId, vals, s);
        uint256 rest = 373_333_333_333_333_335;
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskFinalized(taskId, _s3(8000, 6000, 0), rest);
        vm.expectEmit(address(manager));
        emit ITaskManager.Slashed(taskId, ops[2], OP_SLASH);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 186_666_666_666_666_666);
        assertEq(manager.balanceOf(ops[1]), 0.14 ether);
        assertEq(manager.balanceOf(ops[2]), 0);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.balanceOf(vals[i]), VAL_SHARE_3);
            assertEq(_stake(vals[i]), Defaults.VALIDATOR_MIN_STAKE);
        }
        assertEq(manager.balanceOf(requester), rest + OP_SLASH);
        assertEq(_stake(ops[2]), Defaults.OPERATOR_MIN_STAKE - OP_SLASH);
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE);
        _assertSolvent();
    }

    function test_finalize_committedOperatorNeverReveals_refundAndOperatorSlashed() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        (uint256[] memory opStakes, uint256[] memory valStakes) = _snapshotStakes();
        _commitOut(taskId, ops[0], OUTPUT);
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[1] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]));
        manager.finalize(taskId, ops, vals);
        vm.warp(d[1]);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskRefunded(taskId, FEE);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, FEE);
        vm.expectEmit(address(manager));
        emit ITaskManager.Slashed(taskId, ops[0], OP_SLASH);
        vm.expectEmit(address(manager));
        emit ITaskManager.Credited(taskId, requester, OP_SLASH);
        manager.finalize(taskId, ops, vals);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE - OP_SLASH);
        // Everything slashed, whoever it came from, is credited to the requester.
        assertEq(manager.balanceOf(requester), FEE + _slashedSince(opStakes, valStakes));
        assertEq(manager.balanceOf(requester), FEE + OP_SLASH);
        _assertSolvent();
    }

    function test_finalize_silentOperator_refundAtCommitDeadlineAndOperatorSlashed() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        (uint256[] memory opStakes, uint256[] memory valStakes) = _snapshotStakes();
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[0] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]));
        manager.finalize(taskId, ops, vals);
        vm.warp(d[0]);
        vm.expectEmit(address(manager));
        emit ITaskManager.TaskRefunded(taskId, FEE);
        vm.expectEmit(address(manager));
        emit ITaskManager.Slashed(taskId, ops[0], OP_SLASH);
        manager.finalize(taskId, ops, vals);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE - OP_SLASH);
        assertEq(manager.balanceOf(requester), FEE + _slashedSince(opStakes, valStakes));
        assertEq(manager.balanceOf(requester), FEE + OP_SLASH);
        _assertSolvent();
    }

    /// @dev Regression: with no output revealed the validators had nothing to score (`commitScores` reverts
    /// `NoOutputsToScore`), so `finalize` must not slash them (it did before b71ecc6, which also evicted
    /// every minimum-stake validator of the task from its pool).
    function test_finalize_noOutputs_doesNotSlashValidators() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        vm.warp(manager.deadlines(taskId)[1]);
        manager.finalize(taskId, ops, vals);
        for (uint256 i; i < vals.length; ++i) {
            assertEq(_stake(vals[i]), Defaults.VALIDATOR_MIN_STAKE, "validator slashed with nothing to score");
        }
        assertEq(manager.balanceOf(requester), FEE + OP_SLASH);
    }

    // ───────────────────────────── Timing and arguments ─────────────────────────────

    function test_finalize_revertsTooEarlyInEveryPhase() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256[4] memory d = manager.deadlines(taskId);
        bytes memory early = abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]);
        vm.expectRevert(early);
        manager.finalize(taskId, ops, vals);
        _commitOut(taskId, ops[0], OUTPUT);
        vm.expectRevert(early);
        manager.finalize(taskId, ops, vals);
        _revealOutput(taskId, ops[0], OUTPUT);
        vm.expectRevert(early);
        manager.finalize(taskId, ops, vals);
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(8000));
        }
        vm.expectRevert(early);
        manager.finalize(taskId, ops, vals);
        _revealScores(taskId, vals[0], _scores1(8000));
        _revealScores(taskId, vals[1], _scores1(8000));
        vm.warp(d[3] - 1);
        vm.expectRevert(early);
        manager.finalize(taskId, ops, vals);
        vm.warp(d[3]);
        manager.finalize(taskId, ops, vals);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Finalized));
    }

    function _readyToFinalize() internal returns (uint256 taskId, address[] memory ops, address[] memory vals) {
        (taskId, ops, vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        _allScores(taskId, vals, _k1(8000, 8000, 8000));
    }

    function test_finalize_revertsOnWrongLengths() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _readyToFinalize();
        bytes memory err = abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId);
        vm.expectRevert(err);
        manager.finalize(taskId, new address[](0), vals);
        address[] memory twoOps = new address[](2);
        (twoOps[0], twoOps[1]) = (ops[0], address(type(uint160).max));
        vm.expectRevert(err);
        manager.finalize(taskId, twoOps, vals);
        address[] memory twoVals = new address[](2);
        (twoVals[0], twoVals[1]) = (vals[0], vals[1]);
        vm.expectRevert(err);
        manager.finalize(taskId, ops, twoVals);
        address[] memory fourVals = new address[](4);
        (fourVals[0], fourVals[1], fourVals[2], fourVals[3]) = (vals[0], vals[1], vals[2], address(type(uint160).max));
        vm.expectRevert(err);
        manager.finalize(taskId, ops, fourVals);
        // Lists swapped.
        vm.expectRevert(err);
        manager.finalize(taskId, vals, ops);
    }

    function test_finalize_revertsOnWrongOrder() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _readyToFinalize();
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, ops, _addrs(vals[2], vals[1], vals[0]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, ops, _addrs(vals[0], vals[2], vals[1]));
    }

    function test_finalize_revertsOnDuplicate() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _readyToFinalize();
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, ops, _addrs(vals[0], vals[0], vals[1]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, ops, _addrs(vals[0], vals[1], vals[1]));
    }

    function test_finalize_revertsOnNonMember() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _readyToFinalize();
        // Ascending, right length, but address(1) is no member.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, ops, _addrs(address(1), vals[1], vals[2]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, _addrs(stranger), vals);
        // A registered validator of the pool that is not in this committee.
        address outsider = _register("outsiderValidator", INodeRegistry.Role.Validator, EVALUATOR);
        address[] memory withOutsider = _sorted(_addrs(outsider, vals[1], vals[2]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, ops, withOutsider);
    }

    function test_finalize_revertsOnRoleSwap() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _readyToFinalize();
        // The operator passed as a validator.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, ops, _sorted(_addrs(ops[0], vals[1], vals[2])));
        // A validator passed as the operator.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, _addrs(vals[0]), vals);
        // The right lists work.
        manager.finalize(taskId, ops, vals);
    }

    function test_finalize_revertsOnUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 42));
        manager.finalize(42, operators, validators);
    }

    function test_finalize_revertsOnWrongStatus() public {
        uint256 submitted = _submit(FEE);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, submitted, ITaskManager.Status.Submitted)
        );
        manager.finalize(submitted, operators, validators);

        (uint256 taskId, address[] memory ops, address[] memory vals) = _readyToFinalize();
        manager.finalize(taskId, ops, vals);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, taskId, ITaskManager.Status.Finalized)
        );
        manager.finalize(taskId, ops, vals);

        (uint256 refunded,,) = _submitSelect(FEE);
        vm.warp(manager.deadlines(refunded)[0]);
        manager.finalize(refunded, ops, vals);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.InvalidStatus.selector, refunded, ITaskManager.Status.Refunded)
        );
        manager.finalize(refunded, ops, vals);
        _assertSolvent();
    }

    // ───────────────────────────── Fuzz ─────────────────────────────

    function testFuzz_finalize_k1ScoresAndFee(uint256 a, uint256 b, uint256 c, uint256 fee) public {
        fee = bound(fee, Defaults.MODEL_MIN_FEE, 1_000_000 ether);
        uint16[] memory s = _s3(uint16(bound(a, 0, 10_000)), uint16(bound(b, 0, 10_000)), uint16(bound(c, 0, 10_000)));
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(fee);
        _allOutputs(taskId, ops);
        _allScores(taskId, vals, _k1(s[0], s[1], s[2]));
        vm.recordLogs();
        manager.finalize(taskId, ops, vals);
        (uint16[] memory consensus, uint256 rest) = _finalizedConsensus(vm.getRecordedLogs());

        uint256[] memory ref = new uint256[](3);
        (ref[0], ref[1], ref[2]) = (s[0], s[1], s[2]);
        uint256 median = _refMedian(ref);
        assertEq(consensus.length, 1);
        assertEq(consensus[0], median, "consensus != reference median");

        uint256 opPay = median >= 2000 ? fee * 7000 * median / (BPS_ * BPS_) : 0;
        assertEq(manager.balanceOf(ops[0]), opPay);
        uint256 agreeing;
        for (uint256 i; i < 3; ++i) {
            if ((s[i] > median ? s[i] - median : median - s[i]) <= 1000) ++agreeing;
        }
        uint256 share = agreeing == 0 ? 0 : fee * 2500 / BPS_ / agreeing;
        for (uint256 i; i < 3; ++i) {
            bool agrees = (s[i] > median ? s[i] - median : median - s[i]) <= 1000;
            assertEq(manager.balanceOf(vals[i]), agrees ? share : 0);
        }
        assertEq(manager.balanceOf(treasury), fee * 500 / BPS_);
        assertEq(rest, fee - opPay - agreeing * share - fee * 500 / BPS_);
        assertEq(manager.balanceOf(requester), rest);
        assertEq(_creditedSum(), fee, "credited != fee");
        _assertSolvent();
    }

    struct FuzzCase {
        uint256 fee;
        uint256 opMask;
        uint256[5] valState; // 0 silent, 1 commits only, 2 commits and reveals
        uint16[15] scores; // validator i, operator j at 3 * i + j
        bool trimmed;
        bool wta;
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_finalize_k3m5(
        uint256 fee,
        uint256 opMask,
        uint256 valStates,
        uint16[15] memory raw,
        bool trimmed,
        bool wta
    ) public {
        FuzzCase memory fc;
        fc.fee = bound(fee, Defaults.MODEL_MIN_FEE, 1_000_000 ether);
        fc.opMask = bound(opMask, 1, 7); // at least one output revealed
        for (uint256 i; i < 5; ++i) {
            fc.valState[i] = (valStates >> (8 * i)) % 3;
        }
        for (uint256 i; i < 15; ++i) {
            fc.scores[i] = uint16(bound(raw[i], 0, 10_000));
        }
        fc.trimmed = trimmed;
        fc.wta = wta;
        _runFuzzCase(fc);
    }

    function _runFuzzCase(FuzzCase memory fc) internal {
        ITaskManager.Params memory p = _params();
        p.numOperators = 3;
        p.numValidators = 5;
        p.quorum = 3;
        p.aggregation = fc.trimmed ? ITaskManager.Aggregation.TrimmedMean : ITaskManager.Aggregation.Median;
        p.payoutMode = fc.wta ? ITaskManager.PayoutMode.WinnerTakesAll : ITaskManager.PayoutMode.Proportional;
        _deploy(p);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(fc.fee);
        uint256[4] memory d = manager.deadlines(taskId);
        (uint256[] memory opStakes, uint256[] memory valStakes) = _snapshotStakes();

        for (uint256 j; j < 3; ++j) {
            _commitOut(taskId, ops[j], OUTPUT);
        }
        for (uint256 j; j < 3; ++j) {
            if (fc.opMask >> j & 1 == 1) _revealOutput(taskId, ops[j], OUTPUT);
        }
        if (fc.opMask != 7) vm.warp(d[1]);
        uint256 committed;
        for (uint256 i; i < 5; ++i) {
            if (fc.valState[i] > 0) {
                _commitScores(taskId, vals[i], _vector(fc, i));
                ++committed;
            }
        }
        if (committed < 5) vm.warp(d[2]);
        uint256 revealed;
        for (uint256 i; i < 5; ++i) {
            if (fc.valState[i] == 2) {
                _revealScores(taskId, vals[i], _vector(fc, i));
                ++revealed;
            }
        }
        vm.warp(d[3]);
        vm.recordLogs();
        manager.finalize(taskId, ops, vals);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        uint256 slashed = _slashedSince(opStakes, valStakes);
        assertEq(_creditedSum(), fc.fee + slashed, "credited != fee + slashed");
        _assertSolvent();
        // Exactly the unrevealed nodes are slashed.
        for (uint256 j; j < 3; ++j) {
            uint256 expectedStake = Defaults.OPERATOR_MIN_STAKE - (fc.opMask >> j & 1 == 1 ? 0 : OP_SLASH);
            assertEq(_stake(ops[j]), expectedStake);
        }
        for (uint256 i; i < 5; ++i) {
            uint256 expectedStake = Defaults.VALIDATOR_MIN_STAKE - (fc.valState[i] == 2 ? 0 : VAL_SLASH);
            assertEq(_stake(vals[i]), expectedStake);
        }

        if (revealed < 3) {
            assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
            assertEq(manager.balanceOf(requester), fc.fee + slashed);
            return;
        }
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Finalized));
        (uint16[] memory consensus,) = _finalizedConsensus(logs);
        uint256[] memory expected = _referenceConsensus(fc);
        for (uint256 j; j < 3; ++j) {
            assertEq(consensus[j], expected[j], "consensus != reference");
            assertLe(consensus[j], 10_000);
        }
        _checkPayouts(fc, ops, vals, expected, slashed);
    }

    function _vector(FuzzCase memory fc, uint256 i) internal pure returns (uint16[] memory) {
        return _s3(fc.scores[3 * i], fc.scores[3 * i + 1], fc.scores[3 * i + 2]);
    }

    function _referenceConsensus(FuzzCase memory fc) internal pure returns (uint256[] memory c) {
        c = new uint256[](3);
        for (uint256 j; j < 3; ++j) {
            if (fc.opMask >> j & 1 == 0) continue;
            uint256 n;
            for (uint256 i; i < 5; ++i) {
                if (fc.valState[i] == 2) ++n;
            }
            uint256[] memory sample = new uint256[](n);
            n = 0;
            for (uint256 i; i < 5; ++i) {
                if (fc.valState[i] == 2) sample[n++] = fc.scores[3 * i + j];
            }
            c[j] = fc.trimmed ? _refTrimmedMean(sample) : _refMedian(sample);
        }
    }

    function _checkPayouts(
        FuzzCase memory fc,
        address[] memory ops,
        address[] memory vals,
        uint256[] memory c,
        uint256 slashed
    ) internal view {
        uint256 paid;
        uint256 scaledPool = fc.fee * 7000; // operator pool x BPS
        uint256 best = type(uint256).max;
        for (uint256 j; j < 3; ++j) {
            if (fc.opMask >> j & 1 == 1 && c[j] >= 2000 && (best == type(uint256).max || c[j] > c[best])) best = j;
        }
        for (uint256 j; j < 3; ++j) {
            uint256 expected;
            if (fc.opMask >> j & 1 == 1 && c[j] >= 2000) {
                if (!fc.wta) expected = scaledPool * c[j] / (3 * BPS_ * BPS_);
                else if (j == best) expected = scaledPool * c[j] / (BPS_ * BPS_);
            }
            assertEq(manager.balanceOf(ops[j]), expected, "operator pay");
            paid += expected;
        }
        bool[] memory agrees = new bool[](5);
        uint256 agreeing;
        for (uint256 i; i < 5; ++i) {
            if (fc.valState[i] != 2) continue;
            bool ok = true;
            for (uint256 j; j < 3; ++j) {
                if (fc.opMask >> j & 1 == 0) continue;
                uint256 s = fc.scores[3 * i + j];
                if ((s > c[j] ? s - c[j] : c[j] - s) > 1000) ok = false;
            }
            agrees[i] = ok;
            if (ok) ++agreeing;
        }
        for (uint256 i; i < 5; ++i) {
            uint256 expected = agrees[i] ? fc.fee * 2500 / BPS_ / agreeing : 0;
            assertEq(manager.balanceOf(vals[i]), expected, "validator pay");
            paid += expected;
        }
        paid += fc.fee * 500 / BPS_;
        assertEq(manager.balanceOf(treasury), fc.fee * 500 / BPS_);
        assertEq(manager.balanceOf(requester), fc.fee - paid + slashed, "requester rest");
    }

    /// @dev Each step happens at a random later time and either succeeds or fails with the `PhaseClosed`
    /// the deadlines predict; the task then settles with the escrow intact.
    function testFuzz_lifecycleTiming(uint256 t1, uint256 t2, uint256 t3, uint256 t4) public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256 t0 = vm.getBlockTimestamp();
        uint256[4] memory d = manager.deadlines(taskId);
        t1 = t0 + bound(t1, 0, 300);
        t2 = bound(t2, t1, t1 + 200);
        t3 = bound(t3, t2, t2 + 300);
        t4 = bound(t4, t3, t3 + 200);

        vm.warp(t1);
        bool committed = t1 < d[0];
        bytes32 c = _outputCommitment(taskId, ops[0], OUTPUT, _salt(ops[0]));
        if (!committed) vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, t0, d[0]));
        vm.prank(ops[0]);
        manager.commitOutput(taskId, c);

        bool revealed;
        if (committed) {
            vm.warp(t2);
            revealed = t2 < d[1];
            if (!revealed) {
                vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
            }
            _revealOutput(taskId, ops[0], OUTPUT);
        }

        bool scored;
        if (revealed) {
            vm.warp(t3);
            scored = t3 < d[2];
            for (uint256 i; i < 3; ++i) {
                if (!scored) {
                    vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
                }
                _commitScores(taskId, vals[i], _scores1(7000));
            }
        }

        bool scoresRevealed;
        if (scored) {
            vm.warp(t4);
            scoresRevealed = t4 < d[3];
            for (uint256 i; i < 3; ++i) {
                if (!scoresRevealed) {
                    vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[2], d[3]));
                }
                _revealScores(taskId, vals[i], _scores1(7000));
            }
        }

        if (vm.getBlockTimestamp() < d[3]) vm.warp(d[3]);
        manager.finalize(taskId, ops, vals);
        ITaskManager.Status expected = scoresRevealed ? ITaskManager.Status.Finalized : ITaskManager.Status.Refunded;
        assertEq(uint256(_status(taskId)), uint256(expected));
        if (scoresRevealed) assertEq(manager.balanceOf(ops[0]), 0.49 ether);
        _assertSolvent();
    }
}

// ═══════════════════════════════════ withdraw ═══════════════════════════════════

/// @dev A requester contract that refuses ETH.
contract RejectingRequester {
    function submit(TaskManager manager, bytes32 model, bytes32 evaluator, bytes calldata prompt)
        external
        payable
        returns (uint256)
    {
        ITaskManager.SamplingParams memory s;
        return manager.submitTask{value: msg.value}(model, evaluator, prompt, s);
    }

    function withdraw(TaskManager manager) external {
        manager.withdraw();
    }
}

contract TaskManagerWithdrawTest is TaskManagerTestBase {
    function test_withdraw_paysEveryActorAndEmits() public {
        (, address[] memory ops, address[] memory vals) = _runK1(FEE, 8000, 8200, 7900);
        address[] memory accounts = new address[](6);
        (accounts[0], accounts[1], accounts[2], accounts[3], accounts[4], accounts[5]) =
        (ops[0], vals[0], vals[1], vals[2], treasury, requester);
        for (uint256 i; i < accounts.length; ++i) {
            uint256 credited = manager.balanceOf(accounts[i]);
            assertGt(credited, 0);
            uint256 before = accounts[i].balance;
            vm.expectEmit(address(manager));
            emit ITaskManager.Withdrawn(accounts[i], credited);
            vm.prank(accounts[i]);
            manager.withdraw();
            assertEq(accounts[i].balance, before + credited);
            assertEq(manager.balanceOf(accounts[i]), 0);
            _assertSolvent();
        }
        assertEq(address(manager).balance, 0);
    }

    function test_withdraw_revertsWithNothingCredited() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        manager.withdraw();
    }

    function test_withdraw_revertsTheSecondTime() public {
        _runK1(FEE, 8000, 8000, 8000);
        vm.prank(requester);
        manager.withdraw();
        uint256 after1 = requester.balance;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NothingToWithdraw.selector, requester));
        vm.prank(requester);
        manager.withdraw();
        assertEq(requester.balance, after1);
        _assertSolvent();
    }

    function test_withdraw_creditsAccumulateAcrossTasks() public {
        _runK1(FEE, 8000, 8000, 8000);
        _runK1(2 ether, 5000, 5000, 5000);
        uint256 expected = 0.56 ether + 0.7 ether;
        assertEq(manager.balanceOf(operators[0]), expected);
        uint256 before = operators[0].balance;
        vm.prank(operators[0]);
        manager.withdraw();
        assertEq(operators[0].balance, before + expected);
        _assertSolvent();
    }

    function test_withdraw_revertsWhenRecipientRejects_creditKept() public {
        RejectingRequester rejecting = new RejectingRequester();
        extraActors.push(address(rejecting));
        vm.deal(address(this), FEE);
        uint256 taskId = rejecting.submit{value: FEE}(manager, MODEL, EVALUATOR, PROMPT);
        vm.roll(vm.getBlockNumber() + 257);
        manager.refund(taskId);
        assertEq(manager.balanceOf(address(rejecting)), FEE);
        vm.expectRevert(Errors.FailedCall.selector);
        rejecting.withdraw(manager);
        assertEq(manager.balanceOf(address(rejecting)), FEE);
        _assertSolvent();
    }

    function test_receive_rejectsPlainEther() public {
        address[3] memory senders = [stranger, owner, requester];
        for (uint256 i; i < senders.length; ++i) {
            vm.deal(senders[i], 1 ether);
            vm.prank(senders[i]);
            (bool ok, bytes memory ret) = address(manager).call{value: 1 wei}("");
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(ITaskManager.UnexpectedEther.selector, senders[i]));
        }
        // Unknown calldata with value finds no fallback either.
        vm.prank(stranger);
        (bool ok2,) = address(manager).call{value: 1 wei}(hex"deadbeef");
        assertFalse(ok2);
        assertEq(address(manager).balance, 0);
        _assertSolvent();
    }

    function test_receive_acceptsTheRegistry() public {
        vm.deal(address(registry), address(registry).balance + 1 wei);
        vm.prank(address(registry));
        (bool ok,) = address(manager).call{value: 1 wei}("");
        assertTrue(ok);
        assertEq(address(manager).balance, 1 wei);
    }
}

// ═══════════════════════════════════ owner ═══════════════════════════════════

contract TaskManagerOwnerTest is TaskManagerTestBase {
    function _expectInvalid(ITaskManager.Params memory p, string memory field) internal {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidParams.selector, field));
        vm.prank(owner);
        manager.setParams(p);
    }

    function test_constructor_storesAndEmits() public {
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        NodeRegistry reg = new NodeRegistry(
            owner, predicted, Defaults.OPERATOR_MIN_STAKE, Defaults.VALIDATOR_MIN_STAKE, Defaults.UNBONDING_DELAY
        );
        ITaskManager.Params memory p = _params();
        vm.expectEmit(predicted);
        emit ITaskManager.TreasurySet(treasury);
        vm.expectEmit(predicted);
        emit ITaskManager.ParamsUpdated(1, p);
        TaskManager tm = new TaskManager(owner, reg, treasury, p);
        assertEq(address(tm), predicted);
        assertEq(tm.owner(), owner);
        assertEq(address(tm.registry()), address(reg));
        assertEq(tm.treasury(), treasury);
        assertEq(tm.paramsVersion(), 1);
        assertEq(tm.nextTaskId(), 1);
        assertEq(abi.encode(tm.params(1)), abi.encode(p));
        assertFalse(tm.paused());
    }

    function test_constructor_revertsOnRegistryMismatch() public {
        NodeRegistry reg = new NodeRegistry(
            owner, address(0xBEEF), Defaults.OPERATOR_MIN_STAKE, Defaults.VALIDATOR_MIN_STAKE, Defaults.UNBONDING_DELAY
        );
        ITaskManager.Params memory p = _params();
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.RegistryMismatch.selector, address(reg)));
        new TaskManager(owner, reg, treasury, p);
    }

    function test_constructor_revertsOnInvalidParams() public {
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        NodeRegistry reg = new NodeRegistry(
            owner, predicted, Defaults.OPERATOR_MIN_STAKE, Defaults.VALIDATOR_MIN_STAKE, Defaults.UNBONDING_DELAY
        );
        ITaskManager.Params memory p = _params();
        p.quorum = 4;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidParams.selector, "quorum"));
        new TaskManager(owner, reg, treasury, p);
    }

    function test_constructor_revertsOnZeroOwner() public {
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        NodeRegistry reg = new NodeRegistry(
            owner, predicted, Defaults.OPERATOR_MIN_STAKE, Defaults.VALIDATOR_MIN_STAKE, Defaults.UNBONDING_DELAY
        );
        ITaskManager.Params memory p = _params();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new TaskManager(address(0), reg, treasury, p);
    }

    function test_setParams_storesNewVersionAndEmits() public {
        ITaskManager.Params memory p = _params();
        p.operatorShareBps = 6000;
        p.scoreRevealWindow = 90;
        vm.expectEmit(address(manager));
        emit ITaskManager.ParamsUpdated(2, p);
        vm.prank(owner);
        manager.setParams(p);
        assertEq(manager.paramsVersion(), 2);
        assertEq(abi.encode(manager.params(2)), abi.encode(p));
        assertEq(abi.encode(manager.params(1)), abi.encode(_params()));
    }

    function test_setParams_acceptsUpperBounds() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 15;
        p.numValidators = 32;
        p.quorum = 32;
        p.outputCommitWindow = 6 hours;
        p.outputRevealWindow = 6 hours;
        p.scoreCommitWindow = 6 hours;
        p.scoreRevealWindow = 6 hours;
        p.treasuryShareBps = 2000;
        p.operatorShareBps = 6000;
        p.validatorShareBps = 2000;
        p.toleranceBps = 10_000;
        p.qualityFloorBps = 10_000;
        p.operatorSlash = uint96(Defaults.OPERATOR_MIN_STAKE);
        p.validatorSlash = uint96(Defaults.VALIDATOR_MIN_STAKE);
        p.maxPromptBytes = 64 * 1024;
        p.maxOutputBytes = 64 * 1024;
        vm.prank(owner);
        manager.setParams(p);
        assertEq(abi.encode(manager.params(2)), abi.encode(p));
    }

    function test_setParams_acceptsLowerBounds() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 1;
        p.numValidators = 1;
        p.quorum = 1;
        p.outputCommitWindow = 5;
        p.outputRevealWindow = 5;
        p.scoreCommitWindow = 5;
        p.scoreRevealWindow = 5;
        p.treasuryShareBps = 0;
        p.operatorShareBps = 0;
        p.validatorShareBps = 0;
        p.toleranceBps = 0;
        p.qualityFloorBps = 0;
        p.operatorSlash = 1;
        p.validatorSlash = 1;
        p.maxPromptBytes = 1;
        p.maxOutputBytes = 1;
        vm.prank(owner);
        manager.setParams(p);
        assertEq(abi.encode(manager.params(2)), abi.encode(p));
    }

    function test_setParams_revertsOnNumOperators() public {
        ITaskManager.Params memory p = _params();
        p.numOperators = 0;
        _expectInvalid(p, "numOperators");
        p.numOperators = 16;
        _expectInvalid(p, "numOperators");
    }

    function test_setParams_revertsOnNumValidators() public {
        ITaskManager.Params memory p = _params();
        p.numValidators = 0;
        _expectInvalid(p, "numValidators");
        p.numValidators = 33;
        p.quorum = 2;
        _expectInvalid(p, "numValidators");
    }

    function test_setParams_revertsOnQuorum() public {
        ITaskManager.Params memory p = _params();
        p.quorum = 0;
        _expectInvalid(p, "quorum");
        p.quorum = 4; // > numValidators (3)
        _expectInvalid(p, "quorum");
    }

    function test_setParams_revertsOnEachWindow() public {
        for (uint256 w; w < 4; ++w) {
            uint32[2] memory bad = [uint32(4), uint32(6 hours + 1)];
            for (uint256 k; k < 2; ++k) {
                ITaskManager.Params memory p = _params();
                if (w == 0) p.outputCommitWindow = bad[k];
                if (w == 1) p.outputRevealWindow = bad[k];
                if (w == 2) p.scoreCommitWindow = bad[k];
                if (w == 3) p.scoreRevealWindow = bad[k];
                _expectInvalid(p, "window");
            }
        }
    }

    function test_setParams_revertsOnTreasuryShare() public {
        ITaskManager.Params memory p = _params();
        p.operatorShareBps = 1000;
        p.validatorShareBps = 1000;
        p.treasuryShareBps = 2001;
        _expectInvalid(p, "treasuryShareBps");
    }

    function test_setParams_revertsOnSharesOverBps() public {
        ITaskManager.Params memory p = _params();
        p.operatorShareBps = 7001; // 7001 + 2500 + 500
        _expectInvalid(p, "shares");
        p = _params();
        p.operatorShareBps = type(uint16).max;
        _expectInvalid(p, "shares");
    }

    function test_setParams_revertsOnTolerance() public {
        ITaskManager.Params memory p = _params();
        p.toleranceBps = 10_001;
        _expectInvalid(p, "toleranceBps");
    }

    function test_setParams_revertsOnQualityFloor() public {
        ITaskManager.Params memory p = _params();
        p.qualityFloorBps = 10_001;
        _expectInvalid(p, "qualityFloorBps");
    }

    function test_setParams_revertsOnOperatorSlash() public {
        ITaskManager.Params memory p = _params();
        p.operatorSlash = 0;
        _expectInvalid(p, "operatorSlash");
        p.operatorSlash = uint96(Defaults.OPERATOR_MIN_STAKE + 1);
        _expectInvalid(p, "operatorSlash");
    }

    function test_setParams_revertsOnValidatorSlash() public {
        ITaskManager.Params memory p = _params();
        p.validatorSlash = 0;
        _expectInvalid(p, "validatorSlash");
        p.validatorSlash = uint96(Defaults.VALIDATOR_MIN_STAKE + 1);
        _expectInvalid(p, "validatorSlash");
    }

    function test_setParams_revertsOnMaxPromptBytes() public {
        ITaskManager.Params memory p = _params();
        p.maxPromptBytes = 0;
        _expectInvalid(p, "maxPromptBytes");
        p.maxPromptBytes = 64 * 1024 + 1;
        _expectInvalid(p, "maxPromptBytes");
    }

    function test_setParams_revertsOnMaxOutputBytes() public {
        ITaskManager.Params memory p = _params();
        p.maxOutputBytes = 0;
        _expectInvalid(p, "maxOutputBytes");
        p.maxOutputBytes = 64 * 1024 + 1;
        _expectInvalid(p, "maxOutputBytes");
        assertEq(manager.paramsVersion(), 1);
    }

    function test_setParams_openTaskKeepsItsVersion() public {
        (uint256 oldTask, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256 selectedAt = vm.getBlockTimestamp();
        ITaskManager.Params memory p = _params();
        p.operatorShareBps = 5000;
        p.outputCommitWindow = 600;
        vm.prank(owner);
        manager.setParams(p);
        (uint256 newTask,,) = _submitSelect(FEE);
        assertEq(manager.getTask(oldTask).paramsVersion, 1);
        assertEq(manager.getTask(newTask).paramsVersion, 2);
        assertEq(manager.deadlines(oldTask)[0], selectedAt + 180);
        assertEq(manager.deadlines(newTask)[0], vm.getBlockTimestamp() + 600);

        _allOutputs(oldTask, ops);
        _allScores(oldTask, vals, _k1(8000, 8000, 8000));
        manager.finalize(oldTask, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.56 ether); // 70 % of v1
        _allOutputs(newTask, ops);
        _allScores(newTask, vals, _k1(8000, 8000, 8000));
        manager.finalize(newTask, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.56 ether + 0.4 ether); // 50 % of v2
        _assertSolvent();
    }

    function test_setParams_newCommitteeSizeAppliesOnlyToNewTasks() public {
        uint256 oldTask = _submit(FEE);
        ITaskManager.Params memory p = _params();
        p.numOperators = 2;
        vm.prank(owner);
        manager.setParams(p);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotEnoughNodes.selector, MODEL, 1, 2));
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, EVALUATOR, PROMPT, _sampling());
        // The v1 task still draws one operator and settles.
        (address[] memory ops, address[] memory vals) = _selectNext(oldTask);
        assertEq(ops.length, 1);
        _allOutputs(oldTask, ops);
        _allScores(oldTask, vals, _k1(8000, 8000, 8000));
        manager.finalize(oldTask, ops, vals);
        assertEq(uint256(_status(oldTask)), uint256(ITaskManager.Status.Finalized));
        _assertSolvent();
    }

    function test_setModelMinFee_setsAndEmits() public {
        bytes32 model = keccak256("another-model");
        vm.expectEmit(address(manager));
        emit ITaskManager.ModelMinFeeSet(model, 0.5 ether);
        vm.prank(owner);
        manager.setModelMinFee(model, 0.5 ether);
        assertEq(manager.minFeeOf(model), 0.5 ether);
        vm.expectEmit(address(manager));
        emit ITaskManager.ModelMinFeeSet(model, 0);
        vm.prank(owner);
        manager.setModelMinFee(model, 0);
        assertEq(manager.minFeeOf(model), 0);
    }

    function test_setModelMinFee_raisedMinimumAppliesToNewSubmissions() public {
        vm.prank(owner);
        manager.setModelMinFee(MODEL, 2 ether);
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeBelowMinimum.selector, FEE, 2 ether));
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, EVALUATOR, PROMPT, _sampling());
    }

    function test_setTreasury_setsAndEmits() public {
        address next = makeAddr("nextTreasury");
        extraActors.push(next);
        vm.expectEmit(address(manager));
        emit ITaskManager.TreasurySet(next);
        vm.prank(owner);
        manager.setTreasury(next);
        assertEq(manager.treasury(), next);
        _runK1(FEE, 8000, 8000, 8000);
        assertEq(manager.balanceOf(next), 0.05 ether);
        assertEq(manager.balanceOf(treasury), 0);
        _assertSolvent();
    }

    function test_pauseAndUnpause_emitAndToggle() public {
        vm.expectEmit(address(manager));
        emit Pausable.Paused(owner);
        vm.prank(owner);
        manager.pause();
        assertTrue(manager.paused());
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(owner);
        manager.pause();

        vm.expectEmit(address(manager));
        emit Pausable.Unpaused(owner);
        vm.prank(owner);
        manager.unpause();
        assertFalse(manager.paused());
        vm.expectRevert(Pausable.ExpectedPause.selector);
        vm.prank(owner);
        manager.unpause();
    }

    function test_ownerFunctions_revertForOthers() public {
        bytes memory err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        ITaskManager.Params memory p = _params();
        vm.startPrank(stranger);
        vm.expectRevert(err);
        manager.setParams(p);
        vm.expectRevert(err);
        manager.setModelMinFee(MODEL, 1);
        vm.expectRevert(err);
        manager.setTreasury(stranger);
        vm.expectRevert(err);
        manager.pause();
        vm.expectRevert(err);
        manager.unpause();
        vm.expectRevert(err);
        manager.transferOwnership(stranger);
        vm.expectRevert(err);
        manager.renounceOwnership();
        vm.stopPrank();
        // Even a requester, an operator or a validator has no say.
        address[3] memory others = [requester, operators[0], validators[0]];
        for (uint256 i; i < others.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, others[i]));
            vm.prank(others[i]);
            manager.setTreasury(others[i]);
        }
        assertEq(manager.treasury(), treasury);
        assertEq(manager.paramsVersion(), 1);
    }

    function test_ownership_twoStepTransfer() public {
        address next = makeAddr("nextOwner");
        vm.prank(owner);
        manager.transferOwnership(next);
        assertEq(manager.owner(), owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        manager.acceptOwnership();
        vm.prank(next);
        manager.acceptOwnership();
        assertEq(manager.owner(), next);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        manager.pause();
        vm.prank(next);
        manager.pause();
        assertTrue(manager.paused());
    }

    function test_owner_cannotTouchEscrowOrCredits() public {
        // The owner has no path to the escrow: after every owner action the task still pays as agreed.
        uint256 taskId = _submit(FEE);
        vm.startPrank(owner);
        manager.pause();
        manager.setTreasury(owner);
        manager.setModelMinFee(MODEL, 0);
        manager.setParams(_params());
        vm.stopPrank();
        (address[] memory ops, address[] memory vals) = _selectNext(taskId);
        _allOutputs(taskId, ops);
        _allScores(taskId, vals, _k1(8000, 8000, 8000));
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(ops[0]), 0.56 ether);
        // The treasury cut follows the treasury at finalization time.
        assertEq(manager.balanceOf(owner), 0.05 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        manager.withdraw();
        _assertSolvent();
    }
}
