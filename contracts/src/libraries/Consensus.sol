// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BPS, TRIM_BPS} from "./Constants.sol";

/// @title Consensus
/// @notice Robust aggregates of validators' scores. Inputs hold at most `MAX_VALIDATORS` values.
library Consensus {
    /// @notice Sorts `values` ascending in place. Insertion sort: at most `MAX_VALIDATORS` values, and
    /// OpenZeppelin's `Arrays.sort` (assembly that is not memory-safe) makes `TaskManager` stack-too-deep
    /// under via-IR.
    function sort(uint256[] memory values) internal pure {
        for (uint256 i = 1; i < values.length; ++i) {
            uint256 v = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > v) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = v;
        }
    }

    /// @notice The median of sorted, non-empty `values`; the mean of the middle two (rounded down) if even.
    function median(uint256[] memory sorted) internal pure returns (uint256) {
        uint256 n = sorted.length;
        uint256 mid = n / 2;
        return n % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// @notice The mean of sorted, non-empty `values` after dropping `TRIM_BPS` of them at each end.
    // slither-disable-next-line divide-before-multiply (trim is a count of scores, rounded down on purpose)
    function trimmedMean(uint256[] memory sorted) internal pure returns (uint256) {
        uint256 n = sorted.length;
        uint256 trim = n * TRIM_BPS / BPS;
        uint256 sum;
        for (uint256 i = trim; i < n - trim; ++i) {
            sum += sorted[i];
        }
        return sum / (n - 2 * trim);
    }

    /// @notice `|a - b|`.
    function absDiff(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }
}
