// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";

import {Defaults} from "../../script/Defaults.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {TaskManager} from "../../src/TaskManager.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {Commitments} from "../../src/libraries/Commitments.sol";
import {BPS, SELECTION_WINDOW_BLOCKS, TRIM_BPS} from "../../src/libraries/Constants.sol";

/// @notice The only fuzz target of the poq invariant suites. Drives random interleavings of staking, task
/// submission, committee selection, commit–reveal of outputs and scores, finalization, refunds, withdrawals
/// and time, over a fixed cast of 4 operators, 6 validators and 3 requesters.
/// @dev Inputs are bounded so that most calls are valid. Every call whose outcome the handler can predict is
/// wrapped in try/catch; a wrong prediction (a valid call that reverts, an invalid one that succeeds, a payout
/// that differs from an independent reference model) is counted in `surprises`, which an invariant asserts
/// to be zero: with `fail_on_revert = false` a revert or assert inside a handler would otherwise go unseen.
/// Money is followed from the contracts' events into ghost variables.
contract PoqHandler is CommonBase, StdCheats, StdUtils {
    // ───────────────────────────── Set-up ─────────────────────────────

    uint256 public constant NUM_OPERATORS = 4;
    uint256 public constant NUM_VALIDATORS = 6;
    uint256 public constant NUM_REQUESTERS = 3;

    NodeRegistry public immutable registry;
    TaskManager public immutable manager;
    bytes32 public immutable model;
    bytes32 public immutable evaluator;
    address public immutable treasury;
    uint256 public immutable k;
    uint256 public immutable m;

    address[] public operatorActors;
    address[] public validatorActors;
    address[] public requesterActors;
    /// @dev Operators, then validators.
    address[] public nodes;
    /// @dev Every account that can hold a balance in the manager: nodes, requesters, treasury.
    address[] public accounts;

    // ──────────────────────────── Task ghosts ───────────────────────────

    struct TaskGhost {
        address requester;
        uint256 fee;
        address[] ops;
        address[] vals;
        /// Σ `Credited(taskId, ·)`.
        uint256 credited;
        /// Σ `Slashed(taskId, ·)`.
        uint256 slashed;
        /// Reached `Finalized` or `Refunded`.
        bool settled;
    }

    uint256[] public taskIds;
    /// @dev Tasks in `Submitted` or `Active`.
    uint256[] internal _open;
    mapping(uint256 taskId => TaskGhost) internal _tasks;
    mapping(uint256 taskId => mapping(address node => bytes)) internal _outputOf;
    mapping(uint256 taskId => mapping(address node => uint16[])) internal _scoresOf;

    // ─────────────────────────── Money ghosts ───────────────────────────

    /// @notice Σ `Credited` events per account, and Σ withdrawn from the manager per account.
    mapping(address account => uint256) public ghostCredited;
    mapping(address account => uint256) public ghostWithdrawn;
    /// @notice Fees of tasks in `Submitted` or `Active`, as the handler followed them.
    uint256 public ghostOpenFees;
    /// @notice Stake sent in (register + addStake), taken out (withdrawStake) and slashed, per node.
    mapping(address node => uint256) public ghostStakeDeposited;
    mapping(address node => uint256) public ghostStakeWithdrawn;
    mapping(address node => uint256) public ghostStakeSlashed;
    /// @notice Σ `NodeSlashed` (registry side) and Σ `Slashed` (manager side).
    uint256 public ghostRegistrySlashed;
    uint256 public ghostManagerSlashed;

    // ─────────────────────────── Surprises ───────────────────────────

    uint256 public surprises;
    string public firstSurprise;
    string public lastSurprise;

    enum Action {
        Select,
        Refund,
        Finalize,
        CommitOutput,
        RevealOutput,
        CommitScores,
        RevealScores
    }

    // ─────────────────────────── Call counters ───────────────────────────

    struct Counters {
        uint256 registers;
        uint256 stakeAdds;
        uint256 unstakes;
        uint256 stakeWithdrawals;
        uint256 submits;
        uint256 selections;
        uint256 outputCommits;
        uint256 outputReveals;
        uint256 wrongSaltRejected;
        uint256 scoreCommits;
        uint256 scoreReveals;
        uint256 finalizedPaid;
        uint256 finalizedRefunded;
        uint256 earlyFinalizes;
        uint256 wrongCommitteeRejected;
        uint256 refunds;
        uint256 withdrawals;
        uint256 slashes;
        uint256 warps;
    }

    Counters public counters;

    constructor(NodeRegistry registry_, TaskManager manager_, bytes32 model_, bytes32 evaluator_, address treasury_) {
        registry = registry_;
        manager = manager_;
        model = model_;
        evaluator = evaluator_;
        treasury = treasury_;
        ITaskManager.Params memory p = manager_.params(manager_.paramsVersion());
        k = p.numOperators;
        m = p.numValidators;
        for (uint256 i; i < NUM_OPERATORS; ++i) {
            address a = makeAddr(string.concat("inv-operator", vm.toString(i)));
            operatorActors.push(a);
            nodes.push(a);
            accounts.push(a);
        }
        for (uint256 i; i < NUM_VALIDATORS; ++i) {
            address a = makeAddr(string.concat("inv-validator", vm.toString(i)));
            validatorActors.push(a);
            nodes.push(a);
            accounts.push(a);
        }
        for (uint256 i; i < NUM_REQUESTERS; ++i) {
            address a = makeAddr(string.concat("inv-requester", vm.toString(i)));
            requesterActors.push(a);
            accounts.push(a);
        }
        accounts.push(treasury_);
    }

    // ───────────────────────────── Staking ─────────────────────────────

    /// @notice Registers a node (operators first, then validators) with a stake of 1–3 minimums.
    function register(uint256 actorSeed, uint256 stakeSeed) public {
        // Starting at the named node, the first one not yet registered (the last one if all are).
        uint256 start = bound(actorSeed, 0, nodes.length - 1);
        address node = nodes[start];
        for (uint256 i; i < nodes.length; ++i) {
            node = nodes[(start + i) % nodes.length];
            if (registry.nodeInfo(node).role == INodeRegistry.Role.None) break;
        }
        bool isOperator = _isOperatorActor(node);
        INodeRegistry.Role role = isOperator ? INodeRegistry.Role.Operator : INodeRegistry.Role.Validator;
        uint256 minimum = registry.minStake(role);
        uint256 stake = bound(stakeSeed, minimum, 3 * minimum);
        bytes32[] memory services = new bytes32[](1);
        services[0] = isOperator ? model : evaluator;
        bool registered = registry.nodeInfo(node).role != INodeRegistry.Role.None;

        vm.deal(node, node.balance + stake);
        vm.prank(node);
        try registry.register{value: stake}(role, services) {
            if (registered) return _surprise("register: a registered node registered again");
            ghostStakeDeposited[node] += stake;
            ++counters.registers;
        } catch (bytes memory err) {
            if (!registered) _surprise("register: reverted for a new node", err);
        }
    }

    function addStake(uint256 actorSeed, uint256 amountSeed) external {
        address node = nodes[bound(actorSeed, 0, nodes.length - 1)];
        uint256 amount = bound(amountSeed, 1, 0.2 ether);
        bool registered = registry.nodeInfo(node).role != INodeRegistry.Role.None;
        vm.deal(node, node.balance + amount);
        vm.prank(node);
        try registry.addStake{value: amount}() {
            if (!registered) _surprise("addStake: an unregistered node staked");
            ghostStakeDeposited[node] += amount;
            ++counters.stakeAdds;
        } catch (bytes memory err) {
            if (registered) _surprise("addStake: reverted for a registered node", err);
        }
    }

    /// @notice Unstakes part of a node's stake; a quarter of the time without regard to its minimum.
    function requestUnstake(uint256 actorSeed, uint256 amountSeed) external {
        address node = nodes[bound(actorSeed, 0, nodes.length - 1)];
        INodeRegistry.Node memory info = registry.nodeInfo(node);
        if (info.role == INodeRegistry.Role.None || info.stake == 0) return;
        uint256 minimum = registry.minStake(info.role);
        // Three times in four the node stays in its pools (or does nothing if it is at its minimum).
        bool leavePools = _oneIn(amountSeed, 4);
        if (!leavePools && info.stake <= minimum) return;
        uint256 amount = leavePools ? bound(amountSeed, 1, info.stake) : bound(amountSeed, 1, info.stake - minimum);
        vm.prank(node);
        try registry.requestUnstake(amount) {
            ++counters.unstakes;
            INodeRegistry.Node memory after_ = registry.nodeInfo(node);
            if (after_.stake != info.stake - amount || after_.unbonding != info.unbonding + amount) {
                _surprise("requestUnstake: stake not moved to unbonding");
            }
            if (after_.active && after_.stake < minimum) _surprise("requestUnstake: node below minimum stays active");
        } catch (bytes memory err) {
            _surprise("requestUnstake: reverted", err);
        }
    }

    /// @notice Withdraws unbonded stake; an eighth of the time first waits out the unbonding delay.
    function withdrawStake(uint256 actorSeed, uint256 waitSeed) external {
        address node = nodes[bound(actorSeed, 0, nodes.length - 1)];
        INodeRegistry.Node memory info = registry.nodeInfo(node);
        if (info.unbonding == 0) return;
        if (_now() < info.unbondingEnd) {
            if (!_oneIn(waitSeed, 8)) {
                vm.prank(node);
                try registry.withdrawStake() {
                    _surprise("withdrawStake: succeeded before the unbonding delay");
                } catch {}
                return;
            }
            vm.warp(info.unbondingEnd);
            ++counters.warps;
        }
        uint256 balanceBefore = node.balance;
        vm.prank(node);
        try registry.withdrawStake() {
            ghostStakeWithdrawn[node] += info.unbonding;
            ++counters.stakeWithdrawals;
            if (node.balance != balanceBefore + info.unbonding) _surprise("withdrawStake: wrong amount sent");
        } catch (bytes memory err) {
            _surprise("withdrawStake: reverted after the delay", err);
        }
    }

    // ───────────────────────────── Requesters ─────────────────────────────

    function submitTask(uint256 requesterSeed, uint256 feeSeed, uint256 promptSeed) external {
        address requester = requesterActors[bound(requesterSeed, 0, NUM_REQUESTERS - 1)];
        uint256 fee = bound(feeSeed, Defaults.MODEL_MIN_FEE, 10 ether);
        bytes memory prompt = abi.encodePacked("prompt ", promptSeed);
        bool poolsOk = registry.poolSize(model) >= k && registry.poolSize(evaluator) >= m;
        ITaskManager.SamplingParams memory sampling = ITaskManager.SamplingParams({
            maxTokens: 64,
            temperatureMilli: 0,
            topPBps: 0,
            topK: 0,
            repetitionPenaltyMilli: 1000,
            seed: uint64(promptSeed)
        });

        vm.deal(requester, requester.balance + fee);
        vm.prank(requester);
        try manager.submitTask{value: fee}(model, evaluator, prompt, sampling) returns (uint256 taskId) {
            if (!poolsOk) _surprise("submitTask: accepted without enough nodes");
            TaskGhost storage g = _tasks[taskId];
            g.requester = requester;
            g.fee = fee;
            taskIds.push(taskId);
            _open.push(taskId);
            ghostOpenFees += fee;
            ++counters.submits;
        } catch (bytes memory err) {
            if (poolsOk) _surprise("submitTask: reverted", err);
        }
    }

    // ───────────────────────────── Anyone ─────────────────────────────

    function selectCommittee(uint256 taskSeed) external {
        uint256 taskId = _pick(taskSeed, Action.Select);
        if (taskId == 0) return;
        uint256 submitBlock = manager.getTask(taskId).submitBlock;
        if (_blockNumber() <= submitBlock) vm.roll(submitBlock + 1);
        bool inWindow = _blockNumber() <= submitBlock + SELECTION_WINDOW_BLOCKS;
        bool poolsOk = registry.poolSize(model) >= k && registry.poolSize(evaluator) >= m;

        vm.recordLogs();
        try manager.selectCommittee(taskId) {
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (!inWindow || !poolsOk) _surprise("selectCommittee: succeeded out of window or pool");
            TaskGhost storage g = _tasks[taskId];
            for (uint256 i; i < logs.length; ++i) {
                if (logs[i].emitter == address(manager) && logs[i].topics[0] == ITaskManager.CommitteeSelected.selector)
                {
                    (g.ops, g.vals,) = abi.decode(logs[i].data, (address[], address[], uint256[4]));
                }
            }
            _checkCommittee(g.ops, k, INodeRegistry.Role.Operator);
            _checkCommittee(g.vals, m, INodeRegistry.Role.Validator);
            ++counters.selections;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            if (inWindow && poolsOk) _surprise("selectCommittee: reverted", err);
        }
    }

    /// @notice Refunds a task never selected; a third of the time first rolls past its selection window.
    function refund(uint256 taskSeed, uint256 rollSeed) external {
        uint256 taskId = _pick(taskSeed, Action.Refund);
        if (taskId == 0) return;
        uint256 closesAt = manager.getTask(taskId).submitBlock + SELECTION_WINDOW_BLOCKS;
        if (_blockNumber() <= closesAt && _oneIn(rollSeed, 3)) vm.roll(closesAt + 1);
        bool expired = _blockNumber() > closesAt;
        _settle(taskId, expired, false);
    }

    /// @notice Finalizes an active task with the committee recorded at selection. An eighth of the time it first
    /// warps to the last deadline; a seventh of the time it passes a wrong committee, which must be rejected.
    function finalize(uint256 taskSeed, uint256 mode) external {
        uint256 taskId = _pick(taskSeed, Action.Finalize);
        if (taskId == 0) return;
        uint256[4] memory d = manager.deadlines(taskId);
        if (_oneIn(mode, 8) && _now() < d[3]) {
            vm.warp(d[3]);
            ++counters.warps;
        }
        if (_oneIn(mode, 7)) {
            TaskGhost storage g = _tasks[taskId];
            address[] memory vals = g.vals;
            vals[mode % vals.length] = g.ops[0]; // an operator in a validator seat
            try manager.finalize(taskId, g.ops, vals) {
                _surprise("finalize: accepted a wrong committee");
            } catch {
                ++counters.wrongCommitteeRejected;
            }
            return;
        }
        _settle(taskId, _finalizable(taskId, d), true);
    }

    /// @notice Withdraws the manager balance of any account (nodes, requesters, treasury).
    function withdraw(uint256 actorSeed) external {
        address account = accounts[bound(actorSeed, 0, accounts.length - 1)];
        uint256 amount = manager.balanceOf(account);
        uint256 before = account.balance;
        vm.prank(account);
        try manager.withdraw() {
            if (amount == 0) return _surprise("withdraw: paid with nothing credited");
            ghostWithdrawn[account] += amount;
            ++counters.withdrawals;
            if (account.balance != before + amount) _surprise("withdraw: wrong amount sent");
        } catch (bytes memory err) {
            if (amount != 0) _surprise("withdraw: reverted", err);
        }
    }

    /// @notice Moves time and blocks forward: usually up to 40 seconds and a few blocks, sometimes days or a whole
    /// selection window.
    function warp(uint256 secondsSeed, uint256 blocksSeed) external {
        uint256 dt = _oneIn(secondsSeed, 20) ? bound(secondsSeed, 1, 3 days) : bound(secondsSeed, 1, 40);
        uint256 db =
            _oneIn(blocksSeed, 16) ? bound(blocksSeed, SELECTION_WINDOW_BLOCKS + 1, 400) : bound(blocksSeed, 1, 12);
        vm.warp(_now() + dt);
        vm.roll(_blockNumber() + db);
        ++counters.warps;
    }

    /// @notice Takes the next natural steps (up to three) of a random open task: select, commit or reveal
    /// outputs, commit or reveal scores, finalize, through the same entry points as the single actions. Without
    /// it, the six steps a task needs, drawn among the other fourteen actions, rarely all happen inside its short
    /// windows.
    function advance(uint256 taskSeed, uint256 subsetSeed, uint256 valueSeed) external {
        if (_open.length == 0) return;
        uint256 taskId = _open[taskSeed % _open.length];
        // Up to three steps on the same task, each with fresh seeds.
        for (uint256 step; step < 3; ++step) {
            if (!_step(taskId, subsetSeed, valueSeed)) return;
            subsetSeed = uint256(keccak256(abi.encode(subsetSeed, step)));
            valueSeed = uint256(keccak256(abi.encode(valueSeed, step)));
        }
    }

    /// @dev One natural step of `taskId`; false if it is settled or has no step to take now.
    function _step(uint256 taskId, uint256 subsetSeed, uint256 valueSeed) internal returns (bool) {
        uint256 index = type(uint256).max;
        for (uint256 i; i < _open.length; ++i) {
            if (_open[i] == taskId) index = i;
        }
        if (index == type(uint256).max) return false;
        if (_applicable(taskId, Action.Select)) this.selectCommittee(index);
        else if (_applicable(taskId, Action.Refund)) this.refund(index, valueSeed);
        else if (_applicable(taskId, Action.CommitOutput)) this.commitOutput(index, subsetSeed, valueSeed);
        else if (_applicable(taskId, Action.RevealOutput)) this.revealOutput(index, subsetSeed, valueSeed);
        else if (_applicable(taskId, Action.CommitScores)) this.commitScores(index, subsetSeed, valueSeed);
        else if (_applicable(taskId, Action.RevealScores)) this.revealScores(index, subsetSeed, valueSeed);
        else if (_finalizable(taskId, manager.deadlines(taskId))) this.finalize(index, valueSeed);
        else return false;
        return true;
    }

    // ───────────────────────────── Operators ─────────────────────────────

    /// @notice Commits outputs for the task's uncommitted operators, or a random non-empty subset of them.
    function commitOutput(uint256 taskSeed, uint256 subsetSeed, uint256 outputSeed) external {
        uint256 taskId = _pick(taskSeed, Action.CommitOutput);
        if (taskId == 0) return;
        if (_now() >= manager.deadlines(taskId)[0]) return;
        address[] memory ops = _tasks[taskId].ops;
        for (uint256 j; j < ops.length; ++j) {
            if (!_inSubset(subsetSeed, j, ops.length)) continue;
            if (_state(taskId, ops[j]) != ITaskManager.EntryState.Selected) continue;
            // Only the output's hash matters to the contract; a few distinct texts are enough.
            bytes memory output = abi.encodePacked("output ", outputSeed % 3, " of ", j);
            bytes32 commitment = Commitments.commitment(
                block.chainid, address(manager), taskId, ops[j], keccak256(output), saltOf(taskId, ops[j])
            );
            vm.prank(ops[j]);
            try manager.commitOutput(taskId, commitment) {
                _outputOf[taskId][ops[j]] = output;
                ++counters.outputCommits;
            } catch (bytes memory err) {
                _surprise("commitOutput: reverted", err);
            }
        }
    }

    /// @notice Reveals committed outputs; a sixth of the time with a wrong salt, which must be rejected. Half the
    /// time a closed reveal phase is opened by warping to the commit deadline.
    function revealOutput(uint256 taskSeed, uint256 subsetSeed, uint256 saltSeed) external {
        uint256 taskId = _pick(taskSeed, Action.RevealOutput);
        if (taskId == 0) return;
        uint256[4] memory d = manager.deadlines(taskId);
        ITaskManager.Task memory t = manager.getTask(taskId);
        bool open = t.outputsCommitted == k || _now() >= d[0];
        if (!open && _oneIn(subsetSeed, 2)) {
            vm.warp(d[0]);
            ++counters.warps;
            open = true;
        }
        bool expectOk = open && _now() < d[1];
        address[] memory ops = _tasks[taskId].ops;
        for (uint256 j; j < ops.length; ++j) {
            if (!_inSubset(subsetSeed, j, ops.length)) continue;
            if (_state(taskId, ops[j]) != ITaskManager.EntryState.Committed) continue;
            bool wrongSalt = _oneIn(uint256(keccak256(abi.encode(saltSeed, j))), 6);
            bytes32 salt = wrongSalt ? bytes32(saltSeed) : saltOf(taskId, ops[j]);
            vm.prank(ops[j]);
            try manager.revealOutput(taskId, _outputOf[taskId][ops[j]], salt) {
                if (wrongSalt) _surprise("revealOutput: accepted a wrong salt");
                else if (!expectOk) _surprise("revealOutput: accepted outside its phase");
                else ++counters.outputReveals;
            } catch (bytes memory err) {
                if (wrongSalt && expectOk) {
                    if (bytes4(err) == ITaskManager.CommitmentMismatch.selector) ++counters.wrongSaltRejected;
                    else _surprise("revealOutput: wrong salt, wrong error", err);
                } else if (expectOk) {
                    _surprise("revealOutput: reverted", err);
                }
            }
        }
    }

    // ───────────────────────────── Validators ─────────────────────────────

    /// @notice Commits random scores (spread around a common level) for the uncommitted validators, or a subset.
    /// Half the time a not-yet-open score phase is opened by warping to the output reveal deadline.
    function commitScores(uint256 taskSeed, uint256 subsetSeed, uint256 scoreSeed) external {
        uint256 taskId = _pick(taskSeed, Action.CommitScores);
        if (taskId == 0) return;
        uint256[4] memory d = manager.deadlines(taskId);
        ITaskManager.Task memory t = manager.getTask(taskId);
        if (!_outputsSettled(t, d) && _oneIn(subsetSeed, 2)) {
            vm.warp(d[1]);
            ++counters.warps;
        }
        bool expectOk = _outputsSettled(t, d) && _now() < d[2] && t.outputsRevealed > 0;
        address[] memory vals = _tasks[taskId].vals;
        uint256 level = bound(scoreSeed, 0, BPS);
        for (uint256 i; i < vals.length; ++i) {
            if (!_inSubset(subsetSeed, i, vals.length)) continue;
            if (_state(taskId, vals[i]) != ITaskManager.EntryState.Selected) continue;
            uint16[] memory scores = new uint16[](k);
            for (uint256 j; j < k; ++j) {
                // Mostly within ±1500 bps of the level, so some validators agree and some do not.
                uint256 r = uint256(keccak256(abi.encode(scoreSeed, i, j)));
                uint256 s = level + r % 3001;
                s = s < 1500 ? 0 : s - 1500;
                if (r % 11 == 0) s = r % (BPS + 1);
                scores[j] = uint16(s > BPS ? BPS : s);
            }
            bytes32 commitment = Commitments.commitment(
                block.chainid, address(manager), taskId, vals[i], keccak256(abi.encode(scores)), saltOf(taskId, vals[i])
            );
            vm.prank(vals[i]);
            try manager.commitScores(taskId, commitment) {
                if (!expectOk) return _surprise("commitScores: accepted outside its phase");
                _scoresOf[taskId][vals[i]] = scores;
                ++counters.scoreCommits;
            } catch (bytes memory err) {
                if (expectOk) _surprise("commitScores: reverted", err);
            }
        }
    }

    /// @notice Reveals committed scores; a sixth of the time with a wrong salt. Half the time a not-yet-open
    /// reveal phase is opened by warping to the score commit deadline.
    function revealScores(uint256 taskSeed, uint256 subsetSeed, uint256 saltSeed) external {
        uint256 taskId = _pick(taskSeed, Action.RevealScores);
        if (taskId == 0) return;
        uint256[4] memory d = manager.deadlines(taskId);
        ITaskManager.Task memory t = manager.getTask(taskId);
        bool open = t.scoresCommitted == m || _now() >= d[2];
        if (!open && _oneIn(subsetSeed, 2)) {
            vm.warp(d[2]);
            ++counters.warps;
            open = true;
        }
        bool expectOk = open && _now() < d[3];
        address[] memory vals = _tasks[taskId].vals;
        for (uint256 i; i < vals.length; ++i) {
            if (!_inSubset(subsetSeed, i, vals.length)) continue;
            if (_state(taskId, vals[i]) != ITaskManager.EntryState.Committed) continue;
            bool wrongSalt = _oneIn(uint256(keccak256(abi.encode(saltSeed, i))), 6);
            bytes32 salt = wrongSalt ? bytes32(saltSeed) : saltOf(taskId, vals[i]);
            vm.prank(vals[i]);
            try manager.revealScores(taskId, _scoresOf[taskId][vals[i]], salt) {
                if (wrongSalt) _surprise("revealScores: accepted a wrong salt");
                else if (!expectOk) _surprise("revealScores: accepted outside its phase");
                else ++counters.scoreReveals;
            } catch (bytes memory err) {
                if (wrongSalt && expectOk) {
                    if (bytes4(err) == ITaskManager.CommitmentMismatch.selector) ++counters.wrongSaltRejected;
                    else _surprise("revealScores: wrong salt, wrong error", err);
                } else if (expectOk) {
                    _surprise("revealScores: reverted", err);
                }
            }
        }
    }

    // ───────────────────────────── Teardown (not a target) ─────────────────────────────

    /// @notice Drives every open task to a terminal state, pays every account out, unstakes and withdraws every
    /// node. Called by `afterInvariant` only.
    function settleEverything() external {
        vm.warp(_now() + 1 days);
        vm.roll(_blockNumber() + SELECTION_WINDOW_BLOCKS + 1);
        while (_open.length > 0) {
            uint256 taskId = _open[_open.length - 1];
            bool submitted = manager.getTask(taskId).status == ITaskManager.Status.Submitted;
            uint256 before = _open.length;
            _settle(taskId, true, !submitted);
            if (_open.length == before) {
                _surprise(string.concat("settleEverything: task stuck ", vm.toString(taskId)));
                _open.pop();
            }
        }
        for (uint256 i; i < accounts.length; ++i) {
            if (manager.balanceOf(accounts[i]) > 0) this.withdraw(i);
        }
        for (uint256 i; i < nodes.length; ++i) {
            INodeRegistry.Node memory info = registry.nodeInfo(nodes[i]);
            if (info.stake > 0) {
                vm.prank(nodes[i]);
                registry.requestUnstake(info.stake);
            }
        }
        vm.warp(_now() + registry.unbondingDelay());
        for (uint256 i; i < nodes.length; ++i) {
            if (registry.nodeInfo(nodes[i]).unbonding > 0) this.withdrawStake(i, 0);
        }
    }

    // ───────────────────────────── Views for the invariants ─────────────────────────────

    function getCounters() external view returns (Counters memory) {
        return counters;
    }

    function openTasks() external view returns (uint256[] memory) {
        return _open;
    }

    function allTaskIds() external view returns (uint256[] memory) {
        return taskIds;
    }

    function taskGhost(uint256 taskId)
        external
        view
        returns (address requester, uint256 fee, uint256 credited, uint256 slashed, bool settled)
    {
        TaskGhost storage g = _tasks[taskId];
        return (g.requester, g.fee, g.credited, g.slashed, g.settled);
    }

    function committeeOf(uint256 taskId) external view returns (address[] memory ops, address[] memory vals) {
        return (_tasks[taskId].ops, _tasks[taskId].vals);
    }

    function allAccounts() external view returns (address[] memory) {
        return accounts;
    }

    function allNodes() external view returns (address[] memory) {
        return nodes;
    }

    /// @notice Per account: Σ credited and Σ withdrawn (manager).
    function accountLedger()
        external
        view
        returns (address[] memory list, uint256[] memory credited, uint256[] memory withdrawn)
    {
        list = accounts;
        credited = new uint256[](list.length);
        withdrawn = new uint256[](list.length);
        for (uint256 i; i < list.length; ++i) {
            credited[i] = ghostCredited[list[i]];
            withdrawn[i] = ghostWithdrawn[list[i]];
        }
    }

    /// @notice Per node: Σ deposited, Σ withdrawn and Σ slashed stake (registry).
    function nodeLedger()
        external
        view
        returns (
            address[] memory list,
            uint256[] memory deposited,
            uint256[] memory withdrawn,
            uint256[] memory slashed
        )
    {
        list = nodes;
        deposited = new uint256[](list.length);
        withdrawn = new uint256[](list.length);
        slashed = new uint256[](list.length);
        for (uint256 i; i < list.length; ++i) {
            deposited[i] = ghostStakeDeposited[list[i]];
            withdrawn[i] = ghostStakeWithdrawn[list[i]];
            slashed[i] = ghostStakeSlashed[list[i]];
        }
    }

    /// @notice Per task: fee, Σ credited, Σ slashed and whether it settled.
    function taskLedger()
        external
        view
        returns (
            uint256[] memory ids,
            uint256[] memory fees,
            uint256[] memory credited,
            uint256[] memory slashed,
            bool[] memory settled
        )
    {
        ids = taskIds;
        fees = new uint256[](ids.length);
        credited = new uint256[](ids.length);
        slashed = new uint256[](ids.length);
        settled = new bool[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            TaskGhost storage g = _tasks[ids[i]];
            (fees[i], credited[i], slashed[i], settled[i]) = (g.fee, g.credited, g.slashed, g.settled);
        }
    }

    function saltOf(uint256 taskId, address node) public pure returns (bytes32) {
        return keccak256(abi.encode("poq-invariant-salt", taskId, node));
    }

    // ───────────────────────────── Internals ─────────────────────────────

    /// @dev Refunds (`viaFinalize` false) or finalizes the task, expecting success iff `expectOk`, and books
    /// its credits and slashes from the events.
    function _settle(uint256 taskId, bool expectOk, bool viaFinalize) internal {
        TaskGhost storage g = _tasks[taskId];
        ITaskManager.Task memory before = manager.getTask(taskId);
        uint256[4] memory d = viaFinalize ? manager.deadlines(taskId) : [uint256(0), 0, 0, 0];
        // Stake of every committee member before settlement, for the slashing reference.
        uint256[] memory opStake = _slashable(g.ops);
        uint256[] memory valStake = _slashable(g.vals);

        vm.recordLogs();
        bool ok;
        bytes memory err;
        if (viaFinalize) {
            try manager.finalize(taskId, g.ops, g.vals) {
                ok = true;
            } catch (bytes memory e) {
                err = e;
            }
        } else {
            try manager.refund(taskId) {
                ok = true;
            } catch (bytes memory e) {
                err = e;
            }
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (!ok) {
            if (expectOk) _surprise(viaFinalize ? "finalize: reverted" : "refund: reverted", err);
            return;
        }
        if (!expectOk) _surprise(viaFinalize ? "finalize: succeeded too early" : "refund: succeeded too early");

        (uint16[] memory consensus, bool paid) = _book(taskId, logs);

        ITaskManager.Status status = manager.getTask(taskId).status;
        if (paid != (status == ITaskManager.Status.Finalized)) _surprise("status disagrees with events");
        if (!paid && status != ITaskManager.Status.Refunded) _surprise("settled task is not terminal");
        g.settled = true;
        ghostOpenFees -= g.fee;
        _removeOpen(taskId);

        if (viaFinalize) {
            if (_now() < d[3]) {
                ++counters.earlyFinalizes;
                _checkNobodyCutOff(before, d);
            }
            _checkSlashes(taskId, g.ops, opStake, manager.params(before.paramsVersion).operatorSlash, logs);
            // With no output to score, validators had nothing to commit to: their silence is no fault.
            uint256 validatorSlash =
                before.outputsRevealed == 0 ? 0 : manager.params(before.paramsVersion).validatorSlash;
            _checkSlashes(taskId, g.vals, valStake, validatorSlash, logs);
            if (paid) {
                ++counters.finalizedPaid;
                _checkPayout(taskId, before.paramsVersion, consensus, logs);
            } else {
                ++counters.finalizedRefunded;
                _checkOnlyRequesterCredited(taskId, g.fee + g.slashed, logs);
            }
        } else {
            ++counters.refunds;
            _checkOnlyRequesterCredited(taskId, g.fee, logs);
        }
    }

    /// @dev Books a settlement's credits and slashes (both sides) into the ghosts; returns the consensus if the
    /// task was paid out.
    function _book(uint256 taskId, Vm.Log[] memory logs) internal returns (uint16[] memory consensus, bool paid) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(manager) && logs[i].topics[0] == ITaskManager.TaskFinalized.selector) {
                consensus = _decodeConsensus(logs[i].data);
                paid = true;
            } else {
                _bookLog(taskId, logs[i]);
            }
        }
    }

    function _bookLog(uint256 taskId, Vm.Log memory l) internal {
        bytes32 topic = l.topics[0];
        if (l.emitter == address(manager)) {
            if (topic == ITaskManager.Credited.selector) {
                if (uint256(l.topics[1]) != taskId) _surprise("credit for another task");
                uint256 amount = abi.decode(l.data, (uint256));
                ghostCredited[address(uint160(uint256(l.topics[2])))] += amount;
                _tasks[taskId].credited += amount;
            } else if (topic == ITaskManager.Slashed.selector) {
                uint256 amount = abi.decode(l.data, (uint256));
                _tasks[taskId].slashed += amount;
                ghostManagerSlashed += amount;
                ++counters.slashes;
            }
        } else if (l.emitter == address(registry) && topic == INodeRegistry.NodeSlashed.selector) {
            uint256 amount = abi.decode(l.data, (uint256));
            ghostStakeSlashed[address(uint160(uint256(l.topics[1])))] += amount;
            ghostRegistrySlashed += amount;
        }
    }

    function _decodeConsensus(bytes memory data) internal pure returns (uint16[] memory consensus) {
        (consensus,) = abi.decode(data, (uint16[], uint256));
    }

    /// @dev When `finalize` succeeds before the last deadline, no committee member may still have had a move.
    function _checkNobodyCutOff(ITaskManager.Task memory t, uint256[4] memory d) internal {
        bool outputsDone = t.outputsRevealed == t.outputsCommitted && (t.outputsCommitted == k || _now() >= d[0]);
        if (!outputsDone && _now() < d[1]) return _surprise("finalize: cut off an operator's reveal");
        if (t.outputsRevealed == 0) return; // nothing to score: validators have no move
        bool scoresDone = t.scoresRevealed == t.scoresCommitted && (t.scoresCommitted == m || _now() >= d[2]);
        if (!scoresDone) _surprise("finalize: cut off a validator");
    }

    /// @dev Every unrevealed member lost min(slashAmount, stake + unbonding); revealed members lost nothing.
    function _checkSlashes(
        uint256 taskId,
        address[] memory members,
        uint256[] memory stakeBefore,
        uint256 slashAmount,
        Vm.Log[] memory logs
    ) internal {
        for (uint256 i; i < members.length; ++i) {
            uint256 expected = _state(taskId, members[i]) == ITaskManager.EntryState.Revealed
                ? 0
                : (slashAmount < stakeBefore[i] ? slashAmount : stakeBefore[i]);
            uint256 actual;
            for (uint256 e; e < logs.length; ++e) {
                if (
                    logs[e].emitter == address(manager) && logs[e].topics[0] == ITaskManager.Slashed.selector
                        && address(uint160(uint256(logs[e].topics[2]))) == members[i]
                ) actual += abi.decode(logs[e].data, (uint256));
            }
            if (actual != expected) _surprise("slash amount differs from the reference");
        }
    }

    function _checkOnlyRequesterCredited(uint256 taskId, uint256 expected, Vm.Log[] memory logs) internal {
        address requester = _tasks[taskId].requester;
        if (_creditedFromLogs(logs, requester) != expected) _surprise("refund: requester credit differs");
    }

    /// @dev An independent model of `_payOut`: consensus per revealed output, operator pool by payout mode,
    /// validator pool among those within tolerance on every revealed output, treasury cut, rest and slashes to
    /// the requester.
    function _checkPayout(uint256 taskId, uint16 version, uint16[] memory consensus, Vm.Log[] memory logs) internal {
        ITaskManager.Params memory p = manager.params(version);
        TaskGhost storage g = _tasks[taskId];
        uint256 fee = g.fee;
        bool[] memory opRevealed = new bool[](k);
        bool[] memory valRevealed = new bool[](m);
        for (uint256 j; j < k; ++j) {
            opRevealed[j] = _state(taskId, g.ops[j]) == ITaskManager.EntryState.Revealed;
        }
        uint256 nRevealed;
        for (uint256 i; i < m; ++i) {
            valRevealed[i] = _state(taskId, g.vals[i]) == ITaskManager.EntryState.Revealed;
            if (valRevealed[i]) ++nRevealed;
        }
        if (nRevealed < p.quorum) _surprise("finalize: paid out below quorum");

        // Consensus.
        uint256[] memory expectedConsensus = new uint256[](k);
        for (uint256 j; j < k; ++j) {
            if (!opRevealed[j]) continue;
            uint256[] memory sample = new uint256[](nRevealed);
            uint256 n;
            for (uint256 i; i < m; ++i) {
                if (valRevealed[i]) sample[n++] = _scoresOf[taskId][g.vals[i]][j];
            }
            expectedConsensus[j] = _aggregate(sample, p.aggregation);
            if (consensus[j] != expectedConsensus[j]) _surprise("consensus differs from the reference");
        }

        uint256 paidOut;
        // Operators: the exact floor of fee × share × quality (÷ K when proportional).
        uint256[] memory opExpected = new uint256[](k);
        if (p.payoutMode == ITaskManager.PayoutMode.Proportional) {
            for (uint256 j; j < k; ++j) {
                if (opRevealed[j] && expectedConsensus[j] >= p.qualityFloorBps) {
                    opExpected[j] = fee * p.operatorShareBps * expectedConsensus[j] / (k * BPS * BPS);
                }
            }
        } else {
            uint256 best = type(uint256).max;
            for (uint256 j; j < k; ++j) {
                if (!opRevealed[j] || expectedConsensus[j] < p.qualityFloorBps) continue;
                if (best == type(uint256).max || expectedConsensus[j] > expectedConsensus[best]) best = j;
            }
            if (best != type(uint256).max) {
                opExpected[best] = fee * p.operatorShareBps * expectedConsensus[best] / (BPS * BPS);
            }
        }
        for (uint256 j; j < k; ++j) {
            paidOut += opExpected[j];
            uint256 got = _creditedFromLogs(logs, g.ops[j]);
            if (got != opExpected[j]) {
                _surprise(
                    string.concat(
                        "operator payout differs: got ", vm.toString(got), " expected ", vm.toString(opExpected[j])
                    )
                );
            }
        }

        // Validators.
        bool[] memory agrees = new bool[](m);
        uint256 agreeing;
        for (uint256 i; i < m; ++i) {
            if (!valRevealed[i]) continue;
            agrees[i] = true;
            for (uint256 j; j < k; ++j) {
                if (!opRevealed[j]) continue;
                uint256 s = _scoresOf[taskId][g.vals[i]][j];
                uint256 c = expectedConsensus[j];
                if ((s > c ? s - c : c - s) > p.toleranceBps) agrees[i] = false;
            }
            if (agrees[i]) ++agreeing;
        }
        uint256 share = agreeing == 0 ? 0 : fee * p.validatorShareBps / BPS / agreeing;
        for (uint256 i; i < m; ++i) {
            uint256 expected = agrees[i] ? share : 0;
            paidOut += expected;
            if (_creditedFromLogs(logs, g.vals[i]) != expected) _surprise("validator payout differs");
        }

        // Treasury and requester.
        uint256 treasuryCut = treasury == address(0) ? 0 : fee * p.treasuryShareBps / BPS;
        paidOut += treasuryCut;
        if (_creditedFromLogs(logs, treasury) != treasuryCut) _surprise("treasury cut differs");
        uint256 rest = _creditedFromLogs(logs, g.requester);
        if (rest != fee - paidOut + g.slashed) {
            _surprise(
                string.concat(
                    "requester rest differs: task ",
                    vm.toString(taskId),
                    " credited ",
                    vm.toString(rest),
                    " expected ",
                    vm.toString(fee - paidOut + g.slashed)
                )
            );
        }
    }

    function _aggregate(uint256[] memory a, ITaskManager.Aggregation aggregation) internal pure returns (uint256) {
        for (uint256 i; i < a.length; ++i) {
            for (uint256 j = i + 1; j < a.length; ++j) {
                if (a[j] < a[i]) (a[i], a[j]) = (a[j], a[i]);
            }
        }
        uint256 n = a.length;
        if (aggregation == ITaskManager.Aggregation.Median) {
            return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
        }
        uint256 trim = n * TRIM_BPS / BPS;
        uint256 sum;
        for (uint256 i = trim; i < n - trim; ++i) {
            sum += a[i];
        }
        return sum / (n - 2 * trim);
    }

    function _creditedFromLogs(Vm.Log[] memory logs, address account) internal view returns (uint256 total) {
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(manager) && logs[i].topics[0] == ITaskManager.Credited.selector
                    && address(uint160(uint256(logs[i].topics[2]))) == account
            ) total += abi.decode(logs[i].data, (uint256));
        }
    }

    function _slashable(address[] memory members) internal view returns (uint256[] memory amounts) {
        amounts = new uint256[](members.length);
        for (uint256 i; i < members.length; ++i) {
            INodeRegistry.Node memory info = registry.nodeInfo(members[i]);
            amounts[i] = uint256(info.stake) + info.unbonding;
        }
    }

    /// @dev The committee is `size` distinct registered nodes of `role`, ascending, all in their pools.
    function _checkCommittee(address[] memory members, uint256 size, INodeRegistry.Role role) internal {
        if (members.length != size) return _surprise("committee has the wrong size");
        for (uint256 i; i < members.length; ++i) {
            if (i > 0 && members[i] <= members[i - 1]) _surprise("committee not strictly ascending");
            INodeRegistry.Node memory info = registry.nodeInfo(members[i]);
            if (info.role != role || !info.active) _surprise("committee member not an active node of its role");
        }
    }

    /// @dev Mirror of the manager's settlement rule, from "can anyone still act?".
    function _finalizable(uint256 taskId, uint256[4] memory d) internal view returns (bool) {
        ITaskManager.Task memory t = manager.getTask(taskId);
        bool outputsSettled = _outputsSettled(t, d);
        if (outputsSettled && t.outputsRevealed == 0) return true;
        return t.scoresRevealed == m || (_now() >= d[2] && t.scoresRevealed == t.scoresCommitted) || _now() >= d[3];
    }

    function _outputsSettled(ITaskManager.Task memory t, uint256[4] memory d) internal view returns (bool) {
        return t.outputsRevealed == k || (_now() >= d[0] && t.outputsRevealed == t.outputsCommitted) || _now() >= d[1];
    }

    /// @dev An open task, starting at a random one, on which `action` can still do something (so that most
    /// calls make progress); 0 if there is none.
    function _pick(uint256 seed, Action action) internal view returns (uint256) {
        uint256 n = _open.length;
        if (n == 0) return 0;
        uint256 start = seed % n;
        for (uint256 i; i < n; ++i) {
            uint256 taskId = _open[(start + i) % n];
            if (_applicable(taskId, action)) return taskId;
        }
        return 0;
    }

    function _applicable(uint256 taskId, Action action) internal view returns (bool) {
        ITaskManager.Task memory t = manager.getTask(taskId);
        if (action == Action.Select) {
            return
                t.status == ITaskManager.Status.Submitted && _blockNumber() <= t.submitBlock + SELECTION_WINDOW_BLOCKS;
        }
        if (action == Action.Refund) return t.status == ITaskManager.Status.Submitted;
        if (t.status != ITaskManager.Status.Active) return false;
        if (action == Action.Finalize) return true;
        uint256[4] memory d = manager.deadlines(taskId);
        TaskGhost storage g = _tasks[taskId];
        if (action == Action.CommitOutput) {
            return _now() < d[0] && _anyIn(taskId, g.ops, ITaskManager.EntryState.Selected);
        }
        if (action == Action.RevealOutput) {
            return _now() < d[1] && _anyIn(taskId, g.ops, ITaskManager.EntryState.Committed);
        }
        if (action == Action.CommitScores) {
            return _now() < d[2] && t.outputsRevealed > 0 && _anyIn(taskId, g.vals, ITaskManager.EntryState.Selected);
        }
        return _now() < d[3] && _anyIn(taskId, g.vals, ITaskManager.EntryState.Committed);
    }

    /// @dev True one time in `n`, independently of the seed's shape (the fuzzer favours small and extreme values).
    function _oneIn(uint256 seed, uint256 n) internal pure returns (bool) {
        return uint256(keccak256(abi.encode(seed, n))) % n == 0;
    }

    function _anyIn(uint256 taskId, address[] storage members, ITaskManager.EntryState state)
        internal
        view
        returns (bool)
    {
        for (uint256 i; i < members.length; ++i) {
            if (_state(taskId, members[i]) == state) return true;
        }
        return false;
    }

    function _removeOpen(uint256 taskId) internal {
        for (uint256 i; i < _open.length; ++i) {
            if (_open[i] == taskId) {
                _open[i] = _open[_open.length - 1];
                _open.pop();
                return;
            }
        }
    }

    /// @dev Three times in four every member; otherwise those whose bit of the seed is set, plus the one the seed
    /// names, so the subset is never empty.
    function _inSubset(uint256 seed, uint256 i, uint256 size) internal pure returns (bool) {
        if (!_oneIn(seed, 4)) return true;
        return (seed >> (8 + i)) & 1 == 1 || i == seed % size;
    }

    /// @dev The cheatcodes, not `block.timestamp` / `block.number`: via-IR may reuse a value read before a
    /// `vm.warp` / `vm.roll` in the same call.
    function _now() internal view returns (uint256) {
        return vm.getBlockTimestamp();
    }

    function _blockNumber() internal view returns (uint256) {
        return vm.getBlockNumber();
    }

    function _state(uint256 taskId, address node) internal view returns (ITaskManager.EntryState state) {
        (state,) = manager.entryOf(taskId, node);
    }

    function _isOperatorActor(address node) internal view returns (bool) {
        for (uint256 i; i < operatorActors.length; ++i) {
            if (operatorActors[i] == node) return true;
        }
        return false;
    }

    function _surprise(string memory why) internal {
        if (surprises == 0) firstSurprise = why;
        ++surprises;
        lastSurprise = why;
    }

    function _surprise(string memory why, bytes memory err) internal {
        _surprise(string.concat(why, " (", vm.toString(err), ")"));
    }
}
