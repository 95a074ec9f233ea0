// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ITaskManager} from "../src/interfaces/ITaskManager.sol";

/// @notice The parameters a fresh deployment starts with; the deploy script and the tests share them.
library Defaults {
    uint256 internal constant OPERATOR_MIN_STAKE = 0.1 ether;
    uint256 internal constant VALIDATOR_MIN_STAKE = 0.05 ether;
    /// @dev The registry's floor (`MAX_TASK_LIFETIME`): four 6-hour windows plus a day of grace.
    uint256 internal constant UNBONDING_DELAY = 2 days;
    uint256 internal constant MODEL_MIN_FEE = 0.001 ether;

    function params() internal pure returns (ITaskManager.Params memory) {
        return ITaskManager.Params({
            numOperators: 1,
            numValidators: 3,
            quorum: 2,
            aggregation: ITaskManager.Aggregation.Median,
            payoutMode: ITaskManager.PayoutMode.Proportional,
            outputCommitWindow: 180,
            outputRevealWindow: 60,
            scoreCommitWindow: 120,
            scoreRevealWindow: 60,
            operatorShareBps: 7000,
            validatorShareBps: 2500,
            treasuryShareBps: 500,
            toleranceBps: 1000,
            qualityFloorBps: 2000,
            operatorSlash: 0.05 ether,
            validatorSlash: 0.02 ether,
            maxPromptBytes: 8192,
            maxOutputBytes: 16_384
        });
    }
}
