// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {Defaults} from "../script/Defaults.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../src/interfaces/ITaskManager.sol";
import {Commitments} from "../src/libraries/Commitments.sol";
import {TaskManagerTestBase} from "./TaskManager.t.sol";

/// @dev A requester whose `receive` re-enters `withdraw` once.
contract ReentrantRequester {
    TaskManager internal immutable manager;
    bool internal immutable swallow;
    uint256 public reentries;
    uint256 public received;
    bytes public reentryError;

    constructor(TaskManager manager_, bool swallow_) {
        manager = manager_;
        swallow = swallow_;
    }

    function submit(bytes32 model, bytes32 evaluator, bytes calldata prompt) external payable returns (uint256) {
        ITaskManager.SamplingParams memory s;
        return manager.submitTask{value: msg.value}(model, evaluator, prompt, s);
    }

    function withdraw() external {
        manager.withdraw();
    }

    receive() external payable {
        received += msg.value;
        if (reentries == 0) {
            ++reentries;
            if (swallow) {
                try manager.withdraw() {}
                catch (bytes memory err) {
                    reentryError = err;
                }
            } else {
                manager.withdraw();
            }
        }
    }
}

/// @notice One test per attack from the design's "Attacks the design must answer", named for what it proves.
contract AttacksTest is TaskManagerTestBase {
    function _deployWith(uint8 k, uint8 m, uint8 quorum) internal {
        ITaskManager.Params memory p = _params();
        p.numOperators = k;
        p.numValidators = m;
        p.quorum = quorum;
        _deploy(p);
    }

    function _topUp(address node, uint256 minimum) internal {
        uint256 stake = _stake(node);
        if (stake >= minimum) return;
        vm.prank(node);
        registry.addStake{value: minimum - stake}();
    }

    function _wealth(address node) internal view returns (uint256) {
        return manager.balanceOf(node) + _stake(node);
    }

    // ───────────────────────────── Copying ─────────────────────────────

    function test_copiedCommitment_cannotBeRevealedByTheCopier() public {
        _deployWith(2, 3, 2);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        (address honest, address copier) = (ops[0], ops[1]);
        bytes32 honestCommitment = _outputCommitment(taskId, honest, OUTPUT, _salt(honest));
        vm.prank(honest);
        manager.commitOutput(taskId, honestCommitment);
        // The copier lifts the commitment from the OutputCommitted event...
        vm.prank(copier);
        manager.commitOutput(taskId, honestCommitment);
        _revealOutput(taskId, honest, OUTPUT);
        // ... and then the output and salt from the OutputRevealed transaction: the sender is bound in.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, copier));
        vm.prank(copier);
        manager.revealOutput(taskId, OUTPUT, _salt(honest));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, copier));
        vm.prank(copier);
        manager.revealOutput(taskId, OUTPUT, _salt(copier));

        // The copier ends slashed and unpaid; the honest operator is paid.
        vm.warp(manager.deadlines(taskId)[1]);
        uint16[][] memory s = new uint16[][](3);
        for (uint256 i; i < 3; ++i) {
            s[i] = _fill(2, 8000);
        }
        _allScores(taskId, vals, s);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(copier), 0);
        assertEq(_stake(copier), Defaults.OPERATOR_MIN_STAKE - OP_SLASH);
        assertEq(manager.balanceOf(honest), 0.28 ether); // 0.7 / 2 * 0.8
        _assertSolvent();
    }

    function test_commitmentFromAnotherChain_doesNotReveal() public {
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        address op = ops[0];
        // Literal ids: under via-ir a `block.chainid` read may be re-evaluated after `vm.chainId`.
        uint256 here = 31_337;
        uint256 there = 10;
        assertEq(block.chainid, here);
        bytes32 salt = _salt(op);
        bytes32 forHere = Commitments.commitment(here, address(manager), taskId, op, keccak256(OUTPUT), salt);
        bytes32 forThere = Commitments.commitment(there, address(manager), taskId, op, keccak256(OUTPUT), salt);
        assertTrue(forHere != forThere);

        // A commitment made on this chain is replayed on a fork at the same addresses.
        vm.prank(op);
        manager.commitOutput(taskId, forHere);
        vm.chainId(there);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, op));
        vm.prank(op);
        manager.revealOutput(taskId, OUTPUT, salt);

        // The commitment built for that chain does reveal there.
        (uint256 taskId2, address[] memory ops2,) = _submitSelect(FEE);
        bytes32 forThere2 = Commitments.commitment(there, address(manager), taskId2, op, keccak256(OUTPUT), salt);
        vm.prank(ops2[0]);
        manager.commitOutput(taskId2, forThere2);
        _revealOutput(taskId2, op, OUTPUT);
        assertEq(manager.getTask(taskId2).outputsRevealed, 1);
    }

    function test_commitmentFromAnotherDeployment_doesNotReveal() public {
        TaskManager first = manager;
        (uint256 firstTask, address[] memory ops,) = _submitSelect(FEE);
        address op = ops[0];
        bytes32 salt = _salt(op);
        bytes32 c = _outputCommitment(firstTask, op, OUTPUT, salt);
        vm.prank(op);
        first.commitOutput(firstTask, c);

        // A second deployment with the same nodes and the same task id.
        _deploy(_params());
        assertTrue(address(manager) != address(first));
        (uint256 secondTask,,) = _submitSelect(FEE);
        assertEq(secondTask, firstTask);
        vm.prank(op);
        manager.commitOutput(secondTask, c); // replayed
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, secondTask, op));
        vm.prank(op);
        manager.revealOutput(secondTask, OUTPUT, salt);

        // It still opens where it was made.
        vm.prank(op);
        first.revealOutput(firstTask, OUTPUT, salt);
        assertEq(first.getTask(firstTask).outputsRevealed, 1);
    }

    function test_revealNotMatchingCommitment_isRejected() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        address op = ops[0];
        _commitOut(taskId, op, "a lazy answer");
        // A better output found after committing cannot be swapped in.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, op));
        vm.prank(op);
        manager.revealOutput(taskId, OUTPUT, _salt(op));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, op));
        vm.prank(op);
        manager.revealOutput(taskId, "a lazy answer", keccak256("another salt"));
        _revealOutput(taskId, op, "a lazy answer");

        // Same for scores: a validator cannot change its mind after committing.
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(6000));
        }
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(9000), _salt(vals[0]));
    }

    function test_doubleReveal_isRejectedAndCountedOnce() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotCommitted.selector, taskId, ops[0]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[0]));
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(8000));
        }
        _revealScores(taskId, vals[0], _scores1(8000));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotCommitted.selector, taskId, vals[0]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[0]));
        ITaskManager.Task memory t = manager.getTask(taskId);
        assertEq(t.outputsRevealed, 1);
        assertEq(t.scoresRevealed, 1);
    }

    function test_revealAfterDeadline_isRejectedAndTheLateNodeSlashed() public {
        // A late operator.
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[1]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[0]));
        manager.finalize(taskId, ops, vals);
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE - OP_SLASH);

        // One slash takes a minimum-stake node out of the pools: top the committee up to go on.
        _topUp(ops[0], Defaults.OPERATOR_MIN_STAKE);
        for (uint256 i; i < vals.length; ++i) {
            _topUp(vals[i], Defaults.VALIDATOR_MIN_STAKE);
        }

        // A late validator.
        (uint256 taskId2, address[] memory ops2, address[] memory vals2) = _submitSelect(FEE);
        _allOutputs(taskId2, ops2);
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId2, vals2[i], _scores1(8000));
        }
        _revealScores(taskId2, vals2[0], _scores1(8000));
        _revealScores(taskId2, vals2[1], _scores1(8000));
        uint256[4] memory d2 = manager.deadlines(taskId2);
        vm.warp(d2[3]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId2, d2[2], d2[3]));
        vm.prank(vals2[2]);
        manager.revealScores(taskId2, _scores1(8000), _salt(vals2[2]));
        uint256 before = _stake(vals2[2]);
        manager.finalize(taskId2, ops2, vals2);
        assertEq(_stake(vals2[2]), before - VAL_SLASH);
        assertEq(manager.balanceOf(vals2[2]), 0);
        _assertSolvent();
    }

    function test_unselectedNode_cannotCommitOrReveal() public {
        address outsiderOp = _register("outsiderOperator", INodeRegistry.Role.Operator, MODEL);
        address outsiderVal = _register("outsiderValidator", INodeRegistry.Role.Validator, EVALUATOR);
        extraActors.push(outsiderOp);
        extraActors.push(outsiderVal);
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        address op = ops[0];
        address unselectedOp = op == outsiderOp ? operators[0] : outsiderOp;
        address unselectedVal = outsiderVal;
        for (uint256 i; i < validators.length; ++i) {
            bool inCommittee;
            for (uint256 j; j < vals.length; ++j) {
                if (vals[j] == validators[i]) inCommittee = true;
            }
            if (!inCommittee) unselectedVal = validators[i];
        }

        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, unselectedOp));
        vm.prank(unselectedOp);
        manager.commitOutput(taskId, _outputCommitment(taskId, unselectedOp, OUTPUT, _salt(unselectedOp)));
        _commitOut(taskId, op, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, unselectedOp));
        vm.prank(unselectedOp);
        manager.revealOutput(taskId, OUTPUT, _salt(unselectedOp));
        _revealOutput(taskId, op, OUTPUT);

        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, unselectedVal));
        vm.prank(unselectedVal);
        manager.commitScores(taskId, _scoresCommitment(taskId, unselectedVal, _scores1(1), _salt(unselectedVal)));
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(8000));
        }
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotSelected.selector, taskId, unselectedVal));
        vm.prank(unselectedVal);
        manager.revealScores(taskId, _scores1(1), _salt(unselectedVal));
        // Nor can it slip into the committee lists at finalization.
        for (uint256 i; i < 3; ++i) {
            _revealScores(taskId, vals[i], _scores1(8000));
        }
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitteeMismatch.selector, taskId));
        manager.finalize(taskId, _addrs(unselectedOp), vals);
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(unselectedOp), 0);
        assertEq(manager.balanceOf(unselectedVal), 0);
        _assertSolvent();
    }

    // ───────────────────────────── Timing ─────────────────────────────

    function test_earlyFinalize_cannotCutOffAPendingReveal() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(8000));
        }
        _revealScores(taskId, vals[0], _scores1(8000));
        _revealScores(taskId, vals[1], _scores1(8000));
        // Quorum is met, but vals[2] may still reveal: nobody can settle before it could have.
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[3] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]));
        vm.prank(stranger);
        manager.finalize(taskId, ops, vals);
        _revealScores(taskId, vals[2], _scores1(8000));
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(vals[2]), uint256(0.25 ether) / 3);
        assertEq(_stake(vals[2]), Defaults.VALIDATOR_MIN_STAKE);
    }

    function test_earlyFinalize_cannotCutOffAPendingOutput() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[1] - 1);
        // A requester hoping for a refund (and the operator's slash) cannot settle while the output may come.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TooEarlyToFinalize.selector, taskId, d[3]));
        vm.prank(requester);
        manager.finalize(taskId, ops, vals);
        _revealOutput(taskId, ops[0], OUTPUT);
        assertEq(manager.getTask(taskId).outputsRevealed, 1);
    }

    // ───────────────────────────── Withdrawals ─────────────────────────────

    function test_doubleWithdraw_paysOnce() public {
        (, address[] memory ops,) = _runK1(FEE, 8000, 8000, 8000);
        uint256 credited = manager.balanceOf(ops[0]);
        uint256 before = ops[0].balance;
        vm.prank(ops[0]);
        manager.withdraw();
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NothingToWithdraw.selector, ops[0]));
        vm.prank(ops[0]);
        manager.withdraw();
        assertEq(ops[0].balance, before + credited);
        _assertSolvent();
    }

    function test_reentrantWithdraw_paysOnce() public {
        ReentrantRequester attacker = new ReentrantRequester(manager, true);
        extraActors.push(address(attacker));
        // Another requester's credit sits in the contract too: the attacker must not reach it.
        uint256 bystanderTask = _submit(FEE);
        vm.deal(address(this), FEE);
        uint256 taskId = attacker.submit{value: FEE}(MODEL, EVALUATOR, PROMPT);
        vm.roll(vm.getBlockNumber() + 257);
        manager.refund(taskId);
        manager.refund(bystanderTask);
        assertEq(manager.balanceOf(address(attacker)), FEE);
        assertEq(address(manager).balance, 2 * FEE);

        attacker.withdraw();
        assertEq(attacker.reentries(), 1);
        assertEq(attacker.reentryError(), abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector));
        assertEq(attacker.received(), FEE);
        assertEq(address(attacker).balance, FEE);
        assertEq(manager.balanceOf(address(attacker)), 0);
        assertEq(address(manager).balance, FEE);
        assertEq(manager.balanceOf(requester), FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NothingToWithdraw.selector, address(attacker)));
        attacker.withdraw();
        _assertSolvent();
    }

    function test_reentrantWithdraw_thatInsists_getsNothing() public {
        ReentrantRequester attacker = new ReentrantRequester(manager, false);
        extraActors.push(address(attacker));
        vm.deal(address(this), FEE);
        uint256 taskId = attacker.submit{value: FEE}(MODEL, EVALUATOR, PROMPT);
        vm.roll(vm.getBlockNumber() + 257);
        manager.refund(taskId);
        // The re-entry reverts, the revert bubbles up, and the whole withdrawal is undone.
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        attacker.withdraw();
        assertEq(address(attacker).balance, 0);
        assertEq(manager.balanceOf(address(attacker)), FEE);
        _assertSolvent();
    }

    // ───────────────────────────── Committee grinding ─────────────────────────────

    function test_requesterCannotPickCommittee_seedIsTheUnknownSubmissionBlockHash() public {
        for (uint256 i; i < 3; ++i) {
            _register(string.concat("poolOperator", vm.toString(i)), INodeRegistry.Role.Operator, MODEL);
        }
        for (uint256 i; i < 5; ++i) {
            _register(string.concat("poolValidator", vm.toString(i)), INodeRegistry.Role.Validator, EVALUATOR);
        }
        uint256 taskId = _submit(FEE);
        uint256 submitBlock = vm.getBlockNumber();
        // While the requester's transaction executes, its block's hash does not exist.
        assertEq(blockhash(submitBlock), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.SeedNotYetAvailable.selector, taskId, submitBlock));
        manager.selectCommittee(taskId);

        uint256 snapshot = vm.snapshotState();
        vm.setBlockhash(submitBlock, keccak256("hash A"));
        (address[] memory opsA, address[] memory valsA) = _selectNext(taskId);

        // Another hash for the same block, the same task and the same pools: another committee.
        bool differs;
        for (uint256 i; i < 16 && !differs; ++i) {
            vm.revertToState(snapshot);
            vm.setBlockhash(submitBlock, keccak256(abi.encode("hash B", i)));
            (address[] memory opsB, address[] memory valsB) = _selectNext(taskId);
            differs = keccak256(abi.encode(opsA, valsA)) != keccak256(abi.encode(opsB, valsB));
        }
        assertTrue(differs, "committee does not depend on the submission block's hash");

        // Whoever calls selectCommittee, and whenever in the window, cannot re-roll it.
        vm.revertToState(snapshot);
        vm.setBlockhash(submitBlock, keccak256("hash A"));
        vm.roll(submitBlock + 200);
        vm.prank(requester);
        (address[] memory opsC, address[] memory valsC) = _selectNext(taskId);
        assertEq(opsC, opsA);
        assertEq(valsC, valsA);
    }

    // ───────────────────────────── Free option of not revealing ─────────────────────────────

    /// @dev Runs the default task where vals[2] committed `theirScore`; it reveals or withholds after
    /// seeing the other two reveal 8000. Returns its final wealth (credit + remaining stake).
    function _playValidator(uint16 theirScore, bool reveal) internal returns (uint256 wealth, address v) {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        v = vals[2];
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(8000));
        _commitScores(taskId, vals[1], _scores1(8000));
        _commitScores(taskId, v, _scores1(theirScore));
        _revealScores(taskId, vals[0], _scores1(8000));
        _revealScores(taskId, vals[1], _scores1(8000));
        if (reveal) _revealScores(taskId, v, _scores1(theirScore));
        else vm.warp(manager.deadlines(taskId)[3]);
        manager.finalize(taskId, ops, vals);
        wealth = _wealth(v);
    }

    function test_withholdingValidator_endsStrictlyWorseThanRevealedOutlier() public {
        uint256 snapshot = vm.snapshotState();
        (uint256 honest,) = _playValidator(8000, true);
        vm.revertToState(snapshot);
        (uint256 outlier,) = _playValidator(3000, true);
        vm.revertToState(snapshot);
        (uint256 withholder,) = _playValidator(3000, false);

        uint256 stake = Defaults.VALIDATOR_MIN_STAKE;
        assertEq(honest, stake + uint256(0.25 ether) / 3);
        assertEq(outlier, stake); // earns nothing, loses nothing
        assertEq(withholder, stake - VAL_SLASH); // earns nothing, slashed
        assertLt(withholder, outlier);
        assertLt(outlier, honest);
    }

    function testFuzz_withholdingNeverBeatsRevealing(uint256 fee, uint256 a, uint256 b, uint256 committed) public {
        fee = bound(fee, Defaults.MODEL_MIN_FEE, 10_000 ether);
        uint16 sa = uint16(bound(a, 0, 10_000));
        uint16 sb = uint16(bound(b, 0, 10_000));
        uint16 sc = uint16(bound(committed, 0, 10_000));
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(fee);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(sa));
        _commitScores(taskId, vals[1], _scores1(sb));
        _commitScores(taskId, vals[2], _scores1(sc));
        _revealScores(taskId, vals[0], _scores1(sa));
        _revealScores(taskId, vals[1], _scores1(sb));

        uint256 snapshot = vm.snapshotState();
        _revealScores(taskId, vals[2], _scores1(sc));
        manager.finalize(taskId, ops, vals);
        uint256 revealing = _wealth(vals[2]);
        _assertSolvent();

        vm.revertToState(snapshot);
        vm.warp(manager.deadlines(taskId)[3]);
        manager.finalize(taskId, ops, vals);
        uint256 withholding = _wealth(vals[2]);
        _assertSolvent();

        assertEq(withholding, Defaults.VALIDATOR_MIN_STAKE - VAL_SLASH);
        assertGe(revealing, Defaults.VALIDATOR_MIN_STAKE);
        assertLt(withholding, revealing);
    }

    // ───────────────────────────── Griefing ─────────────────────────────

    function test_feeBelowModelMinimum_cannotOpenATask() public {
        uint256 min = Defaults.MODEL_MIN_FEE;
        vm.deal(requester, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeBelowMinimum.selector, min - 1, min));
        vm.prank(requester);
        manager.submitTask{value: min - 1}(MODEL, EVALUATOR, PROMPT, _sampling());
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FeeBelowMinimum.selector, 1, min));
        vm.prank(requester);
        manager.submitTask{value: 1}(MODEL, EVALUATOR, PROMPT, _sampling());
        // A model without a minimum is not served at all.
        bytes32 free = keccak256("free-model");
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownModel.selector, free));
        vm.prank(requester);
        manager.submitTask{value: 1 ether}(free, EVALUATOR, PROMPT, _sampling());
        assertEq(manager.nextTaskId(), 1);
    }

    function test_oversizePrompt_isRejected() public {
        uint256 max = _params().maxPromptBytes;
        vm.deal(requester, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PromptTooLarge.selector, max + 1, max));
        vm.prank(requester);
        manager.submitTask{value: 1 ether}(MODEL, EVALUATOR, new bytes(max + 1), _sampling());
        // Nor can the owner lift the working limit past the hard cap.
        ITaskManager.Params memory p = _params();
        p.maxPromptBytes = 64 * 1024 + 1;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidParams.selector, "maxPromptBytes"));
        vm.prank(owner);
        manager.setParams(p);
    }

    function test_oversizeOutput_isRejectedAndItsOperatorSlashed() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        uint256 max = _params().maxOutputBytes;
        bytes memory big = new bytes(max + 1);
        _commitOut(taskId, ops[0], big);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.OutputTooLarge.selector, max + 1, max));
        vm.prank(ops[0]);
        manager.revealOutput(taskId, big, _salt(ops[0]));
        vm.warp(manager.deadlines(taskId)[1]);
        manager.finalize(taskId, ops, vals);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
        assertEq(_stake(ops[0]), Defaults.OPERATOR_MIN_STAKE - OP_SLASH);
        ITaskManager.Params memory p = _params();
        p.maxOutputBytes = 64 * 1024 + 1;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidParams.selector, "maxOutputBytes"));
        vm.prank(owner);
        manager.setParams(p);
    }

    // ───────────────────────────── Copying revealed work ─────────────────────────────

    function test_operatorCannotCopyARevealedOutput() public {
        _deployWith(2, 3, 2);
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        (address honest, address copier) = (ops[0], ops[1]);
        uint256 selectedAt = manager.getTask(taskId).selectedAt;
        uint256[4] memory d = manager.deadlines(taskId);
        _commitOut(taskId, honest, OUTPUT);
        // While the copier may still commit, no output can be revealed.
        vm.warp(d[0] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[0], d[1]));
        vm.prank(honest);
        manager.revealOutput(taskId, OUTPUT, _salt(honest));
        // Once outputs can be revealed, commitments are closed.
        vm.warp(d[0]);
        _revealOutput(taskId, honest, OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, selectedAt, d[0]));
        vm.prank(copier);
        manager.commitOutput(taskId, _outputCommitment(taskId, copier, OUTPUT, _salt(copier)));
    }

    function test_operatorCannotCopyWhenAllCommittedEarly() public {
        _deployWith(2, 3, 2);
        (uint256 taskId, address[] memory ops,) = _submitSelect(FEE);
        _commitOut(taskId, ops[0], OUTPUT);
        _commitOut(taskId, ops[1], "placeholder");
        // Reveals open early because both are bound; the second cannot switch to the first's output.
        _revealOutput(taskId, ops[0], OUTPUT);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, ops[1]));
        vm.prank(ops[1]);
        manager.revealOutput(taskId, OUTPUT, _salt(ops[1]));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.AlreadyCommitted.selector, taskId, ops[1]));
        vm.prank(ops[1]);
        manager.commitOutput(taskId, _outputCommitment(taskId, ops[1], OUTPUT, _salt(ops[1])));
    }

    function test_validatorCannotCopyRevealedScores() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops);
        uint256[4] memory d = manager.deadlines(taskId);
        _commitScores(taskId, vals[0], _scores1(8000));
        _commitScores(taskId, vals[1], _scores1(8100));
        // While vals[2] may still commit, no score can be revealed.
        vm.warp(d[2] - 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[2], d[3]));
        vm.prank(vals[0]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[0]));
        // Once scores can be revealed, commitments are closed.
        vm.warp(d[2]);
        _revealScores(taskId, vals[0], _scores1(8000));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.PhaseClosed.selector, taskId, d[1], d[2]));
        vm.prank(vals[2]);
        manager.commitScores(taskId, _scoresCommitment(taskId, vals[2], _scores1(8000), _salt(vals[2])));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotCommitted.selector, taskId, vals[2]));
        vm.prank(vals[2]);
        manager.revealScores(taskId, _scores1(8000), _salt(vals[2]));
        // The would-be copier is slashed and earns nothing.
        _revealScores(taskId, vals[1], _scores1(8100));
        manager.finalize(taskId, ops, vals);
        assertEq(manager.balanceOf(vals[2]), 0);
        assertEq(_stake(vals[2]), Defaults.VALIDATOR_MIN_STAKE - VAL_SLASH);
        _assertSolvent();
    }

    // ───────────────────────────── Found issues ─────────────────────────────

    /// @dev Pools are keyed by service, and `selectCommittee` draws operators and validators independently: a
    /// node in both the model's and the evaluator's pool could be drawn into both committees of one task, its
    /// validator entry overwriting its operator entry, so that `finalize` reverted `CommitteeMismatch` forever
    /// and the fee stayed locked. Each service id is now bound to the role of the first node that uses it, so
    /// the model's pool holds only operators and the evaluator's only validators.
    function test_nodeCannotJoinBothCommittees() public {
        assertEq(uint256(registry.serviceRole(MODEL)), uint256(INodeRegistry.Role.Operator));
        assertEq(uint256(registry.serviceRole(EVALUATOR)), uint256(INodeRegistry.Role.Validator));
        address dual = makeAddr("dualNode");
        vm.deal(dual, 10 ether);
        bytes32[] memory services = new bytes32[](2);

        // An operator cannot register for the evaluator id...
        (services[0], services[1]) = (MODEL, EVALUATOR);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, EVALUATOR, INodeRegistry.Role.Validator)
        );
        vm.prank(dual);
        registry.register{value: Defaults.OPERATOR_MIN_STAKE}(INodeRegistry.Role.Operator, services);
        // ... nor a validator for the model id ...
        (services[0], services[1]) = (EVALUATOR, MODEL);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, MODEL, INodeRegistry.Role.Operator)
        );
        vm.prank(dual);
        registry.register{value: Defaults.VALIDATOR_MIN_STAKE}(INodeRegistry.Role.Validator, services);
        // ... and a registered operator cannot move into the evaluator's pool.
        (services[0], services[1]) = (MODEL, EVALUATOR);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, EVALUATOR, INodeRegistry.Role.Validator)
        );
        vm.prank(operators[0]);
        registry.setServices(services);
        assertEq(uint256(registry.nodeInfo(dual).role), uint256(INodeRegistry.Role.None));
        assertEq(registry.poolSize(MODEL), operators.length);
        assertEq(registry.poolSize(EVALUATOR), validators.length);

        // A requester cannot route around it by naming the model as the evaluator: the model's pool holds
        // operators, so it counts no validators at all, whatever its size.
        ITaskManager.Params memory p = _params();
        vm.deal(requester, FEE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotEnoughNodes.selector, MODEL, 0, p.numValidators));
        vm.prank(requester);
        manager.submitTask{value: FEE}(MODEL, MODEL, PROMPT, _sampling());
        assertEq(manager.nextTaskId(), 1);

        // Registered for the model alone, the node is drawn as an operator only, and every task settles.
        bytes32[] memory modelOnly = new bytes32[](1);
        modelOnly[0] = MODEL;
        vm.prank(dual);
        registry.register{value: Defaults.OPERATOR_MIN_STAKE}(INodeRegistry.Role.Operator, modelOnly);
        extraActors.push(dual);
        for (uint256 i; i < 8; ++i) {
            uint256 taskId = _submit(FEE);
            vm.setBlockhash(vm.getBlockNumber(), keccak256(abi.encode("dual", i)));
            (address[] memory ops, address[] memory vals) = _selectNext(taskId);
            for (uint256 j; j < vals.length; ++j) {
                assertTrue(vals[j] != dual, "an operator drawn as a validator");
                for (uint256 k; k < ops.length; ++k) {
                    assertTrue(vals[j] != ops[k], "a node in both committees");
                }
            }
            _allOutputs(taskId, ops);
            _allScores(taskId, vals, _k1(8000, 8000, 8000));
            manager.finalize(taskId, ops, vals);
            assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Finalized));
            _assertSolvent();
        }
    }

    /// @dev Documents a limit of the design (passes today): slashed stake is credited to the requester,
    /// so a requester colluding with enough validators to break quorum gets the (public) output, its
    /// whole fee back and the colluders' slashes; the coalition's net cost is zero and the honest operator
    /// is not paid.
    function test_limit_requesterColludingWithWithholdingValidatorsGetsOutputForFree() public {
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(FEE);
        _allOutputs(taskId, ops); // the output is now public in the OutputRevealed event
        for (uint256 i; i < 3; ++i) {
            _commitScores(taskId, vals[i], _scores1(9000));
        }
        _revealScores(taskId, vals[0], _scores1(9000));
        // vals[1] and vals[2] collude with the requester and withhold.
        vm.warp(manager.deadlines(taskId)[3]);
        manager.finalize(taskId, ops, vals);
        assertEq(uint256(_status(taskId)), uint256(ITaskManager.Status.Refunded));
        assertEq(manager.balanceOf(ops[0]), 0, "the operator did the work for nothing");
        assertEq(manager.balanceOf(requester), FEE + 2 * VAL_SLASH);
        // Coalition: the requester's gain over the fee equals the colluders' loss.
        uint256 colludersLoss = 2 * Defaults.VALIDATOR_MIN_STAKE - _stake(vals[1]) - _stake(vals[2]);
        assertEq(manager.balanceOf(requester) - FEE, colludersLoss);
        _assertSolvent();
    }

    /// @dev Documents a limit of the design (passes today): the non-reveal slash is a fixed amount while
    /// the value of withholding grows with the fee. A validator that committed a low score can, after
    /// seeing the other two reveals, withhold to move the median from below the floor to the floor and
    /// hand its operator 14 ETH for a 0.02 ETH slash.
    function test_limit_withholdingCanSwingConsensusForAFixedSlash() public {
        uint256 fee = 100 ether;
        (uint256 taskId, address[] memory ops, address[] memory vals) = _submitSelect(fee);
        _allOutputs(taskId, ops);
        _commitScores(taskId, vals[0], _scores1(2100));
        _commitScores(taskId, vals[1], _scores1(1900));
        _commitScores(taskId, vals[2], _scores1(0));
        _revealScores(taskId, vals[0], _scores1(2100));
        _revealScores(taskId, vals[1], _scores1(1900));

        uint256 snapshot = vm.snapshotState();
        _revealScores(taskId, vals[2], _scores1(0));
        manager.finalize(taskId, ops, vals);
        uint256 operatorIfRevealed = manager.balanceOf(ops[0]); // median 1900 < floor

        vm.revertToState(snapshot);
        vm.warp(manager.deadlines(taskId)[3]);
        manager.finalize(taskId, ops, vals);
        uint256 operatorIfWithheld = manager.balanceOf(ops[0]); // median (1900 + 2100) / 2 = 2000

        assertEq(operatorIfRevealed, 0);
        assertEq(operatorIfWithheld, 14 ether);
        assertEq(_stake(vals[2]), Defaults.VALIDATOR_MIN_STAKE - VAL_SLASH);
    }
}
