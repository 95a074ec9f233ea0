// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Test} from "forge-std/Test.sol";

import {Defaults} from "../../script/Defaults.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {TaskManager} from "../../src/TaskManager.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {Commitments} from "../../src/libraries/Commitments.sol";

/// @notice Shared deployment and actors for the poq contract tests.
abstract contract PoqTest is Test {
    bytes32 internal constant MODEL = keccak256("smollm2-135m-instruct-q4_1");
    bytes32 internal constant EVALUATOR = keccak256("poq-default-composite");
    bytes internal constant PROMPT = "Explain proof of quality in one sentence.";
    bytes internal constant OUTPUT = "Validators score the answer and the chain pays by that score.";

    NodeRegistry internal registry;
    TaskManager internal manager;

    address internal owner = makeAddr("owner");
    address internal treasury = makeAddr("treasury");
    address internal requester = makeAddr("requester");
    address[] internal operators;
    address[] internal validators;

    function setUp() public virtual {
        _deploy(Defaults.params());
    }

    /// @dev Deploys the contracts with `p` and registers K operators and M validators.
    function _deploy(ITaskManager.Params memory p) internal {
        _deployContracts(p);
        delete operators;
        delete validators;
        for (uint256 i; i < p.numOperators; ++i) {
            operators.push(_register(string.concat("operator", vm.toString(i)), INodeRegistry.Role.Operator, MODEL));
        }
        for (uint256 i; i < p.numValidators; ++i) {
            validators.push(
                _register(string.concat("validator", vm.toString(i)), INodeRegistry.Role.Validator, EVALUATOR)
            );
        }
    }

    /// @dev Deploys the registry and the task manager with `p` and enables `MODEL`; no nodes.
    function _deployContracts(ITaskManager.Params memory p) internal {
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        registry = new NodeRegistry(
            owner, predicted, Defaults.OPERATOR_MIN_STAKE, Defaults.VALIDATOR_MIN_STAKE, Defaults.UNBONDING_DELAY
        );
        manager = new TaskManager(owner, registry, treasury, p);
        vm.prank(owner);
        manager.setModelMinFee(MODEL, Defaults.MODEL_MIN_FEE);
    }

    function _register(string memory name, INodeRegistry.Role role, bytes32 service) internal returns (address node) {
        node = makeAddr(name);
        uint256 stake = role == INodeRegistry.Role.Operator ? Defaults.OPERATOR_MIN_STAKE : Defaults.VALIDATOR_MIN_STAKE;
        vm.deal(node, 10 ether);
        bytes32[] memory services = new bytes32[](1);
        services[0] = service;
        vm.prank(node);
        registry.register{value: stake}(role, services);
    }

    function _sampling() internal pure returns (ITaskManager.SamplingParams memory) {
        return ITaskManager.SamplingParams({
            maxTokens: 64, temperatureMilli: 0, topPBps: 0, topK: 0, repetitionPenaltyMilli: 1000, seed: 7
        });
    }

    function _submit(uint256 fee) internal returns (uint256 taskId) {
        vm.deal(requester, requester.balance + fee);
        vm.prank(requester);
        taskId = manager.submitTask{value: fee}(MODEL, EVALUATOR, PROMPT, _sampling());
    }

    /// @dev Rolls past the submission block and draws the committee; returns it in committee order.
    function _select(uint256 taskId) internal returns (address[] memory ops, address[] memory vals) {
        vm.roll(vm.getBlockNumber() + 1); // not block.number: via-ir may reuse a value read before an earlier roll
        vm.recordLogs();
        manager.selectCommittee(taskId);
        (ops, vals,) = abi.decode(vm.getRecordedLogs()[0].data, (address[], address[], uint256[4]));
    }

    function _outputCommitment(uint256 taskId, address node, bytes memory output, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return Commitments.commitment(block.chainid, address(manager), taskId, node, keccak256(output), salt);
    }

    function _scoresCommitment(uint256 taskId, address node, uint16[] memory scores, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return
            Commitments.commitment(block.chainid, address(manager), taskId, node, keccak256(abi.encode(scores)), salt);
    }

    function _salt(address node) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", node));
    }

    function _commitAndRevealOutput(uint256 taskId, address op, bytes memory output) internal {
        vm.prank(op);
        manager.commitOutput(taskId, _outputCommitment(taskId, op, output, _salt(op)));
    }

    function _revealOutput(uint256 taskId, address op, bytes memory output) internal {
        vm.prank(op);
        manager.revealOutput(taskId, output, _salt(op));
    }

    function _commitScores(uint256 taskId, address val, uint16[] memory scores) internal {
        vm.prank(val);
        manager.commitScores(taskId, _scoresCommitment(taskId, val, scores, _salt(val)));
    }

    function _revealScores(uint256 taskId, address val, uint16[] memory scores) internal {
        vm.prank(val);
        manager.revealScores(taskId, scores, _salt(val));
    }

    function _scores1(uint16 s) internal pure returns (uint16[] memory a) {
        a = new uint16[](1);
        a[0] = s;
    }

    /// @dev Runs a whole K=1 task: every operator outputs `OUTPUT`, validator i reveals `scores[i]`.
    function _runTask(uint256 fee, uint16[] memory scores) internal returns (uint256 taskId) {
        taskId = _submit(fee);
        (address[] memory ops, address[] memory vals) = _select(taskId);
        for (uint256 i; i < ops.length; ++i) {
            _commitAndRevealOutput(taskId, ops[i], OUTPUT);
        }
        for (uint256 i; i < ops.length; ++i) {
            _revealOutput(taskId, ops[i], OUTPUT);
        }
        for (uint256 i; i < vals.length; ++i) {
            _commitScores(taskId, vals[i], _scores1(scores[i]));
        }
        for (uint256 i; i < vals.length; ++i) {
            _revealScores(taskId, vals[i], _scores1(scores[i]));
        }
        manager.finalize(taskId, ops, vals);
    }
}
