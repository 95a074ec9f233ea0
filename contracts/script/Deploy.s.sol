// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Script} from "forge-std/Script.sol";

import {NodeRegistry} from "../src/NodeRegistry.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {ITaskManager} from "../src/interfaces/ITaskManager.sol";
import {Defaults} from "./Defaults.sol";

/// @notice Deploys and configures poq, then writes the addresses to `POQ_DEPLOYMENTS`
/// (default `deployments/<chainid>.json`).
/// @dev Every setting has a default (`Defaults`) and an environment override:
///   POQ_OWNER, POQ_TREASURY                       addresses (default: the broadcaster; treasury 0 = no cut)
///   POQ_MODELS                                    comma-separated model names; id = keccak256(name)
///   POQ_MODEL_MIN_FEE                             wei, for every listed model
///   POQ_NUM_OPERATORS, POQ_NUM_VALIDATORS, POQ_QUORUM
///   POQ_OUTPUT_COMMIT_WINDOW, POQ_OUTPUT_REVEAL_WINDOW, POQ_SCORE_COMMIT_WINDOW, POQ_SCORE_REVEAL_WINDOW (s)
///   POQ_OPERATOR_MIN_STAKE, POQ_VALIDATOR_MIN_STAKE, POQ_UNBONDING_DELAY
/// Run: forge script script/Deploy.s.sol --rpc-url $RPC_URL --private-key $PRIVATE_KEY --broadcast
contract Deploy is Script {
    function run() external returns (NodeRegistry registry, TaskManager manager) {
        vm.startBroadcast();
        (, address deployer,) = vm.readCallers();
        address owner = vm.envOr("POQ_OWNER", deployer);
        address treasury = vm.envOr("POQ_TREASURY", deployer);

        // The registry names the task manager, deployed right after it, as its only slasher.
        address predicted = vm.computeCreateAddress(deployer, vm.getNonce(deployer) + 1);
        registry = new NodeRegistry(
            deployer,
            predicted,
            vm.envOr("POQ_OPERATOR_MIN_STAKE", Defaults.OPERATOR_MIN_STAKE),
            vm.envOr("POQ_VALIDATOR_MIN_STAKE", Defaults.VALIDATOR_MIN_STAKE),
            vm.envOr("POQ_UNBONDING_DELAY", Defaults.UNBONDING_DELAY)
        );
        manager = new TaskManager(deployer, registry, treasury, _params());

        string[] memory models = vm.envOr("POQ_MODELS", ",", _defaultModels());
        uint256 minFee = vm.envOr("POQ_MODEL_MIN_FEE", Defaults.MODEL_MIN_FEE);
        for (uint256 i; i < models.length; ++i) {
            manager.setModelMinFee(keccak256(bytes(models[i])), minFee);
        }
        // Ownable2Step: the owner, if not the deployer, accepts with `acceptOwnership()`.
        if (owner != deployer) {
            registry.transferOwnership(owner);
            manager.transferOwnership(owner);
        }
        vm.stopBroadcast();

        _writeDeployment(registry, manager, models);
    }

    function _params() private view returns (ITaskManager.Params memory p) {
        p = Defaults.params();
        p.numOperators = uint8(vm.envOr("POQ_NUM_OPERATORS", uint256(p.numOperators)));
        p.numValidators = uint8(vm.envOr("POQ_NUM_VALIDATORS", uint256(p.numValidators)));
        p.quorum = uint8(vm.envOr("POQ_QUORUM", uint256(p.quorum)));
        p.outputCommitWindow = uint32(vm.envOr("POQ_OUTPUT_COMMIT_WINDOW", uint256(p.outputCommitWindow)));
        p.outputRevealWindow = uint32(vm.envOr("POQ_OUTPUT_REVEAL_WINDOW", uint256(p.outputRevealWindow)));
        p.scoreCommitWindow = uint32(vm.envOr("POQ_SCORE_COMMIT_WINDOW", uint256(p.scoreCommitWindow)));
        p.scoreRevealWindow = uint32(vm.envOr("POQ_SCORE_REVEAL_WINDOW", uint256(p.scoreRevealWindow)));
    }

    function _defaultModels() private pure returns (string[] memory models) {
        models = new string[](1);
        models[0] = "smollm2-135m-instruct-q4_1";
    }

    function _writeDeployment(NodeRegistry registry, TaskManager manager, string[] memory models) private {
        string memory json = "deployment";
        vm.serializeUint(json, "chainId", block.chainid);
        vm.serializeUint(json, "startBlock", block.number);
        vm.serializeString(json, "models", models);
        vm.serializeAddress(json, "nodeRegistry", address(registry));
        string memory out = vm.serializeAddress(json, "taskManager", address(manager));
        string memory path = vm.envOr(
            "POQ_DEPLOYMENTS", string.concat(vm.projectRoot(), "/deployments/", vm.toString(block.chainid), ".json")
        );
        vm.writeJson(out, path);
    }
}
