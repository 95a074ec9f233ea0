// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ITaskManager
/// @notice The Proof-of-Quality task lifecycle: a requester pays for a generation, a committee of
/// operators commits to and reveals outputs, a committee of validators commits to and reveals quality
/// scores, and `finalize` pays by the agreed quality.
/// @dev Commitments are `keccak256(abi.encode(chainid, taskManager, taskId, sender, payloadHash, salt))`
/// where `payloadHash` is `keccak256(output)` for operators and `keccak256(abi.encode(scores))` for
/// validators (see `Commitments`). Payouts are credited and pulled with `withdraw`.
interface ITaskManager {
    // ─────────────────────────────── Types ───────────────────────────────

    /// @notice Where a task is in its lifecycle.
    enum Status {
        None,
        /// Paid for; the committee is drawn once the submission block's hash exists.
        Submitted,
        /// Committee drawn; commit–reveal of outputs, then of scores, runs on deadlines.
        Active,
        /// Paid out by consensus quality.
        Finalized,
        /// The requester got its fee back (no committee, no output, or no validator quorum).
        Refunded
    }

    /// @notice How per-output consensus is formed from the revealed scores.
    enum Aggregation {
        Median,
        /// Mean after dropping `TRIM_BPS` of the scores at each end.
        TrimmedMean
    }

    /// @notice How the operator pool is paid.
    enum PayoutMode {
        /// Each operator earns `operatorPool / K * quality`, if its quality reaches the floor.
        Proportional,
        /// Only the best output at or above the floor earns, `operatorPool * quality` (ties: lowest address).
        WinnerTakesAll
    }

    /// @notice Owner-set protocol parameters, versioned: a task keeps the version it was submitted under.
    /// @dev Two slots. Basis points (bps) are of 10_000. Windows are seconds.
    struct Params {
        uint8 numOperators; // K
        uint8 numValidators; // M
        uint8 quorum; // validators that must reveal for a payout
        Aggregation aggregation;
        PayoutMode payoutMode;
        uint32 outputCommitWindow;
        uint32 outputRevealWindow;
        uint32 scoreCommitWindow;
        uint32 scoreRevealWindow;
        uint16 operatorShareBps;
        uint16 validatorShareBps;
        uint16 treasuryShareBps;
        uint16 toleranceBps; // a validator within this of consensus on every output shares the pool
        uint16 qualityFloorBps; // below this an output earns nothing
        uint96 operatorSlash;
        uint96 validatorSlash;
        uint32 maxPromptBytes;
        uint32 maxOutputBytes;
    }

    /// @notice Generation settings chosen by the requester; carried in the event for operators.
    struct SamplingParams {
        uint32 maxTokens;
        uint32 temperatureMilli; // 0 = greedy
        uint16 topPBps; // 0 or 10_000 = off
        uint32 topK; // 0 = off
        uint32 repetitionPenaltyMilli; // 1000 = off
        uint64 seed;
    }

    /// @notice A task's stored state.
    /// @dev Five slots: (requester, fee), promptHash, modelId, evaluatorId, and the packed progress word.
    struct Task {
        address requester;
        uint96 fee;
        bytes32 promptHash;
        bytes32 modelId;
        bytes32 evaluatorId;
        Status status;
        uint16 paramsVersion;
        uint40 submitBlock;
        uint40 selectedAt;
        uint8 outputsCommitted;
        uint8 outputsRevealed;
        uint8 scoresCommitted;
        uint8 scoresRevealed;
    }

    /// @notice A committee member's state for one task, as stored in its entry slot.
    enum EntryState {
        None,
        Selected,
        Committed,
        Revealed
    }

    // ─────────────────────────────── Errors ──────────────────────────────

    /// @notice `submitTask`: no minimum fee is set for `modelId`, so no one serves it.
    error UnknownModel(bytes32 modelId);
    /// @notice `submitTask`: the fee is below the model's minimum.
    error FeeBelowMinimum(uint256 fee, uint256 minimum);
    /// @notice `submitTask`: the fee does not fit the 96-bit fee field.
    error FeeTooLarge(uint256 fee);
    /// @notice `submitTask`: the prompt is empty.
    error EmptyPrompt();
    /// @notice `submitTask`: the prompt is longer than `maxPromptBytes`.
    error PromptTooLarge(uint256 length, uint256 maximum);
    /// @notice `revealOutput`: the output is longer than `maxOutputBytes`.
    error OutputTooLarge(uint256 length, uint256 maximum);
    /// @notice `submitTask`: fewer nodes serve the model or evaluator than the committee needs.
    error NotEnoughNodes(bytes32 service, uint256 available, uint256 needed);
    /// @notice Any task action: no such task.
    error UnknownTask(uint256 taskId);
    /// @notice A task action that its status does not allow.
    error InvalidStatus(uint256 taskId, Status status);
    /// @notice `selectCommittee`: the seed (the submission block's hash) does not exist yet.
    error SeedNotYetAvailable(uint256 taskId, uint256 submitBlock);
    /// @notice `selectCommittee`: the submission block's hash is no longer available; `refund` instead.
    error SelectionWindowClosed(uint256 taskId);
    /// @notice `refund`: the task can still be selected.
    error SelectionWindowOpen(uint256 taskId);
    /// @notice A commit or reveal by a node the task did not select in that role.
    error NotSelected(uint256 taskId, address node);
    /// @notice A commit or reveal outside its phase; `opensAt`/`closesAt` are timestamps (0: not time-bound).
    error PhaseClosed(uint256 taskId, uint256 opensAt, uint256 closesAt);
    /// @notice A second commit by the same node.
    error AlreadyCommitted(uint256 taskId, address node);
    /// @notice A reveal without a commitment, or a second reveal.
    error NotCommitted(uint256 taskId, address node);
    /// @notice A reveal whose payload and salt do not hash to the commitment.
    error CommitmentMismatch(uint256 taskId, address node);
    /// @notice `commitScores`: no output was revealed, so there is nothing to score.
    error NoOutputsToScore(uint256 taskId);
    /// @notice `revealScores`: one score per operator, each at most 10_000.
    error InvalidScores(uint256 taskId);
    /// @notice `finalize`: the task's deadlines do not allow it yet.
    error TooEarlyToFinalize(uint256 taskId, uint256 finalizableAt);
    /// @notice `finalize`: the lists are not the task's committee (length, order or membership).
    error CommitteeMismatch(uint256 taskId);
    /// @notice `withdraw`: nothing is credited to the caller.
    error NothingToWithdraw(address account);
    /// @notice `setParams`: a field lies outside its hard bound.
    error InvalidParams(string field);
    /// @notice ETH arrived from someone other than the registry (slashed stake is the only inflow).
    error UnexpectedEther(address sender);
    /// @notice Constructor: the registry does not name this contract as its task manager.
    error RegistryMismatch(address registry);

    // ─────────────────────────────── Events ──────────────────────────────

    /// @notice A requester paid `fee` for a generation of `prompt` by `modelId`, scored by `evaluatorId`.
    event TaskSubmitted(
        uint256 indexed taskId,
        address indexed requester,
        bytes32 indexed modelId,
        bytes32 evaluatorId,
        uint256 fee,
        SamplingParams sampling,
        bytes prompt
    );
    /// @notice The committee was drawn; scores are given in the order of `operators` (ascending addresses).
    /// @param deadlines Output commit, output reveal, score commit and score reveal deadlines (timestamps).
    event CommitteeSelected(uint256 indexed taskId, address[] operators, address[] validators, uint256[4] deadlines);
    /// @notice An operator committed to its output.
    event OutputCommitted(uint256 indexed taskId, address indexed operator, bytes32 commitment);
    /// @notice An operator revealed its output.
    event OutputRevealed(uint256 indexed taskId, address indexed operator, bytes output);
    /// @notice A validator committed to its scores.
    event ScoresCommitted(uint256 indexed taskId, address indexed validator, bytes32 commitment);
    /// @notice A validator revealed its scores, one per operator in committee order (bps).
    event ScoresRevealed(uint256 indexed taskId, address indexed validator, uint16[] scores);
    /// @notice The task was paid out; `consensus` holds each operator's agreed quality (bps, 0 if unrevealed).
    event TaskFinalized(uint256 indexed taskId, uint16[] consensus, uint256 refund);
    /// @notice The requester was refunded `amount`.
    event TaskRefunded(uint256 indexed taskId, uint256 amount);
    /// @notice `amount` was slashed from `node` for its silence or non-reveal in `taskId`.
    event Slashed(uint256 indexed taskId, address indexed node, uint256 amount);
    /// @notice `amount` was credited to `account` from `taskId`.
    event Credited(uint256 indexed taskId, address indexed account, uint256 amount);
    /// @notice `account` withdrew `amount`.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice The owner set new parameters as `version`, applying to tasks submitted from now on.
    event ParamsUpdated(uint16 indexed version, Params params);
    /// @notice The owner set `modelId`'s minimum fee (0 removes the model).
    event ModelMinFeeSet(bytes32 indexed modelId, uint256 minFee);
    /// @notice The owner set the treasury.
    event TreasurySet(address indexed treasury);

    // ──────────────────────────── Requester ───────────────────────────────

    /// @notice Pays `msg.value` for a generation of `prompt` by `modelId`, scored by `evaluatorId`.
    /// @dev Stores only the prompt's hash. The committee is drawn later from this block's hash, which the
    /// requester cannot know when it signs.
    /// @return taskId The new task's id.
    function submitTask(bytes32 modelId, bytes32 evaluatorId, bytes calldata prompt, SamplingParams calldata sampling)
        external
        payable
        returns (uint256 taskId);

    // ───────────────────────────── Anyone ────────────────────────────────

    /// @notice Draws the task's committee from the submission block's hash; callable by anyone within
    /// 256 blocks of the submission.
    function selectCommittee(uint256 taskId) external;

    /// @notice Refunds a task whose committee was never drawn within the 256-block window.
    function refund(uint256 taskId) external;

    /// @notice Settles a task once its deadlines allow: aggregates scores, credits payouts, slashes silent
    /// and unrevealed nodes, refunds the rest. Callable by anyone.
    /// @param operators The task's operators in committee order (ascending), as in `CommitteeSelected`.
    /// @param validators The task's validators in committee order (ascending).
    function finalize(uint256 taskId, address[] calldata operators, address[] calldata validators) external;

    /// @notice Sends the caller everything credited to it.
    function withdraw() external;

    // ───────────────────────────── Operators ─────────────────────────────

    /// @notice Commits to an output; see the contract docs for the commitment's form.
    function commitOutput(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveals the committed output.
    function revealOutput(uint256 taskId, bytes calldata output, bytes32 salt) external;

    // ───────────────────────────── Validators ────────────────────────────

    /// @notice Commits to scores for the revealed outputs.
    function commitScores(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveals the committed scores: one per operator in committee order, in bps (unrevealed
    /// outputs' scores are ignored).
    function revealScores(uint256 taskId, uint16[] calldata scores, bytes32 salt) external;

    // ──────────────────────────────── Owner ───────────────────────────────

    /// @notice Sets new parameters, within hard bounds, for tasks submitted from now on.
    function setParams(Params calldata newParams) external;

    /// @notice Sets `modelId`'s minimum fee; 0 stops new tasks for the model.
    function setModelMinFee(bytes32 modelId, uint256 minFee) external;

    /// @notice Sets the treasury that receives `treasuryShareBps` of each paid task (zero: no cut).
    function setTreasury(address treasury) external;

    /// @notice Stops new submissions. Open tasks, finalization, refunds and withdrawals go on.
    function pause() external;

    /// @notice Resumes submissions.
    function unpause() external;

    // ──────────────────────────────── Views ───────────────────────────────

    /// @notice A task's stored state.
    function getTask(uint256 taskId) external view returns (Task memory);

    /// @notice The parameters of `version`.
    function params(uint16 version) external view returns (Params memory);

    /// @notice The version new tasks are submitted under.
    function paramsVersion() external view returns (uint16);

    /// @notice `node`'s state in `taskId` and its stored word (commitment, output hash or packed scores).
    function entryOf(uint256 taskId, address node) external view returns (EntryState state, uint256 word);

    /// @notice The four phase deadlines of an active task (timestamps).
    function deadlines(uint256 taskId) external view returns (uint256[4] memory);

    /// @notice Wei credited to `account`, withdrawable.
    function balanceOf(address account) external view returns (uint256);

    /// @notice The minimum fee for `modelId` (0: unknown model).
    function minFeeOf(bytes32 modelId) external view returns (uint256);

    /// @notice The next task id.
    function nextTaskId() external view returns (uint256);
}
