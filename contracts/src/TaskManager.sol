// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";
import {Consensus} from "./libraries/Consensus.sol";
import {Commitments} from "./libraries/Commitments.sol";
import {
    BPS,
    HARD_MAX_OUTPUT_BYTES,
    HARD_MAX_PROMPT_BYTES,
    MAX_OPERATORS,
    MAX_TREASURY_BPS,
    MAX_VALIDATORS,
    MAX_WINDOW,
    MIN_WINDOW,
    SELECTION_WINDOW_BLOCKS
} from "./libraries/Constants.sol";

/// @title TaskManager
/// @notice Escrows fees and runs the Proof-of-Quality lifecycle; see `ITaskManager`.
/// @dev Holds exactly `Σ fees of open tasks + Σ balanceOf` wei. The owner sets parameters within hard
/// bounds and pauses submission; it can move neither escrow nor credits.
///
/// Each committee member has one entry word per task: the low byte tags role and state, the high 248 bits
/// hold the commitment, then (after the reveal overwrites the same slot) the output hash or the packed
/// scores. Comparing commitments on 248 bits leaves 124-bit collision resistance.
contract TaskManager is ITaskManager, Ownable2Step, Pausable, ReentrancyGuard {
    using Consensus for uint256[];

    // ───────────────────────────── Entry words ────────────────────────────

    uint256 private constant TAG_BITS = 8;
    uint256 private constant TAG_MASK = 0xff;
    uint256 private constant PAYLOAD_MASK = ~TAG_MASK;
    uint256 private constant ROLE_SHIFT = 4;
    uint256 private constant STATE_MASK = 0x0f;
    uint256 private constant SCORE_BITS = 16;
    uint256 private constant SCORE_MASK = 0xffff;

    /// @notice The node registry that stakes, pools and slashes nodes.
    INodeRegistry public immutable registry;

    /// @notice Receives `treasuryShareBps` of each paid fee; zero disables the cut.
    address public treasury;
    /// @inheritdoc ITaskManager
    uint16 public paramsVersion;
    /// @inheritdoc ITaskManager
    uint256 public nextTaskId = 1;

    mapping(uint16 version => Params) private _params;
    /// @inheritdoc ITaskManager
    mapping(bytes32 modelId => uint256) public minFeeOf;
    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 taskId => mapping(address node => uint256 word)) private _entries;
    /// @inheritdoc ITaskManager
    mapping(address account => uint256) public balanceOf;

    /// @param initialOwner The parameter owner.
    /// @param registry_ The registry, deployed first with this contract's address as its task manager.
    /// @param treasury_ The treasury (zero: no cut).
    /// @param initialParams Version 1 of the parameters.
    // slither-disable-next-line missing-zero-check (zero disables the treasury cut)
    constructor(address initialOwner, INodeRegistry registry_, address treasury_, Params memory initialParams)
        Ownable(initialOwner)
    {
        if (registry_.taskManager() != address(this)) revert RegistryMismatch(address(registry_));
        registry = registry_;
        treasury = treasury_;
        emit TreasurySet(treasury_);
        _setParams(initialParams);
    }

    /// @notice Accepts slashed stake from the registry only.
    receive() external payable {
        if (msg.sender != address(registry)) revert UnexpectedEther(msg.sender);
    }

    // ──────────────────────────── Requester ───────────────────────────────

    /// @inheritdoc ITaskManager
    function submitTask(bytes32 modelId, bytes32 evaluatorId, bytes calldata prompt, SamplingParams calldata sampling)
        external
        payable
        whenNotPaused
        returns (uint256 taskId)
    {
        uint16 version = paramsVersion;
        Params storage p = _params[version];
        if (prompt.length == 0) revert EmptyPrompt();
        if (prompt.length > p.maxPromptBytes) revert PromptTooLarge(prompt.length, p.maxPromptBytes);
        uint256 minFee = minFeeOf[modelId];
        if (minFee == 0) revert UnknownModel(modelId);
        if (msg.value < minFee) revert FeeBelowMinimum(msg.value, minFee);
        if (msg.value > type(uint96).max) revert FeeTooLarge(msg.value);
        // Role-checked: an evaluator id bound to operators would draw one node into both committees.
        _requirePool(INodeRegistry.Role.Operator, modelId, p.numOperators);
        _requirePool(INodeRegistry.Role.Validator, evaluatorId, p.numValidators);

        taskId = nextTaskId++;
        Task storage t = _tasks[taskId];
        t.requester = msg.sender;
        t.fee = uint96(msg.value);
        t.promptHash = keccak256(prompt);
        t.modelId = modelId;
        t.evaluatorId = evaluatorId;
        t.status = Status.Submitted;
        t.paramsVersion = version;
        t.submitBlock = uint40(block.number);
        emit TaskSubmitted(taskId, msg.sender, modelId, evaluatorId, msg.value, sampling, prompt);
    }

    // ───────────────────────────── Anyone ────────────────────────────────

    /// @inheritdoc ITaskManager
    function selectCommittee(uint256 taskId) external {
        Task storage t = _taskIn(taskId, Status.Submitted);
        uint256 submitBlock = t.submitBlock;
        if (block.number <= submitBlock) revert SeedNotYetAvailable(taskId, submitBlock);
        if (block.number > submitBlock + SELECTION_WINDOW_BLOCKS) revert SelectionWindowClosed(taskId);

        // The submission block's hash did not exist when the requester signed, so it cannot pick its committee.
        bytes32 seed = keccak256(abi.encode(blockhash(submitBlock), taskId));
        Params storage p = _params[t.paramsVersion];
        address[] memory operators = registry.select(t.modelId, p.numOperators, keccak256(abi.encode(seed, 0)));
        address[] memory validators = registry.select(t.evaluatorId, p.numValidators, keccak256(abi.encode(seed, 1)));

        t.status = Status.Active;
        t.selectedAt = uint40(block.timestamp);
        mapping(address => uint256) storage entries = _entries[taskId];
        uint256 selectedOperator = _tag(INodeRegistry.Role.Operator, EntryState.Selected);
        for (uint256 i; i < operators.length; ++i) {
            entries[operators[i]] = selectedOperator;
        }
        uint256 selectedValidator = _tag(INodeRegistry.Role.Validator, EntryState.Selected);
        for (uint256 i; i < validators.length; ++i) {
            entries[validators[i]] = selectedValidator;
        }
        emit CommitteeSelected(taskId, operators, validators, _deadlines(t, p));
    }

    /// @inheritdoc ITaskManager
    function refund(uint256 taskId) external {
        Task storage t = _taskIn(taskId, Status.Submitted);
        if (block.number <= t.submitBlock + SELECTION_WINDOW_BLOCKS) revert SelectionWindowOpen(taskId);
        t.status = Status.Refunded;
        emit TaskRefunded(taskId, t.fee);
        _credit(taskId, t.requester, t.fee);
    }

    /// @inheritdoc ITaskManager
    // slither-disable-next-line reentrancy-no-eth (the only external call is to the immutable registry)
    function finalize(uint256 taskId, address[] calldata operators, address[] calldata validators)
        external
        nonReentrant
    {
        Task storage t = _taskIn(taskId, Status.Active);
        Params memory p = _params[t.paramsVersion];
        uint256[4] memory d = _deadlines(t, p);
        bool outputsSettled = _outputsSettled(t, p, d);
        bool noOutputs = outputsSettled && t.outputsRevealed == 0;
        if (!noOutputs && !_scoresSettled(t, p, d)) revert TooEarlyToFinalize(taskId, d[3]);

        uint256[] memory operatorWords = _committeeWords(taskId, operators, p.numOperators, INodeRegistry.Role.Operator);
        uint256[] memory validatorWords =
            _committeeWords(taskId, validators, p.numValidators, INodeRegistry.Role.Validator);

        address requester = t.requester;
        uint256 fee = t.fee;
        if (noOutputs || t.scoresRevealed < p.quorum) {
            t.status = Status.Refunded;
            emit TaskRefunded(taskId, fee);
            _credit(taskId, requester, fee);
        } else {
            t.status = Status.Finalized;
            _payOut(taskId, requester, fee, p, operators, operatorWords, validators, validatorWords);
        }

        // Interactions last: the registry sends slashed stake here, credited to the requester it delayed.
        _slashUnrevealed(taskId, requester, operators, operatorWords, p.operatorSlash);
        // With no output to score, validators had nothing to commit to: their silence is no fault.
        if (!noOutputs) _slashUnrevealed(taskId, requester, validators, validatorWords, p.validatorSlash);
    }

    /// @inheritdoc ITaskManager
    function withdraw() external nonReentrant {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balanceOf[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ───────────────────────────── Operators ─────────────────────────────

    /// @inheritdoc ITaskManager
    function commitOutput(uint256 taskId, bytes32 commitment) external {
        Task storage t = _taskIn(taskId, Status.Active);
        uint256 commitDeadline = t.selectedAt + _params[t.paramsVersion].outputCommitWindow;
        if (block.timestamp >= commitDeadline) revert PhaseClosed(taskId, t.selectedAt, commitDeadline);
        _commit(taskId, INodeRegistry.Role.Operator, commitment);
        ++t.outputsCommitted;
        emit OutputCommitted(taskId, msg.sender, commitment);
    }

    /// @inheritdoc ITaskManager
    function revealOutput(uint256 taskId, bytes calldata output, bytes32 salt) external {
        Task storage t = _taskIn(taskId, Status.Active);
        Params storage p = _params[t.paramsVersion];
        uint256 commitDeadline = t.selectedAt + p.outputCommitWindow;
        uint256 revealDeadline = commitDeadline + p.outputRevealWindow;
        // Opens once every operator has committed, so no output is revealed before all are fixed.
        bool open = t.outputsCommitted == p.numOperators || block.timestamp >= commitDeadline;
        if (!open || block.timestamp >= revealDeadline) revert PhaseClosed(taskId, commitDeadline, revealDeadline);
        if (output.length > p.maxOutputBytes) revert OutputTooLarge(output.length, p.maxOutputBytes);

        bytes32 payloadHash = Commitments.outputHash(output);
        _reveal(taskId, INodeRegistry.Role.Operator, payloadHash, salt, uint256(payloadHash) & PAYLOAD_MASK);
        ++t.outputsRevealed;
        emit OutputRevealed(taskId, msg.sender, output);
    }

    // ───────────────────────────── Validators ────────────────────────────

    /// @inheritdoc ITaskManager
    function commitScores(uint256 taskId, bytes32 commitment) external {
        Task storage t = _taskIn(taskId, Status.Active);
        Params memory p = _params[t.paramsVersion];
        uint256[4] memory d = _deadlines(t, p);
        if (!_outputsSettled(t, p, d) || block.timestamp >= d[2]) revert PhaseClosed(taskId, d[1], d[2]);
        if (t.outputsRevealed == 0) revert NoOutputsToScore(taskId);
        _commit(taskId, INodeRegistry.Role.Validator, commitment);
        ++t.scoresCommitted;
        emit ScoresCommitted(taskId, msg.sender, commitment);
    }

    /// @inheritdoc ITaskManager
    function revealScores(uint256 taskId, uint16[] calldata scores, bytes32 salt) external {
        Task storage t = _taskIn(taskId, Status.Active);
        Params memory p = _params[t.paramsVersion];
        uint256[4] memory d = _deadlines(t, p);
        bool open = t.scoresCommitted == p.numValidators || block.timestamp >= d[2];
        if (!open || block.timestamp >= d[3]) revert PhaseClosed(taskId, d[2], d[3]);
        if (scores.length != p.numOperators) revert InvalidScores(taskId);

        uint256 packed;
        for (uint256 i; i < scores.length; ++i) {
            if (scores[i] > BPS) revert InvalidScores(taskId);
            packed |= uint256(scores[i]) << (TAG_BITS + SCORE_BITS * i);
        }
        _reveal(taskId, INodeRegistry.Role.Validator, Commitments.scoresHash(scores), salt, packed);
        ++t.scoresRevealed;
        emit ScoresRevealed(taskId, msg.sender, scores);
    }

    // ──────────────────────────────── Owner ───────────────────────────────

    /// @inheritdoc ITaskManager
    function setParams(Params calldata newParams) external onlyOwner {
        _setParams(newParams);
    }

    /// @inheritdoc ITaskManager
    function setModelMinFee(bytes32 modelId, uint256 minFee) external onlyOwner {
        minFeeOf[modelId] = minFee;
        emit ModelMinFeeSet(modelId, minFee);
    }

    /// @inheritdoc ITaskManager
    // slither-disable-next-line missing-zero-check (zero disables the treasury cut)
    function setTreasury(address treasury_) external onlyOwner {
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @inheritdoc ITaskManager
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc ITaskManager
    function unpause() external onlyOwner {
        _unpause();
    }

    // ──────────────────────────────── Views ───────────────────────────────

    /// @inheritdoc ITaskManager
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @inheritdoc ITaskManager
    function params(uint16 version) external view returns (Params memory) {
        return _params[version];
    }

    /// @inheritdoc ITaskManager
    function entryOf(uint256 taskId, address node) external view returns (EntryState state, uint256 word) {
        word = _entries[taskId][node];
        state = EntryState(word & STATE_MASK);
    }

    /// @inheritdoc ITaskManager
    function deadlines(uint256 taskId) external view returns (uint256[4] memory) {
        Task storage t = _taskIn(taskId, Status.Active);
        return _deadlines(t, _params[t.paramsVersion]);
    }

    // ────────────────────────────── Internals ─────────────────────────────

    function _taskIn(uint256 taskId, Status expected) private view returns (Task storage t) {
        t = _tasks[taskId];
        Status status = t.status;
        if (status == Status.None) revert UnknownTask(taskId);
        if (status != expected) revert InvalidStatus(taskId, status);
    }

    function _requirePool(INodeRegistry.Role role, bytes32 service, uint256 needed) private view {
        uint256 available = registry.poolSizeFor(role, service);
        if (available < needed) revert NotEnoughNodes(service, available, needed);
    }

    function _deadlines(Task storage t, Params memory p) private view returns (uint256[4] memory d) {
        d[0] = t.selectedAt + p.outputCommitWindow;
        d[1] = d[0] + p.outputRevealWindow;
        d[2] = d[1] + p.scoreCommitWindow;
        d[3] = d[2] + p.scoreRevealWindow;
    }

    /// @dev No output can be revealed any more: all are, or every committed one is after the commit
    /// deadline, or the reveal deadline has passed.
    function _outputsSettled(Task storage t, Params memory p, uint256[4] memory d) private view returns (bool) {
        uint256 revealed = t.outputsRevealed;
        return revealed == p.numOperators || (block.timestamp >= d[0] && revealed == t.outputsCommitted)
            || block.timestamp >= d[1];
    }

    /// @dev No score can be revealed any more, by the same rule one phase later.
    function _scoresSettled(Task storage t, Params memory p, uint256[4] memory d) private view returns (bool) {
        uint256 revealed = t.scoresRevealed;
        return revealed == p.numValidators || (block.timestamp >= d[2] && revealed == t.scoresCommitted)
            || block.timestamp >= d[3];
    }

    function _tag(INodeRegistry.Role role, EntryState state) private pure returns (uint256) {
        return (uint256(role) << ROLE_SHIFT) | uint256(state);
    }

    function _commit(uint256 taskId, INodeRegistry.Role role, bytes32 commitment) private {
        uint256 word = _entries[taskId][msg.sender];
        if (word & TAG_MASK != _tag(role, EntryState.Selected)) {
            if (word >> ROLE_SHIFT & STATE_MASK != uint256(role)) revert NotSelected(taskId, msg.sender);
            revert AlreadyCommitted(taskId, msg.sender);
        }
        _entries[taskId][msg.sender] = (uint256(commitment) & PAYLOAD_MASK) | _tag(role, EntryState.Committed);
    }

    function _reveal(uint256 taskId, INodeRegistry.Role role, bytes32 payloadHash, bytes32 salt, uint256 payload)
        private
    {
        uint256 word = _entries[taskId][msg.sender];
        if (word & TAG_MASK != _tag(role, EntryState.Committed)) {
            if (word >> ROLE_SHIFT & STATE_MASK != uint256(role)) revert NotSelected(taskId, msg.sender);
            revert NotCommitted(taskId, msg.sender);
        }
        bytes32 expected = Commitments.commitment(block.chainid, address(this), taskId, msg.sender, payloadHash, salt);
        if (uint256(expected) & PAYLOAD_MASK != word & PAYLOAD_MASK) revert CommitmentMismatch(taskId, msg.sender);
        _entries[taskId][msg.sender] = payload | _tag(role, EntryState.Revealed);
    }

    /// @dev Checks that `nodes` is the task's committee for `role` in committee (ascending) order and
    /// returns their entry words.
    function _committeeWords(uint256 taskId, address[] calldata nodes, uint256 size, INodeRegistry.Role role)
        private
        view
        returns (uint256[] memory words)
    {
        if (nodes.length != size) revert CommitteeMismatch(taskId);
        words = new uint256[](size);
        mapping(address => uint256) storage entries = _entries[taskId];
        for (uint256 i; i < size; ++i) {
            // Strictly ascending: no node can be listed twice.
            if (i > 0 && nodes[i] <= nodes[i - 1]) revert CommitteeMismatch(taskId);
            uint256 word = entries[nodes[i]];
            if (word >> ROLE_SHIFT & STATE_MASK != uint256(role)) revert CommitteeMismatch(taskId);
            words[i] = word;
        }
    }

    function _isRevealed(uint256 word) private pure returns (bool) {
        return word & STATE_MASK == uint256(EntryState.Revealed);
    }

    function _scoreOf(uint256 validatorWord, uint256 operatorIndex) private pure returns (uint256) {
        return validatorWord >> (TAG_BITS + SCORE_BITS * operatorIndex) & SCORE_MASK;
    }

    /// @dev Consensus per revealed output, operator and validator pools, treasury cut, rest to the requester.
    function _payOut(
        uint256 taskId,
        address requester,
        uint256 fee,
        Params memory p,
        address[] calldata operators,
        uint256[] memory operatorWords,
        address[] calldata validators,
        uint256[] memory validatorWords
    ) private {
        uint256 k = operators.length;
        uint256[] memory revealedScores = new uint256[](validators.length);
        uint16[] memory consensus = new uint16[](k);
        uint256 best = type(uint256).max;
        for (uint256 j; j < k; ++j) {
            if (!_isRevealed(operatorWords[j])) continue;
            uint256 n;
            for (uint256 i; i < validators.length; ++i) {
                if (_isRevealed(validatorWords[i])) revealedScores[n++] = _scoreOf(validatorWords[i], j);
            }
            uint256[] memory sample = _prefix(revealedScores, n);
            sample.sort();
            uint256 c = p.aggregation == Aggregation.Median ? sample.median() : sample.trimmedMean();
            // forge-lint: disable-next-line(unsafe-typecast) an aggregate of scores ≤ BPS fits 16 bits
            consensus[j] = uint16(c);
            if (c >= p.qualityFloorBps && (best == type(uint256).max || c > consensus[best])) best = j;
        }

        uint256 paid;
        // One division per payout, last, so rounding never compounds (fee < 2^96: no overflow).
        uint256 scaledOperatorPool = fee * p.operatorShareBps; // operator pool × BPS
        if (p.payoutMode == PayoutMode.Proportional) {
            for (uint256 j; j < k; ++j) {
                if (_isRevealed(operatorWords[j]) && consensus[j] >= p.qualityFloorBps) {
                    paid += _credit(taskId, operators[j], scaledOperatorPool * consensus[j] / (k * BPS * BPS));
                }
            }
        } else if (best != type(uint256).max) {
            paid += _credit(taskId, operators[best], scaledOperatorPool * consensus[best] / (BPS * BPS));
        }

        paid += _payValidators(
            taskId,
            fee * p.validatorShareBps / BPS,
            p.toleranceBps,
            operatorWords,
            validators,
            validatorWords,
            consensus
        );
        if (treasury != address(0)) paid += _credit(taskId, treasury, fee * p.treasuryShareBps / BPS);

        uint256 rest = fee - paid;
        emit TaskFinalized(taskId, consensus, rest);
        _credit(taskId, requester, rest);
    }

    /// @dev Validators whose every score lies within tolerance of consensus share the pool equally.
    function _payValidators(
        uint256 taskId,
        uint256 pool,
        uint256 tolerance,
        uint256[] memory operatorWords,
        address[] calldata validators,
        uint256[] memory validatorWords,
        uint16[] memory consensus
    ) private returns (uint256 paid) {
        uint256 m = validators.length;
        bool[] memory agrees = new bool[](m);
        uint256 agreeing;
        for (uint256 i; i < m; ++i) {
            if (!_isRevealed(validatorWords[i])) continue;
            bool ok = true;
            for (uint256 j; j < operatorWords.length && ok; ++j) {
                if (!_isRevealed(operatorWords[j])) continue;
                ok = Consensus.absDiff(_scoreOf(validatorWords[i], j), consensus[j]) <= tolerance;
            }
            agrees[i] = ok;
            if (ok) ++agreeing;
        }
        if (agreeing == 0) return 0;
        uint256 share = pool / agreeing;
        for (uint256 i; i < m; ++i) {
            if (agrees[i]) paid += _credit(taskId, validators[i], share);
        }
    }

    // slither-disable-next-line reentrancy-no-eth,calls-loop (immutable registry; at most K + M calls)
    function _slashUnrevealed(
        uint256 taskId,
        address requester,
        address[] calldata nodes,
        uint256[] memory words,
        uint256 amount
    ) private {
        for (uint256 i; i < nodes.length; ++i) {
            if (_isRevealed(words[i])) continue;
            uint256 taken = registry.slash(nodes[i], amount);
            if (taken == 0) continue;
            emit Slashed(taskId, nodes[i], taken);
            _credit(taskId, requester, taken);
        }
    }

    function _credit(uint256 taskId, address account, uint256 amount) private returns (uint256) {
        if (amount == 0) return 0;
        balanceOf[account] += amount;
        emit Credited(taskId, account, amount);
        return amount;
    }

    /// @dev The first `n` elements of `a`, as a new array.
    function _prefix(uint256[] memory a, uint256 n) private pure returns (uint256[] memory out) {
        out = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = a[i];
        }
    }

    function _setParams(Params memory p) private {
        if (p.numOperators == 0 || p.numOperators > MAX_OPERATORS) revert InvalidParams("numOperators");
        if (p.numValidators == 0 || p.numValidators > MAX_VALIDATORS) revert InvalidParams("numValidators");
        if (p.quorum == 0 || p.quorum > p.numValidators) revert InvalidParams("quorum");
        if (!_windowOk(p.outputCommitWindow) || !_windowOk(p.outputRevealWindow)) revert InvalidParams("window");
        if (!_windowOk(p.scoreCommitWindow) || !_windowOk(p.scoreRevealWindow)) revert InvalidParams("window");
        if (p.treasuryShareBps > MAX_TREASURY_BPS) revert InvalidParams("treasuryShareBps");
        if (uint256(p.operatorShareBps) + p.validatorShareBps + p.treasuryShareBps > BPS) {
            revert InvalidParams("shares");
        }
        if (p.toleranceBps > BPS) revert InvalidParams("toleranceBps");
        if (p.qualityFloorBps > BPS) revert InvalidParams("qualityFloorBps");
        // A positive slash makes withholding a reveal cost more than revealing an outlier (which earns 0).
        if (p.operatorSlash == 0 || p.operatorSlash > registry.minStake(INodeRegistry.Role.Operator)) {
            revert InvalidParams("operatorSlash");
        }
        if (p.validatorSlash == 0 || p.validatorSlash > registry.minStake(INodeRegistry.Role.Validator)) {
            revert InvalidParams("validatorSlash");
        }
        if (p.maxPromptBytes == 0 || p.maxPromptBytes > HARD_MAX_PROMPT_BYTES) revert InvalidParams("maxPromptBytes");
        if (p.maxOutputBytes == 0 || p.maxOutputBytes > HARD_MAX_OUTPUT_BYTES) revert InvalidParams("maxOutputBytes");

        uint16 version = paramsVersion + 1;
        paramsVersion = version;
        _params[version] = p;
        emit ParamsUpdated(version, p);
    }

    function _windowOk(uint256 window) private pure returns (bool) {
        return window >= MIN_WINDOW && window <= MAX_WINDOW;
    }
}
