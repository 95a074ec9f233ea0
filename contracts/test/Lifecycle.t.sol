// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ITaskManager} from "../src/interfaces/ITaskManager.sol";
import {PoqTest} from "./utils/PoqTest.sol";

contract LifecycleTest is PoqTest {
    function test_happyPath_paysByConsensusQuality() public {
        uint16[] memory scores = new uint16[](3);
        scores[0] = 8000;
        scores[1] = 8200;
        scores[2] = 7900;
        uint256 fee = 1 ether;
        uint256 taskId = _runTask(fee, scores);
        assertEq(uint256(manager.getTask(taskId).status), uint256(ITaskManager.Status.Finalized));
        // median 8000: operator gets 0.7 * 0.8 = 0.56
        assertEq(manager.balanceOf(operators[0]), 0.56 ether);
    }
}
