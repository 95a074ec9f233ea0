// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {console} from "forge-std/console.sol";
import {Vm, VmSafe} from "forge-std/Vm.sol";

import {Defaults} from "../../script/Defaults.sol";
import {ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {PoqTest} from "../utils/PoqTest.sol";

/// @notice Gas of a whole task, step by step, at (K = 1, M = 5) and (K = 3, M = 9), for the first task ever
/// ("cold": every credited balance starts at zero) and for a second one ("steady": every balance is already
/// non-zero).
/// @dev Meaningful only with `--isolate`, which runs each top-level call as its own transaction: fresh
/// EIP-2929 access lists (cold accounts and slots, as on chain) and per-transaction SSTORE pricing. Run:
///
///   forge test --isolate --match-path test/gas/LifecycleGas.t.sol -vv   (or: make gas)
///
/// Each step's execution gas is `vm.snapshotGasLastCall` (which under `--isolate` is the transaction's gas
/// used, 21 000 and calldata included) minus the intrinsic cost recomputed here from the exact calldata. The
/// table then rebuilds the full transaction cost as 21 000 + calldata (4 gas per zero byte, 16 per non-zero
/// byte, EIP-2028) + execution, where the calldata of the prompt and of the output (bytes and padding) is left
/// out: it scales with the text, at 16 gas per (non-zero) byte, or 40 under the EIP-7623 floor.
/// forge-config: default.isolate = true
contract LifecycleGasTest is PoqTest {
    uint256 internal constant FEE = 1 ether;
    uint256 internal constant TX_BASE = 21_000;

    string internal _group;

    /// @dev Each test deploys its own configuration.
    function setUp() public override {}

    function test_gas_lifecycle_K1_M5() public {
        _bench(1, 5);
    }

    function test_gas_lifecycle_K3_M9() public {
        _bench(3, 9);
    }

    /// @notice Calibration: under `--isolate` the reported gas of a state-changing call is the whole
    /// transaction's (21 000 + calldata + execution, net of refunds). `setTreasury` to its current value costs
    /// about 6k of execution (a cold `owner` read, a cold no-op write, one event), so ~27.4k is expected.
    /// (View calls are STATICCALLs, which `--isolate` does not turn into transactions: they report execution.)
    function test_gas_calibration() public {
        _deploy(Defaults.params());
        vm.prank(owner);
        manager.setTreasury(treasury);
        uint256 reported = vm.snapshotGasLastCall("calibration", "setTreasury");
        uint256 intrinsic = TX_BASE + _calldataGas(abi.encodeCall(ITaskManager.setTreasury, (treasury)));
        console.log("setTreasury: reported", reported, "intrinsic", intrinsic);
        assertGt(reported, intrinsic, "reported gas does not include the intrinsic cost: run with --isolate");
    }

    /// @notice How the prompt and the output scale, and where the EIP-7623 calldata floor
    /// (21 000 + 10 × tokens, tokens = zero bytes + 4 × non-zero bytes) overtakes the standard cost: the
    /// reported gas is the transaction's, so it is the floor whenever the floor is higher.
    function test_gas_payloadScaling() public {
        _deploy(Defaults.params());
        uint256[4] memory sizes = [uint256(64), 1024, 4096, 8192];
        console.log("");
        console.log("| bytes | submitTask | its floor | revealOutput | its floor |");
        console.log("|---:|---:|---:|---:|---:|");
        for (uint256 s; s < sizes.length; ++s) {
            bytes memory text = _text(sizes[s]);
            vm.deal(requester, requester.balance + FEE);
            vm.prank(requester);
            uint256 taskId = manager.submitTask{value: FEE}(MODEL, EVALUATOR, text, _sampling());
            uint256 submitGas = vm.snapshotGasLastCall("payload", string.concat("submitTask-", vm.toString(sizes[s])));
            uint256 submitFloor = _floor(abi.encodeCall(ITaskManager.submitTask, (MODEL, EVALUATOR, text, _sampling())));

            vm.roll(block.number + 1);
            vm.recordLogs();
            manager.selectCommittee(taskId);
            (address[] memory ops,,) = abi.decode(vm.getRecordedLogs()[0].data, (address[], address[], uint256[4]));
            vm.prank(ops[0]);
            manager.commitOutput(taskId, _outputCommitment(taskId, ops[0], text, _salt(ops[0])));
            vm.prank(ops[0]);
            manager.revealOutput(taskId, text, _salt(ops[0]));
            uint256 revealGas = vm.snapshotGasLastCall("payload", string.concat("revealOutput-", vm.toString(sizes[s])));
            uint256 revealFloor = _floor(abi.encodeCall(ITaskManager.revealOutput, (taskId, text, _salt(ops[0]))));
            console.log(
                string.concat(
                    string.concat("| ", vm.toString(sizes[s]), " | ", vm.toString(submitGas), " | "),
                    string.concat(vm.toString(submitFloor), " | ", vm.toString(revealGas), " | "),
                    string.concat(vm.toString(revealFloor), " |")
                )
            );
        }
    }

    function _text(uint256 length) internal pure returns (bytes memory text) {
        text = new bytes(length);
        for (uint256 i; i < length; ++i) {
            text[i] = bytes1(uint8(0x61 + i % 26));
        }
    }

    /// @dev EIP-7623: 21 000 + 10 × (zero bytes + 4 × non-zero bytes).
    function _floor(bytes memory data) internal pure returns (uint256) {
        return TX_BASE + 10 * (_calldataGas(data) / 4);
    }

    // ───────────────────────────── Bench ─────────────────────────────

    function _bench(uint8 k, uint8 m) internal {
        ITaskManager.Params memory p = Defaults.params();
        p.numOperators = k;
        p.numValidators = m;
        p.quorum = m / 2 + 1;
        _group = string.concat("lifecycle-K", vm.toString(k), "-M", vm.toString(m));
        Row[] memory cold = new Row[](3 + 2 * uint256(k) + 2 * m);
        Row[] memory steady = new Row[](cold.length);

        // Pass 1: the gas, on untouched state.
        _deploy(p);
        _steps("cold", k, m, cold, false);
        _steps("steady", k, m, steady, false);

        // Pass 2, on a fresh deployment: what each step touches. It comes second because state-diff recording
        // leaves later isolated transactions with warm slots (their gas drops by 2 000 per slot).
        if (!vm.envOr("GAS_NO_PROFILE", false)) {
            _deploy(p);
            _steps("cold", k, m, cold, true);
            _steps("steady", k, m, steady, true);
        }
        _print("cold", cold);
        _print("steady", steady);
    }

    function _print(string memory situation, Row[] memory rows) internal view {
        console.log("");
        console.log(string.concat("### ", _group, " (", situation, ")"));
        console.log("");
        console.log("| step | execution | calldata | transaction | slots | new | rewritten | restored | calls | logs |");
        console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        Row memory total;
        for (uint256 i; i < rows.length; ++i) {
            Row memory r = rows[i];
            (total.execution, total.calldataGas, total.transaction) =
            (total.execution + r.execution, total.calldataGas + r.calldataGas, total.transaction + r.transaction);
            console.log(
                string.concat(
                    string.concat("| ", r.step, " | ", vm.toString(r.execution), " | ", vm.toString(r.calldataGas)),
                    string.concat(" | ", vm.toString(r.transaction), " | ", vm.toString(r.slots), " | "),
                    string.concat(vm.toString(r.created), " | ", vm.toString(r.rewritten), " | "),
                    string.concat(
                        vm.toString(r.restored), " | ", vm.toString(r.calls), " | ", vm.toString(r.logs), " |"
                    )
                )
            );
        }
        console.log(
            string.concat(
                "| **total** | ",
                vm.toString(total.execution),
                " | ",
                vm.toString(total.calldataGas),
                " | **",
                vm.toString(total.transaction),
                "** | | | | | | |"
            )
        );
    }

    function _steps(string memory situation, uint256 k, uint256 m, Row[] memory rows, bool profiling) internal {
        Step memory st = Step({situation: situation, rows: rows, profiling: profiling, index: 0});

        vm.deal(requester, requester.balance + FEE);
        _begin(st);
        vm.prank(requester);
        uint256 taskId = manager.submitTask{value: FEE}(MODEL, EVALUATOR, PROMPT, _sampling());
        _end(
            st,
            "submitTask",
            abi.encodeCall(ITaskManager.submitTask, (MODEL, EVALUATOR, PROMPT, _sampling())),
            PROMPT.length
        );

        vm.roll(block.number + 1);
        _begin(st);
        manager.selectCommittee(taskId);
        Vm.Log[] memory logs = _end(st, "selectCommittee", abi.encodeCall(ITaskManager.selectCommittee, (taskId)), 0);
        (address[] memory ops, address[] memory vals,) = abi.decode(logs[0].data, (address[], address[], uint256[4]));

        for (uint256 j; j < k; ++j) {
            bytes32 commitment = _outputCommitment(taskId, ops[j], OUTPUT, _salt(ops[j]));
            _begin(st);
            vm.prank(ops[j]);
            manager.commitOutput(taskId, commitment);
            _end(st, _nth("commitOutput", j), abi.encodeCall(ITaskManager.commitOutput, (taskId, commitment)), 0);
        }
        for (uint256 j; j < k; ++j) {
            _begin(st);
            vm.prank(ops[j]);
            manager.revealOutput(taskId, OUTPUT, _salt(ops[j]));
            _end(
                st,
                _nth("revealOutput", j),
                abi.encodeCall(ITaskManager.revealOutput, (taskId, OUTPUT, _salt(ops[j]))),
                OUTPUT.length
            );
        }
        for (uint256 i; i < m; ++i) {
            bytes32 commitment = _scoresCommitment(taskId, vals[i], _scores(k, i), _salt(vals[i]));
            _begin(st);
            vm.prank(vals[i]);
            manager.commitScores(taskId, commitment);
            _end(st, _nth("commitScores", i), abi.encodeCall(ITaskManager.commitScores, (taskId, commitment)), 0);
        }
        for (uint256 i; i < m; ++i) {
            uint16[] memory scores = _scores(k, i);
            _begin(st);
            vm.prank(vals[i]);
            manager.revealScores(taskId, scores, _salt(vals[i]));
            _end(
                st,
                _nth("revealScores", i),
                abi.encodeCall(ITaskManager.revealScores, (taskId, scores, _salt(vals[i]))),
                0
            );
        }
        _begin(st);
        manager.finalize(taskId, ops, vals);
        _end(st, "finalize", abi.encodeCall(ITaskManager.finalize, (taskId, ops, vals)), 0);
        assertEq(uint256(manager.getTask(taskId).status), uint256(ITaskManager.Status.Finalized));
    }

    /// @dev Validator `i`'s scores: 7900–8100, all within tolerance of the median.
    function _scores(uint256 k, uint256 i) internal pure returns (uint16[] memory scores) {
        scores = new uint16[](k);
        for (uint256 j; j < k; ++j) {
            scores[j] = uint16(7900 + ((i * 37 + j * 11) % 201));
        }
    }

    // ───────────────────────────── Accounting ─────────────────────────────

    struct Step {
        string situation;
        Row[] rows;
        bool profiling;
        uint256 index;
    }

    function _begin(Step memory st) internal {
        vm.recordLogs();
        if (st.profiling) vm.startStateDiffRecording();
    }

    /// @dev Books the last call. `data` is its exact calldata; `payloadLength` is the length of its one
    /// `bytes` argument (prompt or output) whose bytes and padding are left out of the calldata cost.
    function _end(Step memory st, string memory step, bytes memory data, uint256 payloadLength)
        internal
        returns (Vm.Log[] memory logs)
    {
        uint256 index = st.index++;
        Row memory r = st.rows[index];
        if (st.profiling) {
            Vm.AccountAccess[] memory accesses = vm.stopAndReturnStateDiff();
            logs = vm.getRecordedLogs();
            _profile(accesses, r);
            r.logs = logs.length;
            return logs;
        }
        uint256 reported = vm.snapshotGasLastCall(_group, string.concat(st.situation, "-", step));
        logs = vm.getRecordedLogs();
        uint256 fullCalldata = _calldataGas(data);
        r.step = step;
        r.execution = reported - TX_BASE - fullCalldata;
        r.calldataGas = fullCalldata - (payloadLength == 0 ? 0 : _payloadGas(data, payloadLength));
        r.transaction = TX_BASE + r.calldataGas + r.execution;
    }

    /// @notice One step: its gas (execution = reported − 21 000 − full calldata; calldata without the prompt or
    /// output; transaction = 21 000 + calldata + execution) and what it touched: distinct storage slots (each a
    /// cold 2 100 on first access), of which written from zero (+20 000), rewritten to another value (+2 900)
    /// or written and restored within the step (the reentrancy lock: +2 900 + 100, 2 800 refunded); calls made
    /// by the contracts themselves; events.
    struct Row {
        string step;
        uint256 execution;
        uint256 calldataGas;
        uint256 transaction;
        uint256 slots;
        uint256 created;
        uint256 rewritten;
        uint256 restored;
        uint256 calls;
        uint256 logs;
    }

    function _profile(Vm.AccountAccess[] memory accesses, Row memory pr) internal view {
        uint256 total;
        for (uint256 i; i < accesses.length; ++i) {
            total += accesses[i].storageAccesses.length;
            bool byContract = accesses[i].accessor == address(manager) || accesses[i].accessor == address(registry);
            if (
                byContract
                    && (accesses[i].kind == VmSafe.AccountAccessKind.Call
                        || accesses[i].kind == VmSafe.AccountAccessKind.StaticCall)
            ) ++pr.calls;
        }
        // Flatten, then fold each distinct (account, slot) into its first previous value and last new value.
        address[] memory account = new address[](total);
        bytes32[] memory slot = new bytes32[](total);
        bytes32[] memory original = new bytes32[](total);
        bytes32[] memory latest = new bytes32[](total);
        bool[] memory written = new bool[](total);
        uint256 n;
        for (uint256 i; i < accesses.length; ++i) {
            for (uint256 a; a < accesses[i].storageAccesses.length; ++a) {
                VmSafe.StorageAccess memory sa = accesses[i].storageAccesses[a];
                if (sa.reverted) continue;
                uint256 found = n;
                for (uint256 j; j < n; ++j) {
                    if (account[j] == sa.account && slot[j] == sa.slot) found = j;
                }
                if (found == n) {
                    (account[n], slot[n], original[n], latest[n]) =
                    (sa.account, sa.slot, sa.previousValue, sa.previousValue);
                    ++n;
                }
                if (sa.isWrite) {
                    written[found] = true;
                    latest[found] = sa.newValue;
                }
            }
        }
        pr.slots = n;
        for (uint256 j; j < n; ++j) {
            if (!written[j]) continue;
            if (latest[j] == original[j]) ++pr.restored;
            else if (original[j] == bytes32(0)) ++pr.created;
            else ++pr.rewritten;
        }
    }

    /// @dev EIP-2028 calldata cost: 4 per zero byte, 16 per non-zero byte.
    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev The calldata cost of the payload's bytes and zero padding. In both `submitTask` and `revealOutput`
    /// the payload is the only dynamic argument, so it closes the encoding, right after its length word.
    function _payloadGas(bytes memory data, uint256 length) internal pure returns (uint256 gas) {
        uint256 padded = (length + 31) / 32 * 32;
        uint256 start = data.length - padded;
        uint256 lengthWord;
        assembly {
            lengthWord := mload(add(add(data, 32), sub(start, 32)))
        }
        require(lengthWord == length, "payload not last");
        for (uint256 i = start; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function _nth(string memory step, uint256 i) internal pure returns (string memory) {
        return string.concat(step, " #", vm.toString(i));
    }
}
