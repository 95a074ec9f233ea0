// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title Commitments
/// @notice The commit–reveal hash shared by operators (outputs) and validators (scores).
/// @dev Binding the chain id, the task contract, the task and the sender makes a commitment copied from
/// another node, task, contract or chain worthless. The off-chain daemons compute the same hash.
library Commitments {
    /// @notice `keccak256(abi.encode(chainId, manager, taskId, sender, payloadHash, salt))`.
    function commitment(
        uint256 chainId,
        address manager,
        uint256 taskId,
        address sender,
        bytes32 payloadHash,
        bytes32 salt
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(chainId, manager, taskId, sender, payloadHash, salt));
    }

    /// @notice The payload hash of an operator's output.
    function outputHash(bytes calldata output) internal pure returns (bytes32) {
        return keccak256(output);
    }

    /// @notice The payload hash of a validator's scores: `keccak256(abi.encode(scores))`.
    function scoresHash(uint16[] calldata scores) internal pure returns (bytes32) {
        return keccak256(abi.encode(scores));
    }
}
