// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Errors} from "@openzeppelin/contracts/utils/Errors.sol";
import {stdError} from "forge-std/StdError.sol";
import {Vm} from "forge-std/Vm.sol";

import {Defaults} from "../script/Defaults.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../src/interfaces/ITaskManager.sol";
import {MAX_TASK_LIFETIME, SETTLEMENT_GRACE} from "../src/libraries/Constants.sol";
import {PoqTest} from "./utils/PoqTest.sol";

// ═════════════════════════════════ Helpers ═════════════════════════════════

/// @dev A node that re-enters `withdrawStake` from its `receive`. With `swallow` it catches the inner
/// failure (so the outer withdrawal can complete); without it the inner failure bubbles up.
contract ReentrantWithdrawer {
    NodeRegistry internal immutable registry;
    bool public swallow;
    uint256 public reentries;
    uint256 public received;
    bytes public innerError;

    constructor(NodeRegistry registry_) {
        registry = registry_;
    }

    function register(bytes32[] calldata services) external payable {
        registry.register{value: msg.value}(INodeRegistry.Role.Operator, services);
    }

    function requestUnstake(uint256 amount) external {
        registry.requestUnstake(amount);
    }

    function withdraw(bool swallow_) external {
        swallow = swallow_;
        registry.withdrawStake();
    }

    receive() external payable {
        received += msg.value;
        if (reentries > 0) return;
        ++reentries;
        if (swallow) {
            try registry.withdrawStake() {}
            catch (bytes memory err) {
                innerError = err;
            }
        } else {
            registry.withdrawStake();
        }
    }
}

/// @dev A node that cannot receive ETH.
contract RejectingNode {
    NodeRegistry internal immutable registry;

    constructor(NodeRegistry registry_) {
        registry = registry_;
    }

    function register(bytes32[] calldata services) external payable {
        registry.register{value: msg.value}(INodeRegistry.Role.Operator, services);
    }

    function requestUnstake(uint256 amount) external {
        registry.requestUnstake(amount);
    }

    function withdraw() external {
        registry.withdrawStake();
    }
}

/// @notice Shared helpers for the NodeRegistry tests.
abstract contract NodeRegistryBase is PoqTest {
    bytes32 internal constant SVC_A = keccak256("service-a");
    bytes32 internal constant SVC_B = keccak256("service-b");
    bytes32 internal constant SVC_C = keccak256("service-c");
    /// @dev A service only validators use in these tests (services are bound to the role that uses them first).
    bytes32 internal constant SVC_V = keccak256("service-v");

    uint256 internal constant OP_MIN = Defaults.OPERATOR_MIN_STAKE;
    uint256 internal constant VAL_MIN = Defaults.VALIDATOR_MIN_STAKE;
    uint256 internal constant DELAY = Defaults.UNBONDING_DELAY;
    uint256 internal constant UINT96_MAX = type(uint96).max;

    /// @dev Every node whose stake the registry holds, for the balance identity.
    address[] internal tracked;

    function setUp() public virtual override {
        super.setUp();
        for (uint256 i; i < operators.length; ++i) {
            tracked.push(operators[i]);
        }
        for (uint256 i; i < validators.length; ++i) {
            tracked.push(validators[i]);
        }
    }

    // ─────────────────────────────── Builders ──────────────────────────────

    function _svcs(bytes32 a) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](1);
        s[0] = a;
    }

    function _svcs(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](2);
        s[0] = a;
        s[1] = b;
    }

    function _svcs(bytes32 a, bytes32 b, bytes32 c) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](3);
        s[0] = a;
        s[1] = b;
        s[2] = c;
    }

    function _manySvcs(uint256 n) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            s[i] = keccak256(abi.encode("many", i));
        }
    }

    function _addrs(address a) internal pure returns (address[] memory r) {
        r = new address[](1);
        r[0] = a;
    }

    function _addrs(address a, address b) internal pure returns (address[] memory r) {
        r = new address[](2);
        r[0] = a;
        r[1] = b;
    }

    function _addrs(address a, address b, address c) internal pure returns (address[] memory r) {
        r = new address[](3);
        r[0] = a;
        r[1] = b;
        r[2] = c;
    }

    function _addrs(address a, address b, address c, address d) internal pure returns (address[] memory r) {
        r = new address[](4);
        r[0] = a;
        r[1] = b;
        r[2] = c;
        r[3] = d;
    }

    function _empty() internal pure returns (address[] memory r) {
        r = new address[](0);
    }

    /// @dev Registers a fresh, funded node with `stake`.
    function _join(string memory name, INodeRegistry.Role role, bytes32[] memory services, uint256 stake)
        internal
        returns (address node)
    {
        node = makeAddr(name);
        _joinAs(node, role, services, stake);
    }

    function _joinAs(address node, INodeRegistry.Role role, bytes32[] memory services, uint256 stake) internal {
        vm.deal(node, node.balance + stake);
        vm.prank(node);
        registry.register{value: stake}(role, services);
        tracked.push(node);
    }

    function _unstake(address node, uint256 amount) internal {
        vm.prank(node);
        registry.requestUnstake(amount);
    }

    function _addStake(address node, uint256 amount) internal {
        vm.deal(node, node.balance + amount);
        vm.prank(node);
        registry.addStake{value: amount}();
    }

    function _slash(address node, uint256 amount) internal returns (uint256 taken) {
        vm.prank(address(manager));
        taken = registry.slash(node, amount);
    }

    // ─────────────────────────────── Checks ────────────────────────────────

    function _pool(bytes32 service) internal view returns (address[] memory p) {
        p = new address[](registry.poolSize(service));
        for (uint256 i; i < p.length; ++i) {
            p[i] = registry.poolAt(service, i);
        }
    }

    function _inPool(bytes32 service, address node) internal view returns (bool) {
        uint256 n = registry.poolSize(service);
        for (uint256 i; i < n; ++i) {
            if (registry.poolAt(service, i) == node) return true;
        }
        return false;
    }

    function _stake(address node) internal view returns (uint256) {
        return registry.nodeInfo(node).stake;
    }

    function _unbonding(address node) internal view returns (uint256) {
        return registry.nodeInfo(node).unbonding;
    }

    function _active(address node) internal view returns (bool) {
        return registry.nodeInfo(node).active;
    }

    /// @dev The registry holds exactly Σ stake + Σ unbonding.
    function _assertHeld() internal view {
        uint256 sum;
        for (uint256 i; i < tracked.length; ++i) {
            INodeRegistry.Node memory n = registry.nodeInfo(tracked[i]);
            sum += uint256(n.stake) + n.unbonding;
        }
        assertEq(address(registry).balance, sum, "registry balance != sum(stake + unbonding)");
    }

    /// @dev A node sits in each of its pools exactly once iff it is active, and is active iff at its minimum.
    function _assertMembership(address node) internal view {
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        assertEq(n.active, uint256(n.stake) >= registry.minStake(n.role), "active != (stake >= minimum)");
        bytes32[] memory services = registry.servicesOf(node);
        for (uint256 s; s < services.length; ++s) {
            uint256 count;
            uint256 size = registry.poolSize(services[s]);
            for (uint256 i; i < size; ++i) {
                if (registry.poolAt(services[s], i) == node) ++count;
            }
            assertEq(count, n.active ? 1 : 0, "pool membership");
        }
    }

    function _assertSortedDistinct(address[] memory a) internal pure {
        for (uint256 i = 1; i < a.length; ++i) {
            assertLt(uint160(a[i - 1]), uint160(a[i]), "not strictly ascending");
        }
    }

    /// @dev Plain Fisher-Yates over a full copy of the pool, with the registry's index formula, then sorted.
    function _referenceSelect(bytes32 service, uint256 count, bytes32 seed)
        internal
        view
        returns (address[] memory out)
    {
        address[] memory pool = _pool(service);
        uint256 n = pool.length;
        out = new address[](count);
        for (uint256 i; i < count; ++i) {
            uint256 j = i + uint256(keccak256(abi.encode(seed, i))) % (n - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
            out[i] = pool[i];
        }
        for (uint256 i = 1; i < count; ++i) {
            for (uint256 k = i; k > 0 && out[k - 1] > out[k]; --k) {
                (out[k - 1], out[k]) = (out[k], out[k - 1]);
            }
        }
    }
}

// ═══════════════════════════════ Constructor ═══════════════════════════════

contract NodeRegistryConstructorTest is NodeRegistryBase {
    address internal tm = makeAddr("taskManager");

    function test_constructor_setsParameters() public view {
        assertEq(registry.owner(), owner);
        assertEq(registry.pendingOwner(), address(0));
        assertEq(registry.taskManager(), address(manager));
        assertEq(registry.minStake(INodeRegistry.Role.Operator), OP_MIN);
        assertEq(registry.minStake(INodeRegistry.Role.Validator), VAL_MIN);
        assertEq(registry.minStake(INodeRegistry.Role.None), 0);
        assertEq(registry.unbondingDelay(), DELAY);
        assertEq(registry.MAX_SERVICES(), 16);
        assertEq(registry.MIN_STAKE_FLOOR(), 0.001 ether);
        assertEq(registry.MAX_STAKE_CEILING(), 1_000_000 ether);
        assertEq(registry.MIN_UNBONDING_DELAY(), MAX_TASK_LIFETIME);
        assertEq(registry.MIN_UNBONDING_DELAY(), 2 days);
        assertEq(registry.MAX_UNBONDING_DELAY(), 90 days);
    }

    function test_constructor_emitsParameterEvents() public {
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        vm.expectEmit(predicted);
        emit Ownable.OwnershipTransferred(address(0), owner);
        vm.expectEmit(predicted);
        emit INodeRegistry.MinStakeSet(INodeRegistry.Role.Operator, 1 ether);
        vm.expectEmit(predicted);
        emit INodeRegistry.MinStakeSet(INodeRegistry.Role.Validator, 0.5 ether);
        vm.expectEmit(predicted);
        emit INodeRegistry.UnbondingDelaySet(7 days);
        NodeRegistry r = new NodeRegistry(owner, tm, 1 ether, 0.5 ether, 7 days);
        assertEq(address(r), predicted);
        assertEq(r.taskManager(), tm);
    }

    function test_constructor_acceptsBounds() public {
        NodeRegistry r = new NodeRegistry(owner, tm, 0.001 ether, 1_000_000 ether, 2 days);
        assertEq(r.minStake(INodeRegistry.Role.Operator), 0.001 ether);
        assertEq(r.minStake(INodeRegistry.Role.Validator), 1_000_000 ether);
        assertEq(r.unbondingDelay(), 2 days);
        r = new NodeRegistry(owner, tm, 1_000_000 ether, 0.001 ether, 90 days);
        assertEq(r.minStake(INodeRegistry.Role.Operator), 1_000_000 ether);
        assertEq(r.minStake(INodeRegistry.Role.Validator), 0.001 ether);
        assertEq(r.unbondingDelay(), 90 days);
    }

    function test_revert_constructor_ZeroTaskManager() public {
        vm.expectRevert(INodeRegistry.ZeroTaskManager.selector);
        new NodeRegistry(owner, address(0), OP_MIN, VAL_MIN, DELAY);
    }

    function test_revert_constructor_OwnableInvalidOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new NodeRegistry(address(0), tm, OP_MIN, VAL_MIN, DELAY);
    }

    function test_revert_constructor_ParameterOutOfBounds_operatorMinStakeBelowFloor() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.ParameterOutOfBounds.selector, 0.001 ether - 1, 0.001 ether, 1_000_000 ether
            )
        );
        new NodeRegistry(owner, tm, 0.001 ether - 1, VAL_MIN, DELAY);
    }

    function test_revert_constructor_ParameterOutOfBounds_operatorMinStakeAboveCeiling() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.ParameterOutOfBounds.selector, 1_000_000 ether + 1, 0.001 ether, 1_000_000 ether
            )
        );
        new NodeRegistry(owner, tm, 1_000_000 ether + 1, VAL_MIN, DELAY);
    }

    function test_revert_constructor_ParameterOutOfBounds_validatorMinStakeBelowFloor() public {
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ParameterOutOfBounds.selector, 0, 0.001 ether, 1_000_000 ether)
        );
        new NodeRegistry(owner, tm, OP_MIN, 0, DELAY);
    }

    function test_revert_constructor_ParameterOutOfBounds_validatorMinStakeAboveCeiling() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.ParameterOutOfBounds.selector, type(uint256).max, 0.001 ether, 1_000_000 ether
            )
        );
        new NodeRegistry(owner, tm, OP_MIN, type(uint256).max, DELAY);
    }

    function test_revert_constructor_ParameterOutOfBounds_unbondingDelayBelowMinimum() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.ParameterOutOfBounds.selector, MAX_TASK_LIFETIME - 1, MAX_TASK_LIFETIME, 90 days
            )
        );
        new NodeRegistry(owner, tm, OP_MIN, VAL_MIN, MAX_TASK_LIFETIME - 1);
    }

    function test_revert_constructor_ParameterOutOfBounds_unbondingDelayAboveMaximum() public {
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ParameterOutOfBounds.selector, 90 days + 1, MAX_TASK_LIFETIME, 90 days)
        );
        new NodeRegistry(owner, tm, OP_MIN, VAL_MIN, 90 days + 1);
    }
}

// ═════════════════════════════════ register ════════════════════════════════

contract NodeRegistryRegisterTest is NodeRegistryBase {
    address internal alice = makeAddr("alice");

    function setUp() public override {
        super.setUp();
        vm.deal(alice, 100 ether);
        tracked.push(alice);
    }

    function test_register_storesNode() public {
        uint256 before = address(registry).balance;
        vm.warp(1000);
        vm.prank(alice);
        registry.register{value: 1.5 ether}(INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B));

        INodeRegistry.Node memory n = registry.nodeInfo(alice);
        assertEq(n.stake, 1.5 ether);
        assertEq(n.unbonding, 0);
        assertEq(n.unbondingEnd, 0);
        assertEq(uint256(n.role), uint256(INodeRegistry.Role.Operator));
        assertTrue(n.active);
        bytes32[] memory s = registry.servicesOf(alice);
        assertEq(s.length, 2);
        assertEq(s[0], SVC_A);
        assertEq(s[1], SVC_B);
        assertEq(address(registry).balance, before + 1.5 ether);
        assertEq(alice.balance, 100 ether - 1.5 ether);
        _assertHeld();
    }

    function test_register_joinsEachServicePool() public {
        address bob = _join("bob", INodeRegistry.Role.Operator, _svcs(SVC_B), OP_MIN);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B, SVC_C));
        assertEq(_pool(SVC_A), _addrs(alice));
        assertEq(_pool(SVC_B), _addrs(bob, alice));
        assertEq(_pool(SVC_C), _addrs(alice));
        // Pools of other services are untouched.
        assertEq(_pool(MODEL), _addrs(operators[0]));
        assertEq(registry.poolSize(EVALUATOR), 3);
        _assertMembership(alice);
        _assertMembership(bob);
    }

    function test_register_emitsNodeRegisteredAndNodeActivityChanged() public {
        bytes32[] memory services = _svcs(SVC_A, SVC_B);
        // Both services are new: each is bound to the validator role first.
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_A, INodeRegistry.Role.Validator);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_B, INodeRegistry.Role.Validator);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeRegistered(alice, INodeRegistry.Role.Validator, 2 ether, services);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, true);
        vm.recordLogs();
        vm.prank(alice);
        registry.register{value: 2 ether}(INodeRegistry.Role.Validator, services);
        assertEq(vm.getRecordedLogs().length, 4);
    }

    function test_register_bindsNewServiceToRole() public {
        // The shared setUp bound the model to operators and the evaluator to validators.
        assertEq(uint256(registry.serviceRole(MODEL)), uint256(INodeRegistry.Role.Operator));
        assertEq(uint256(registry.serviceRole(EVALUATOR)), uint256(INodeRegistry.Role.Validator));
        assertEq(uint256(registry.serviceRole(SVC_A)), uint256(INodeRegistry.Role.None));
        assertEq(uint256(registry.serviceRole(SVC_B)), uint256(INodeRegistry.Role.None));

        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_A, INodeRegistry.Role.Operator);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_B, INodeRegistry.Role.Operator);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B));
        assertEq(uint256(registry.serviceRole(SVC_A)), uint256(INodeRegistry.Role.Operator));
        assertEq(uint256(registry.serviceRole(SVC_B)), uint256(INodeRegistry.Role.Operator));
        assertEq(uint256(registry.serviceRole(SVC_C)), uint256(INodeRegistry.Role.None));

        // A validator binds its new service to the validator role.
        address bob = makeAddr("bob");
        vm.deal(bob, VAL_MIN);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_V, INodeRegistry.Role.Validator);
        vm.prank(bob);
        registry.register{value: VAL_MIN}(INodeRegistry.Role.Validator, _svcs(SVC_V));
        tracked.push(bob);
        assertEq(uint256(registry.serviceRole(SVC_V)), uint256(INodeRegistry.Role.Validator));
        // The earlier bindings are untouched.
        assertEq(uint256(registry.serviceRole(SVC_A)), uint256(INodeRegistry.Role.Operator));
        assertEq(uint256(registry.serviceRole(EVALUATOR)), uint256(INodeRegistry.Role.Validator));
        _assertHeld();
    }

    function test_register_sameRoleDoesNotRebindService() public {
        address bob = _join("bob", INodeRegistry.Role.Operator, _svcs(SVC_A), OP_MIN);
        // Alice (same role) joins SVC_A, already bound, and SVC_B, new: only SVC_B is bound.
        bytes32[] memory services = _svcs(SVC_A, SVC_B);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_B, INodeRegistry.Role.Operator);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeRegistered(alice, INodeRegistry.Role.Operator, OP_MIN, services);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, true);
        vm.recordLogs();
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, services);
        assertEq(vm.getRecordedLogs().length, 3);
        assertEq(uint256(registry.serviceRole(SVC_A)), uint256(INodeRegistry.Role.Operator));
        assertEq(_pool(SVC_A), _addrs(bob, alice));

        // Another validator on the evaluator, bound since setUp: no ServiceBound at all.
        address carol = makeAddr("carol");
        vm.deal(carol, VAL_MIN);
        vm.recordLogs();
        vm.prank(carol);
        registry.register{value: VAL_MIN}(INodeRegistry.Role.Validator, _svcs(EVALUATOR));
        tracked.push(carol);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2); // NodeRegistered, NodeActivityChanged
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != INodeRegistry.ServiceBound.selector, "ServiceBound re-emitted");
        }
        assertEq(uint256(registry.serviceRole(EVALUATOR)), uint256(INodeRegistry.Role.Validator));
        assertEq(registry.poolSize(EVALUATOR), validators.length + 1);
        _assertHeld();
    }

    function test_revert_register_ServiceRoleMismatch() public {
        // An operator cannot serve an evaluator id...
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, EVALUATOR, INodeRegistry.Role.Validator)
        );
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(EVALUATOR));
        // ... nor take it after a new service, whose binding is rolled back with the registration.
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, EVALUATOR, INodeRegistry.Role.Validator)
        );
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A, MODEL, EVALUATOR));
        assertEq(uint256(registry.serviceRole(SVC_A)), uint256(INodeRegistry.Role.None));

        // ... and a validator cannot serve a model id.
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, MODEL, INodeRegistry.Role.Operator)
        );
        vm.prank(alice);
        registry.register{value: VAL_MIN}(INodeRegistry.Role.Validator, _svcs(EVALUATOR, MODEL));

        // A service bound by a test-made node counts the same way.
        _join("bob", INodeRegistry.Role.Validator, _svcs(SVC_V), VAL_MIN);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, SVC_V, INodeRegistry.Role.Validator)
        );
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_V));

        // Nothing stuck: alice is not registered, holds her ETH, and no pool or binding moved.
        INodeRegistry.Node memory n = registry.nodeInfo(alice);
        assertEq(uint256(n.role), uint256(INodeRegistry.Role.None));
        assertEq(n.stake, 0);
        assertEq(alice.balance, 100 ether);
        assertEq(registry.servicesOf(alice).length, 0);
        assertEq(_pool(MODEL), _addrs(operators[0]));
        assertEq(registry.poolSize(EVALUATOR), validators.length);
        assertEq(uint256(registry.serviceRole(MODEL)), uint256(INodeRegistry.Role.Operator));
        assertEq(uint256(registry.serviceRole(EVALUATOR)), uint256(INodeRegistry.Role.Validator));
        _assertHeld();

        // With role-appropriate services she registers.
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A, MODEL));
        assertEq(_pool(MODEL), _addrs(operators[0], alice));
    }

    /// @dev The binding outlives every node that used the service: it is never released.
    function test_revert_register_ServiceRoleMismatch_afterPoolEmptied() public {
        address bob = _join("bob", INodeRegistry.Role.Operator, _svcs(SVC_A), OP_MIN);
        _unstake(bob, OP_MIN);
        vm.warp(vm.getBlockTimestamp() + DELAY);
        vm.prank(bob);
        registry.withdrawStake();
        assertEq(registry.poolSize(SVC_A), 0);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, SVC_A, INodeRegistry.Role.Operator)
        );
        vm.prank(alice);
        registry.register{value: VAL_MIN}(INodeRegistry.Role.Validator, _svcs(SVC_A));
    }

    function test_register_atExactMinimum() public {
        vm.prank(alice);
        registry.register{value: VAL_MIN}(INodeRegistry.Role.Validator, _svcs(SVC_A));
        assertEq(_stake(alice), VAL_MIN);
        assertTrue(_active(alice));
        assertEq(_pool(SVC_A), _addrs(alice));
    }

    function test_register_maxServices() public {
        bytes32[] memory services = _manySvcs(16);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, services);
        assertEq(registry.servicesOf(alice).length, 16);
        for (uint256 i; i < 16; ++i) {
            assertEq(_pool(services[i]), _addrs(alice));
        }
    }

    function test_register_uint96MaxStake() public {
        vm.deal(alice, UINT96_MAX);
        vm.prank(alice);
        registry.register{value: UINT96_MAX}(INodeRegistry.Role.Operator, _svcs(SVC_A));
        assertEq(_stake(alice), UINT96_MAX);
        _assertHeld();
    }

    function test_revert_register_InvalidRole() public {
        vm.expectRevert(INodeRegistry.InvalidRole.selector);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.None, _svcs(SVC_A));
    }

    function test_revert_register_NodeAlreadyRegistered_sameRole() public {
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeAlreadyRegistered.selector, alice));
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_B));
    }

    function test_revert_register_NodeAlreadyRegistered_otherRole() public {
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeAlreadyRegistered.selector, alice));
        vm.prank(alice);
        registry.register{value: VAL_MIN}(INodeRegistry.Role.Validator, _svcs(SVC_A));
    }

    function test_revert_register_NodeAlreadyRegistered_afterFullExit() public {
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A));
        _unstake(alice, OP_MIN);
        vm.warp(vm.getBlockTimestamp() + DELAY);
        vm.prank(alice);
        registry.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeAlreadyRegistered.selector, alice));
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A));
    }

    function test_revert_register_StakeBelowMinimum_operator() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, OP_MIN - 1, OP_MIN));
        vm.prank(alice);
        registry.register{value: OP_MIN - 1}(INodeRegistry.Role.Operator, _svcs(SVC_A));
    }

    function test_revert_register_StakeBelowMinimum_validator() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, VAL_MIN - 1, VAL_MIN));
        vm.prank(alice);
        registry.register{value: VAL_MIN - 1}(INodeRegistry.Role.Validator, _svcs(SVC_A));
    }

    function test_revert_register_StakeBelowMinimum_zero() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, 0, VAL_MIN));
        vm.prank(alice);
        registry.register(INodeRegistry.Role.Validator, _svcs(SVC_A));
    }

    function test_revert_register_InvalidServices_empty() public {
        vm.expectRevert(INodeRegistry.InvalidServices.selector);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, new bytes32[](0));
    }

    function test_revert_register_InvalidServices_tooMany() public {
        vm.expectRevert(INodeRegistry.InvalidServices.selector);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _manySvcs(17));
    }

    function test_revert_register_InvalidServices_duplicate() public {
        vm.expectRevert(INodeRegistry.InvalidServices.selector);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B, SVC_A));
    }

    function test_revert_register_InvalidServices_duplicateAdjacent() public {
        bytes32[] memory services = _manySvcs(16);
        services[15] = services[14];
        vm.expectRevert(INodeRegistry.InvalidServices.selector);
        vm.prank(alice);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, services);
    }

    function test_revert_register_StakeOverflow() public {
        uint256 value = UINT96_MAX + 1;
        vm.deal(alice, value);
        vm.expectRevert(INodeRegistry.StakeOverflow.selector);
        vm.prank(alice);
        registry.register{value: value}(INodeRegistry.Role.Operator, _svcs(SVC_A));
    }

    function testFuzz_register_stake(uint256 stake, bool validator) public {
        INodeRegistry.Role role = validator ? INodeRegistry.Role.Validator : INodeRegistry.Role.Operator;
        uint256 minimum = validator ? VAL_MIN : OP_MIN;
        stake = bound(stake, 0, UINT96_MAX * 2);
        vm.deal(alice, stake);
        if (stake < minimum) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, stake, minimum));
        } else if (stake > UINT96_MAX) {
            vm.expectRevert(INodeRegistry.StakeOverflow.selector);
        }
        vm.prank(alice);
        registry.register{value: stake}(role, _svcs(SVC_A));
        bool ok = stake >= minimum && stake <= UINT96_MAX;
        assertEq(_stake(alice), ok ? stake : 0);
        assertEq(registry.poolSize(SVC_A), ok ? 1 : 0);
        _assertHeld();
    }
}

// ═══════════════════════════════ setServices ═══════════════════════════════

contract NodeRegistrySetServicesTest is NodeRegistryBase {
    address internal alice;
    address internal bob;

    function setUp() public override {
        super.setUp();
        bob = _join("bob", INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B), OP_MIN);
        alice = _join("alice", INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B), 1 ether);
    }

    function test_setServices_leavesOldPoolsAndJoinsNew() public {
        vm.prank(alice);
        registry.setServices(_svcs(SVC_B, SVC_C));
        assertEq(_pool(SVC_A), _addrs(bob));
        assertEq(_pool(SVC_B), _addrs(bob, alice));
        assertEq(_pool(SVC_C), _addrs(alice));
        bytes32[] memory s = registry.servicesOf(alice);
        assertEq(s.length, 2);
        assertEq(s[0], SVC_B);
        assertEq(s[1], SVC_C);
        assertTrue(_active(alice));
        assertEq(_stake(alice), 1 ether);
        _assertMembership(alice);
        _assertMembership(bob);
        // Bob's positions survived alice's swap-and-pop: he can still leave cleanly.
        _unstake(bob, 1);
        assertEq(_pool(SVC_A), _empty());
        assertEq(_pool(SVC_B), _addrs(alice));
    }

    function test_setServices_emitsEvents() public {
        bytes32[] memory services = _svcs(SVC_C);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_C, INodeRegistry.Role.Operator);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, false);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServicesUpdated(alice, services);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, true);
        vm.recordLogs();
        vm.prank(alice);
        registry.setServices(services);
        assertEq(vm.getRecordedLogs().length, 4);
        assertEq(uint256(registry.serviceRole(SVC_C)), uint256(INodeRegistry.Role.Operator));
    }

    function test_setServices_sameRoleDoesNotRebindService() public {
        // SVC_B is bound since bob registered; MODEL since setUp: neither is bound again.
        bytes32[] memory services = _svcs(SVC_B, MODEL);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, false);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServicesUpdated(alice, services);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, true);
        vm.recordLogs();
        vm.prank(alice);
        registry.setServices(services);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 3);
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != INodeRegistry.ServiceBound.selector, "ServiceBound re-emitted");
        }
        assertEq(_pool(MODEL), _addrs(operators[0], alice));
    }

    function test_setServices_sameServicesKeepsMembership() public {
        vm.prank(bob);
        registry.setServices(_svcs(SVC_A, SVC_B));
        assertEq(_pool(SVC_A), _addrs(alice, bob));
        assertEq(_pool(SVC_B), _addrs(alice, bob));
        _assertMembership(alice);
        _assertMembership(bob);
    }

    function test_setServices_inactiveNodeStaysOutOfPools() public {
        _unstake(alice, 1 ether - OP_MIN + 1); // below the minimum
        assertFalse(_active(alice));
        bytes32[] memory services = _svcs(SVC_C);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServiceBound(SVC_C, INodeRegistry.Role.Operator);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ServicesUpdated(alice, services);
        vm.recordLogs();
        vm.prank(alice);
        registry.setServices(services);
        assertEq(vm.getRecordedLogs().length, 2); // ServiceBound, ServicesUpdated: no activity change
        assertFalse(_active(alice));
        assertEq(registry.poolSize(SVC_C), 0);
        assertEq(_pool(SVC_A), _addrs(bob));
        assertEq(registry.servicesOf(alice)[0], SVC_C);
        // Topped back up, it joins only its new pools.
        _addStake(alice, 1);
        assertTrue(_active(alice));
        assertEq(_pool(SVC_C), _addrs(alice));
        assertEq(_pool(SVC_A), _addrs(bob));
        assertEq(_pool(SVC_B), _addrs(bob));
    }

    function test_revert_setServices_NodeNotRegistered() public {
        address eve = makeAddr("eve");
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, eve));
        vm.prank(eve);
        registry.setServices(_svcs(SVC_A));
    }

    function test_revert_setServices_InvalidServices_empty() public {
        vm.expectRevert(INodeRegistry.InvalidServices.selector);
        vm.prank(alice);
        registry.setServices(new bytes32[](0));
    }

    function test_revert_setServices_InvalidServices_tooMany() public {
        vm.expectRevert(INodeRegistry.InvalidServices.selector);
        vm.prank(alice);
        registry.setServices(_manySvcs(17));
    }

    function test_revert_setServices_InvalidServices_duplicate() public {
        vm.expectRevert(INodeRegistry.InvalidServices.selector);
        vm.prank(alice);
        registry.setServices(_svcs(SVC_C, SVC_C));
    }

    function test_revert_setServices_ServiceRoleMismatch() public {
        // An operator cannot move to an evaluator id, even next to a new service (rolled back with it).
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, EVALUATOR, INodeRegistry.Role.Validator)
        );
        vm.prank(alice);
        registry.setServices(_svcs(SVC_C, EVALUATOR));
        assertEq(uint256(registry.serviceRole(SVC_C)), uint256(INodeRegistry.Role.None));
        // Alice keeps her services and her pools.
        bytes32[] memory s = registry.servicesOf(alice);
        assertEq(s.length, 2);
        assertEq(s[0], SVC_A);
        assertEq(s[1], SVC_B);
        assertTrue(_active(alice));
        assertEq(_pool(SVC_A), _addrs(bob, alice));
        assertEq(_pool(SVC_B), _addrs(bob, alice));
        assertEq(registry.poolSize(EVALUATOR), validators.length);

        // A validator cannot move to a model id, nor to a service operators bound in this test.
        address val = validators[0];
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, MODEL, INodeRegistry.Role.Operator)
        );
        vm.prank(val);
        registry.setServices(_svcs(EVALUATOR, MODEL));
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, SVC_A, INodeRegistry.Role.Operator)
        );
        vm.prank(val);
        registry.setServices(_svcs(SVC_A));
        assertEq(registry.servicesOf(val).length, 1);
        assertEq(registry.servicesOf(val)[0], EVALUATOR);
        assertEq(registry.poolSize(MODEL), operators.length);
        assertFalse(_inPool(SVC_A, val));
        _assertMembership(val);
    }

    function test_revert_setServices_ServiceRoleMismatch_inactiveNode() public {
        _unstake(alice, 1 ether - OP_MIN + 1);
        assertFalse(_active(alice));
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ServiceRoleMismatch.selector, EVALUATOR, INodeRegistry.Role.Validator)
        );
        vm.prank(alice);
        registry.setServices(_svcs(EVALUATOR));
        assertEq(registry.servicesOf(alice)[0], SVC_A);
        // Topped back up, it rejoins its old pools, not the evaluator's.
        _addStake(alice, 1);
        assertEq(_pool(SVC_A), _addrs(bob, alice));
        assertEq(registry.poolSize(EVALUATOR), validators.length);
    }
}

// ═════════════════════════════════ addStake ════════════════════════════════

contract NodeRegistryAddStakeTest is NodeRegistryBase {
    address internal alice;

    function setUp() public override {
        super.setUp();
        alice = _join("alice", INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B), OP_MIN);
    }

    function test_addStake_increasesStake() public {
        vm.deal(alice, 1 ether);
        vm.expectEmit(address(registry));
        emit INodeRegistry.StakeAdded(alice, 0.3 ether, OP_MIN + 0.3 ether);
        vm.recordLogs();
        vm.prank(alice);
        registry.addStake{value: 0.3 ether}();
        // Already active: no second pool entry, no activity event.
        assertEq(vm.getRecordedLogs().length, 1);
        assertEq(_stake(alice), OP_MIN + 0.3 ether);
        assertEq(alice.balance, 0.7 ether);
        assertEq(_pool(SVC_A), _addrs(alice));
        assertEq(_pool(SVC_B), _addrs(alice));
        _assertHeld();
    }

    function test_addStake_rejoinsPoolsAtMinimum() public {
        _unstake(alice, 0.04 ether);
        assertFalse(_active(alice));
        assertEq(registry.poolSize(SVC_A), 0);

        _addStake(alice, 0.04 ether - 1); // still 1 wei short
        assertFalse(_active(alice));
        assertEq(registry.poolSize(SVC_A), 0);

        vm.deal(alice, 1);
        vm.expectEmit(address(registry));
        emit INodeRegistry.StakeAdded(alice, 1, OP_MIN);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, true);
        vm.prank(alice);
        registry.addStake{value: 1}();
        assertTrue(_active(alice));
        assertEq(_pool(SVC_A), _addrs(alice));
        assertEq(_pool(SVC_B), _addrs(alice));
        // The unbonding part stays unbonding.
        assertEq(_unbonding(alice), 0.04 ether);
        _assertHeld();
    }

    function test_addStake_afterFullSlashRejoins() public {
        _slash(alice, OP_MIN);
        assertEq(_stake(alice), 0);
        assertFalse(_active(alice));
        _addStake(alice, OP_MIN);
        assertTrue(_active(alice));
        assertEq(_pool(SVC_A), _addrs(alice));
    }

    function test_revert_addStake_zeroValue() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, 0, 1));
        vm.prank(alice);
        registry.addStake();
    }

    function test_revert_addStake_NodeNotRegistered() public {
        address eve = makeAddr("eve");
        vm.deal(eve, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, eve));
        vm.prank(eve);
        registry.addStake{value: 1 ether}();
    }

    function test_revert_addStake_StakeOverflow() public {
        uint256 value = UINT96_MAX - OP_MIN + 1;
        vm.deal(alice, value);
        vm.expectRevert(INodeRegistry.StakeOverflow.selector);
        vm.prank(alice);
        registry.addStake{value: value}();
        // Exactly up to the field's maximum is fine.
        vm.prank(alice);
        registry.addStake{value: value - 1}();
        assertEq(_stake(alice), UINT96_MAX);
    }
}

// ══════════════════════════════ requestUnstake ═════════════════════════════

contract NodeRegistryRequestUnstakeTest is NodeRegistryBase {
    address internal alice;

    function setUp() public override {
        super.setUp();
        alice = _join("alice", INodeRegistry.Role.Operator, _svcs(SVC_A), 1 ether);
        vm.warp(10_000);
    }

    function test_requestUnstake_movesStakeToUnbonding() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnstakeRequested(alice, 0.9 ether, 10_000 + DELAY);
        vm.recordLogs();
        _unstake(alice, 0.9 ether); // leaves exactly the minimum
        assertEq(vm.getRecordedLogs().length, 1);
        INodeRegistry.Node memory n = registry.nodeInfo(alice);
        assertEq(n.stake, OP_MIN);
        assertEq(n.unbonding, 0.9 ether);
        assertEq(n.unbondingEnd, 10_000 + DELAY);
        assertTrue(n.active);
        assertEq(_pool(SVC_A), _addrs(alice));
        _assertHeld();
    }

    function test_requestUnstake_belowMinimumLeavesPools() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnstakeRequested(alice, 0.9 ether + 1, 10_000 + DELAY);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(alice, false);
        _unstake(alice, 0.9 ether + 1);
        assertFalse(_active(alice));
        assertEq(registry.poolSize(SVC_A), 0);
        assertEq(_stake(alice), OP_MIN - 1);
        _assertMembership(alice);
    }

    function test_requestUnstake_inactiveNodeUnstakesMore() public {
        _unstake(alice, 0.95 ether);
        assertFalse(_active(alice));
        vm.recordLogs();
        _unstake(alice, 0.05 ether); // the rest; no second removal from the pools
        assertEq(vm.getRecordedLogs().length, 1);
        assertEq(_stake(alice), 0);
        assertEq(_unbonding(alice), 1 ether);
        assertEq(registry.poolSize(SVC_A), 0);
    }

    function test_requestUnstake_swapAndPopKeepsPositions() public {
        // Five nodes in SVC_B, three of them also in SVC_C in another order.
        address n0 = _join("n0", INodeRegistry.Role.Operator, _svcs(SVC_B), OP_MIN);
        address n1 = _join("n1", INodeRegistry.Role.Operator, _svcs(SVC_B, SVC_C), OP_MIN);
        address n2 = _join("n2", INodeRegistry.Role.Operator, _svcs(SVC_C, SVC_B), OP_MIN);
        address n3 = _join("n3", INodeRegistry.Role.Operator, _svcs(SVC_B), OP_MIN);
        address n4 = _join("n4", INodeRegistry.Role.Operator, _svcs(SVC_B, SVC_C), OP_MIN);
        assertEq(_pool(SVC_C), _addrs(n1, n2, n4));

        // Middle: the last node takes its place.
        _unstake(n1, 1);
        address[] memory b = new address[](4);
        (b[0], b[1], b[2], b[3]) = (n0, n4, n2, n3);
        assertEq(_pool(SVC_B), b);
        assertEq(_pool(SVC_C), _addrs(n4, n2));

        // First.
        _unstake(n0, 1);
        assertEq(_pool(SVC_B), _addrs(n3, n4, n2));

        // Last: a plain pop.
        _unstake(n2, 1);
        assertEq(_pool(SVC_B), _addrs(n3, n4));
        assertEq(_pool(SVC_C), _addrs(n4));

        // The moved nodes' positions were kept right: each leaves cleanly.
        _unstake(n4, 1);
        assertEq(_pool(SVC_B), _addrs(n3));
        assertEq(registry.poolSize(SVC_C), 0);
        _unstake(n3, 1);
        assertEq(registry.poolSize(SVC_B), 0);

        // And rejoin at the end, in order.
        _addStake(n2, 1);
        _addStake(n0, 1);
        assertEq(_pool(SVC_B), _addrs(n2, n0));
        assertEq(_pool(SVC_C), _addrs(n2));
        _assertMembership(n0);
        _assertMembership(n1);
        _assertMembership(n2);
        _assertMembership(n3);
        _assertMembership(n4);
    }

    function test_requestUnstake_restartsUnbondingClock() public {
        _unstake(alice, 0.2 ether);
        assertEq(registry.nodeInfo(alice).unbondingEnd, 10_000 + DELAY);
        vm.warp(10_000 + 1 days);
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnstakeRequested(alice, 0.3 ether, 10_000 + 1 days + DELAY);
        _unstake(alice, 0.3 ether);
        INodeRegistry.Node memory n = registry.nodeInfo(alice);
        assertEq(n.unbonding, 0.5 ether);
        assertEq(n.unbondingEnd, 10_000 + 1 days + DELAY);
        // The first part is locked again too.
        vm.warp(10_000 + DELAY);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StillUnbonding.selector, 10_000 + 1 days + DELAY));
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_requestUnstake_usesDelayAtRequestTime() public {
        _unstake(alice, 0.1 ether);
        vm.prank(owner);
        registry.setUnbondingDelay(30 days);
        assertEq(registry.nodeInfo(alice).unbondingEnd, 10_000 + DELAY);
        _unstake(alice, 0.1 ether);
        assertEq(registry.nodeInfo(alice).unbondingEnd, 10_000 + 30 days);
    }

    function test_revert_requestUnstake_InvalidUnstakeAmount_zero() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidUnstakeAmount.selector, 0, 1 ether));
        _unstake(alice, 0);
    }

    function test_revert_requestUnstake_InvalidUnstakeAmount_aboveStake() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidUnstakeAmount.selector, 1 ether + 1, 1 ether));
        _unstake(alice, 1 ether + 1);
    }

    function test_revert_requestUnstake_InvalidUnstakeAmount_unbondingNotCounted() public {
        _unstake(alice, 0.6 ether);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidUnstakeAmount.selector, 0.5 ether, 0.4 ether));
        _unstake(alice, 0.5 ether);
    }

    function test_revert_requestUnstake_NodeNotRegistered() public {
        address eve = makeAddr("eve");
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, eve));
        _unstake(eve, 1);
    }

    /// @dev Unreachable in practice (≈ 7.9e10 ETH), but the 96-bit unbonding field overflows with a panic.
    function test_revert_requestUnstake_arithmeticPanicOnUnbondingOverflow() public {
        address whale = _join("whale", INodeRegistry.Role.Operator, _svcs(SVC_A), UINT96_MAX);
        _unstake(whale, UINT96_MAX);
        _addStake(whale, 1);
        vm.expectRevert(stdError.arithmeticError);
        _unstake(whale, 1);
    }
}

// ═══════════════════════════════ withdrawStake ═════════════════════════════

contract NodeRegistryWithdrawStakeTest is NodeRegistryBase {
    address internal alice;
    uint256 internal end;

    function setUp() public override {
        super.setUp();
        alice = _join("alice", INodeRegistry.Role.Operator, _svcs(SVC_A), 1 ether);
        vm.warp(10_000);
        _unstake(alice, 0.4 ether);
        end = 10_000 + DELAY;
    }

    function test_withdrawStake_atUnbondingEnd() public {
        vm.warp(end);
        uint256 aliceBefore = alice.balance;
        uint256 registryBefore = address(registry).balance;
        vm.expectEmit(address(registry));
        emit INodeRegistry.StakeWithdrawn(alice, 0.4 ether);
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(alice.balance, aliceBefore + 0.4 ether);
        assertEq(address(registry).balance, registryBefore - 0.4 ether);
        INodeRegistry.Node memory n = registry.nodeInfo(alice);
        assertEq(n.unbonding, 0);
        assertEq(n.stake, 0.6 ether);
        assertTrue(n.active);
        _assertHeld();
    }

    function test_withdrawStake_longAfterEnd() public {
        vm.warp(end + 365 days);
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(_unbonding(alice), 0);
    }

    function test_withdrawStake_afterPartialSlashPaysRest() public {
        _unstake(alice, 0.6 ether); // all of it: 1 ether unbonding, clock restarted at 10_000
        _slash(alice, 0.25 ether);
        vm.warp(end);
        uint256 before = alice.balance;
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(alice.balance, before + 0.75 ether);
        _assertHeld();
    }

    function test_revert_withdrawStake_StillUnbonding() public {
        vm.warp(end - 1);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StillUnbonding.selector, end));
        vm.prank(alice);
        registry.withdrawStake();
        vm.warp(10_000);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StillUnbonding.selector, end));
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_revert_withdrawStake_NothingToWithdraw() public {
        address eve = makeAddr("eve");
        vm.expectRevert(INodeRegistry.NothingToWithdraw.selector);
        vm.prank(eve);
        registry.withdrawStake();
        // Registered, but never unstaked.
        vm.expectRevert(INodeRegistry.NothingToWithdraw.selector);
        vm.prank(operators[0]);
        registry.withdrawStake();
    }

    function test_revert_withdrawStake_NothingToWithdraw_double() public {
        vm.warp(end);
        vm.prank(alice);
        registry.withdrawStake();
        uint256 before = alice.balance;
        vm.expectRevert(INodeRegistry.NothingToWithdraw.selector);
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(alice.balance, before);
    }

    function test_revert_withdrawStake_NothingToWithdraw_slashedAway() public {
        _slash(alice, 1 ether); // stake first, then the whole unbonding
        vm.warp(end);
        vm.expectRevert(INodeRegistry.NothingToWithdraw.selector);
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_revert_withdrawStake_ReentrancyGuardReentrantCall() public {
        ReentrantWithdrawer attacker = new ReentrantWithdrawer(registry);
        vm.deal(address(this), 1 ether);
        attacker.register{value: 1 ether}(_svcs(SVC_B));
        tracked.push(address(attacker));
        attacker.requestUnstake(1 ether);
        vm.warp(vm.getBlockTimestamp() + DELAY);

        uint256 before = address(registry).balance;
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        attacker.withdraw(false);
        assertEq(address(registry).balance, before);
        assertEq(address(attacker).balance, 0);
        assertEq(_unbonding(address(attacker)), 1 ether);
        _assertHeld();
    }

    function test_withdrawStake_reentrancySwallowedPaysOnce() public {
        ReentrantWithdrawer attacker = new ReentrantWithdrawer(registry);
        vm.deal(address(this), 1 ether);
        attacker.register{value: 1 ether}(_svcs(SVC_B));
        tracked.push(address(attacker));
        attacker.requestUnstake(1 ether);
        vm.warp(vm.getBlockTimestamp() + DELAY);

        uint256 before = address(registry).balance;
        attacker.withdraw(true);
        assertEq(attacker.reentries(), 1);
        assertEq(attacker.innerError(), abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector));
        assertEq(attacker.received(), 1 ether);
        assertEq(address(attacker).balance, 1 ether);
        assertEq(address(registry).balance, before - 1 ether);
        assertEq(_unbonding(address(attacker)), 0);
        _assertHeld();
    }

    function test_revert_withdrawStake_FailedCall() public {
        RejectingNode node = new RejectingNode(registry);
        vm.deal(address(this), 1 ether);
        node.register{value: 1 ether}(_svcs(SVC_B));
        tracked.push(address(node));
        node.requestUnstake(1 ether);
        vm.warp(vm.getBlockTimestamp() + DELAY);
        vm.expectRevert(Errors.FailedCall.selector);
        node.withdraw();
        assertEq(_unbonding(address(node)), 1 ether);
        _assertHeld();
    }

    function testFuzz_withdrawStake_boundary(uint256 delay, uint256 wait) public {
        delay = bound(delay, MAX_TASK_LIFETIME, 90 days);
        wait = bound(wait, 0, 2 * delay);
        vm.prank(owner);
        registry.setUnbondingDelay(delay);
        _unstake(alice, 0.1 ether);
        uint256 requestedAt = vm.getBlockTimestamp();
        vm.warp(requestedAt + wait);
        if (wait < delay) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StillUnbonding.selector, requestedAt + delay));
        }
        uint256 before = alice.balance;
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(alice.balance, before + (wait < delay ? 0 : 0.5 ether));
        _assertHeld();
    }
}

// ═══════════════════════════════════ slash ═════════════════════════════════

contract NodeRegistrySlashTest is NodeRegistryBase {
    address internal alice;

    function setUp() public override {
        super.setUp();
        alice = _join("alice", INodeRegistry.Role.Operator, _svcs(SVC_A), 1 ether);
        _unstake(alice, 0.3 ether); // stake 0.7, unbonding 0.3
    }

    function test_slash_takesFromStakeFirst() public {
        assertEq(_slash(alice, 0.5 ether), 0.5 ether);
        assertEq(_stake(alice), 0.2 ether);
        assertEq(_unbonding(alice), 0.3 ether);
        // Then from unbonding.
        assertEq(_slash(alice, 0.4 ether), 0.4 ether);
        assertEq(_stake(alice), 0);
        assertEq(_unbonding(alice), 0.1 ether);
        _assertHeld();
    }

    function test_slash_capsAtWhatExists() public {
        uint256 managerBefore = address(manager).balance;
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeSlashed(alice, 1 ether);
        assertEq(_slash(alice, 10 ether), 1 ether);
        assertEq(_stake(alice), 0);
        assertEq(_unbonding(alice), 0);
        assertEq(address(manager).balance, managerBefore + 1 ether);
        // Nothing left: takes 0.
        vm.recordLogs();
        assertEq(_slash(alice, 1), 0);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(address(manager).balance, managerBefore + 1 ether);
        _assertHeld();
    }

    function test_slash_sendsTakenToTaskManager() public {
        uint256 managerBefore = address(manager).balance;
        uint256 registryBefore = address(registry).balance;
        uint256 taken = _slash(alice, 0.123 ether);
        assertEq(taken, 0.123 ether);
        assertEq(address(manager).balance, managerBefore + 0.123 ether);
        assertEq(address(registry).balance, registryBefore - 0.123 ether);
        _assertHeld();
    }

    function test_slash_emitsNodeSlashed() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeSlashed(alice, 0.01 ether);
        vm.recordLogs();
        _slash(alice, 0.01 ether);
        assertEq(vm.getRecordedLogs().length, 1); // still above the minimum: stays active
        assertTrue(_active(alice));
        assertEq(_pool(SVC_A), _addrs(alice));
    }

    function test_slash_belowMinimumLeavesPools() public {
        address op = operators[0]; // exactly at the minimum
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeSlashed(op, 1);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActivityChanged(op, false);
        _slash(op, 1);
        assertFalse(_active(op));
        assertEq(registry.poolSize(MODEL), 0);
        assertEq(_stake(op), OP_MIN - 1);
        _assertMembership(op);
    }

    function test_slash_inactiveNodeFromUnbonding() public {
        // An inactive node is slashed from its unbonding stake without a second removal from the pools.
        address bob = _join("bob", INodeRegistry.Role.Validator, _svcs(SVC_C), VAL_MIN);
        _unstake(bob, VAL_MIN);
        assertFalse(_active(bob));
        vm.recordLogs();
        assertEq(_slash(bob, 0.01 ether), 0.01 ether);
        assertEq(vm.getRecordedLogs().length, 1); // NodeSlashed only: no second deactivation
        assertEq(_unbonding(bob), VAL_MIN - 0.01 ether);
        assertEq(registry.poolSize(SVC_C), 0);
    }

    function test_slash_unregisteredReturnsZero() public {
        address eve = makeAddr("eve");
        uint256 before = address(manager).balance;
        vm.recordLogs();
        assertEq(_slash(eve, 1 ether), 0);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(address(manager).balance, before);
    }

    function test_slash_zeroAmountReturnsZero() public {
        vm.recordLogs();
        assertEq(_slash(alice, 0), 0);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(_stake(alice), 0.7 ether);
    }

    function test_slash_doesNotMoveUnbondingClock() public {
        uint256 end = registry.nodeInfo(alice).unbondingEnd;
        vm.warp(vm.getBlockTimestamp() + 1 days);
        _slash(alice, 0.8 ether);
        assertEq(registry.nodeInfo(alice).unbondingEnd, end);
    }

    function test_revert_slash_OnlyTaskManager() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.OnlyTaskManager.selector, owner));
        vm.prank(owner);
        registry.slash(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.OnlyTaskManager.selector, alice));
        vm.prank(alice);
        registry.slash(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.OnlyTaskManager.selector, address(this)));
        registry.slash(alice, 1);
    }

    function testFuzz_revert_slash_OnlyTaskManager(address caller, uint256 amount) public {
        vm.assume(caller != address(manager));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.OnlyTaskManager.selector, caller));
        vm.prank(caller);
        registry.slash(alice, amount);
    }

    function testFuzz_slash(uint256 stake, uint256 unstake, uint256 amount) public {
        stake = bound(stake, OP_MIN, 1_000_000 ether);
        unstake = bound(unstake, 0, stake);
        amount = bound(amount, 0, 2 * stake);
        address node = _join("fuzz", INodeRegistry.Role.Operator, _svcs(SVC_B), stake);
        if (unstake > 0) _unstake(node, unstake);
        uint256 active = stake - unstake;

        uint256 fromStake = amount < active ? amount : active;
        uint256 fromUnbonding = amount - fromStake < unstake ? amount - fromStake : unstake;
        uint256 managerBefore = address(manager).balance;

        uint256 taken = _slash(node, amount);
        assertEq(taken, fromStake + fromUnbonding);
        assertEq(taken, amount < stake ? amount : stake);
        assertEq(_stake(node), active - fromStake);
        assertEq(_unbonding(node), unstake - fromUnbonding);
        assertEq(address(manager).balance, managerBefore + taken);
        _assertHeld();
        _assertMembership(node);
    }
}

// ═══════════════════════════════ Owner setters ═════════════════════════════

contract NodeRegistryOwnerTest is NodeRegistryBase {
    address internal eve = makeAddr("eve");
    address internal newOwner = makeAddr("newOwner");

    function test_setMinStake_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.MinStakeSet(INodeRegistry.Role.Operator, 2 ether);
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Operator, 2 ether);
        assertEq(registry.minStake(INodeRegistry.Role.Operator), 2 ether);
        assertEq(registry.minStake(INodeRegistry.Role.Validator), VAL_MIN);

        vm.expectEmit(address(registry));
        emit INodeRegistry.MinStakeSet(INodeRegistry.Role.Validator, 0.001 ether);
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Validator, 0.001 ether);
        assertEq(registry.minStake(INodeRegistry.Role.Validator), 0.001 ether);

        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Validator, 1_000_000 ether);
        assertEq(registry.minStake(INodeRegistry.Role.Validator), 1_000_000 ether);
    }

    function test_setMinStake_appliesToNewRegistrations() public {
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Operator, 1 ether);
        vm.deal(eve, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, OP_MIN, 1 ether));
        vm.prank(eve);
        registry.register{value: OP_MIN}(INodeRegistry.Role.Operator, _svcs(SVC_A));
    }

    /// @dev Documents current behaviour: raising the minimum does not evict nodes already in the pools;
    /// they leave at their next unstake or slash.
    function test_setMinStake_raiseKeepsExistingNodesUntilTheyMove() public {
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Operator, 1 ether);
        address op = operators[0];
        assertTrue(_active(op));
        assertEq(_pool(MODEL), _addrs(op));
        _slash(op, 1);
        assertFalse(_active(op));
        assertEq(registry.poolSize(MODEL), 0);
    }

    function test_revert_setMinStake_ParameterOutOfBounds() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.ParameterOutOfBounds.selector, 0.001 ether - 1, 0.001 ether, 1_000_000 ether
            )
        );
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Operator, 0.001 ether - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.ParameterOutOfBounds.selector, 1_000_000 ether + 1, 0.001 ether, 1_000_000 ether
            )
        );
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Validator, 1_000_000 ether + 1);
    }

    function test_revert_setMinStake_InvalidRole() public {
        vm.expectRevert(INodeRegistry.InvalidRole.selector);
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.None, 1 ether);
        assertEq(registry.minStake(INodeRegistry.Role.None), 0);
    }

    function test_revert_setMinStake_OwnableUnauthorizedAccount() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, eve));
        vm.prank(eve);
        registry.setMinStake(INodeRegistry.Role.Operator, 1 ether);
        // The task manager has no owner powers here either.
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(manager)));
        vm.prank(address(manager));
        registry.setMinStake(INodeRegistry.Role.Operator, 1 ether);
    }

    function test_setUnbondingDelay_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondingDelaySet(90 days);
        vm.prank(owner);
        registry.setUnbondingDelay(90 days);
        assertEq(registry.unbondingDelay(), 90 days);
        vm.prank(owner);
        registry.setUnbondingDelay(MAX_TASK_LIFETIME);
        assertEq(registry.unbondingDelay(), MAX_TASK_LIFETIME);
    }

    function test_revert_setUnbondingDelay_ParameterOutOfBounds() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.ParameterOutOfBounds.selector, MAX_TASK_LIFETIME - 1, MAX_TASK_LIFETIME, 90 days
            )
        );
        vm.prank(owner);
        registry.setUnbondingDelay(MAX_TASK_LIFETIME - 1);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ParameterOutOfBounds.selector, 90 days + 1, MAX_TASK_LIFETIME, 90 days)
        );
        vm.prank(owner);
        registry.setUnbondingDelay(90 days + 1);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.ParameterOutOfBounds.selector, 0, MAX_TASK_LIFETIME, 90 days)
        );
        vm.prank(owner);
        registry.setUnbondingDelay(0);
    }

    function test_revert_setUnbondingDelay_OwnableUnauthorizedAccount() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, eve));
        vm.prank(eve);
        registry.setUnbondingDelay(3 days);
    }

    function testFuzz_setters_bounds(uint256 minStake_, uint256 delay) public {
        bool stakeOk = minStake_ >= 0.001 ether && minStake_ <= 1_000_000 ether;
        if (!stakeOk) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    INodeRegistry.ParameterOutOfBounds.selector, minStake_, 0.001 ether, 1_000_000 ether
                )
            );
        }
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Operator, minStake_);
        assertEq(registry.minStake(INodeRegistry.Role.Operator), stakeOk ? minStake_ : OP_MIN);

        bool delayOk = delay >= MAX_TASK_LIFETIME && delay <= 90 days;
        if (!delayOk) {
            vm.expectRevert(
                abi.encodeWithSelector(INodeRegistry.ParameterOutOfBounds.selector, delay, MAX_TASK_LIFETIME, 90 days)
            );
        }
        vm.prank(owner);
        registry.setUnbondingDelay(delay);
        assertEq(registry.unbondingDelay(), delayOk ? delay : DELAY);
    }

    function test_transferOwnership_twoStep() public {
        vm.expectEmit(address(registry));
        emit Ownable2Step.OwnershipTransferStarted(owner, newOwner);
        vm.prank(owner);
        registry.transferOwnership(newOwner);
        assertEq(registry.owner(), owner);
        assertEq(registry.pendingOwner(), newOwner);

        // Not yet the owner.
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, newOwner));
        vm.prank(newOwner);
        registry.setUnbondingDelay(3 days);
        // The old owner still is.
        vm.prank(owner);
        registry.setUnbondingDelay(3 days);

        // Only the pending owner accepts.
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, eve));
        vm.prank(eve);
        registry.acceptOwnership();

        vm.expectEmit(address(registry));
        emit Ownable.OwnershipTransferred(owner, newOwner);
        vm.prank(newOwner);
        registry.acceptOwnership();
        assertEq(registry.owner(), newOwner);
        assertEq(registry.pendingOwner(), address(0));

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        registry.setUnbondingDelay(4 days);
        vm.prank(newOwner);
        registry.setUnbondingDelay(4 days);
        assertEq(registry.unbondingDelay(), 4 days);
    }

    function test_transferOwnership_pendingCanBeReplaced() public {
        vm.prank(owner);
        registry.transferOwnership(eve);
        vm.prank(owner);
        registry.transferOwnership(newOwner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, eve));
        vm.prank(eve);
        registry.acceptOwnership();
        vm.prank(newOwner);
        registry.acceptOwnership();
        assertEq(registry.owner(), newOwner);
    }

    function test_revert_transferOwnership_OwnableUnauthorizedAccount() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, eve));
        vm.prank(eve);
        registry.transferOwnership(eve);
    }

    /// @dev Documents current behaviour: the owner can renounce, which freezes the parameters for good.
    function test_renounceOwnership_freezesParameters() public {
        vm.prank(owner);
        registry.renounceOwnership();
        assertEq(registry.owner(), address(0));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        registry.setMinStake(INodeRegistry.Role.Operator, 1 ether);
    }
}

// ══════════════════════════════════ select ═════════════════════════════════

contract NodeRegistrySelectTest is NodeRegistryBase {
    bytes32 internal constant POOL = keccak256("select-pool");
    address[] internal members;
    mapping(bytes32 draw => bool) internal seen;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < 10; ++i) {
            members.push(
                _join(string.concat("member", vm.toString(i)), INodeRegistry.Role.Operator, _svcs(POOL), OP_MIN)
            );
        }
    }

    function _isMember(address a) internal view returns (bool) {
        for (uint256 i; i < members.length; ++i) {
            if (members[i] == a) return true;
        }
        return false;
    }

    function test_select_returnsDistinctSortedPoolMembers() public view {
        address[] memory drawn = registry.select(POOL, 5, keccak256("seed"));
        assertEq(drawn.length, 5);
        _assertSortedDistinct(drawn);
        for (uint256 i; i < drawn.length; ++i) {
            assertTrue(_isMember(drawn[i]));
        }
        assertEq(drawn, _referenceSelect(POOL, 5, keccak256("seed")));
    }

    function test_select_wholePool() public view {
        address[] memory drawn = registry.select(POOL, 10, bytes32(uint256(42)));
        assertEq(drawn.length, 10);
        _assertSortedDistinct(drawn);
        for (uint256 i; i < 10; ++i) {
            assertTrue(_isMember(drawn[i]));
        }
    }

    function test_select_zeroCount() public view {
        assertEq(registry.select(POOL, 0, bytes32(0)).length, 0);
        assertEq(registry.select(keccak256("nobody"), 0, bytes32(0)).length, 0);
    }

    function test_select_deterministicForSeed() public view {
        bytes32 seed = keccak256("same");
        address[] memory a = registry.select(POOL, 4, seed);
        address[] memory b = registry.select(POOL, 4, seed);
        assertEq(a, b);
        assertEq(a, _referenceSelect(POOL, 4, seed));
    }

    function test_select_seedsSpreadOverPool() public {
        uint256[] memory hits = new uint256[](10);
        uint256 distinctDraws;
        for (uint256 s; s < 300; ++s) {
            address[] memory drawn = registry.select(POOL, 3, keccak256(abi.encode("spread", s)));
            assertEq(drawn.length, 3);
            _assertSortedDistinct(drawn);
            bytes32 key = keccak256(abi.encode(drawn));
            if (!seen[key]) {
                seen[key] = true;
                ++distinctDraws;
            }
            for (uint256 k; k < 3; ++k) {
                bool found;
                for (uint256 m; m < 10; ++m) {
                    if (members[m] == drawn[k]) {
                        ++hits[m];
                        found = true;
                    }
                }
                assertTrue(found, "not a pool member");
            }
        }
        // 300 draws of 3 out of 10: 90 expected hits per node, C(10,3) = 120 possible draws.
        for (uint256 m; m < 10; ++m) {
            assertGt(hits[m], 0, "a node was never picked");
            assertGe(hits[m], 45);
            assertLe(hits[m], 135);
        }
        assertGe(distinctDraws, 80, "seeds do not vary the draw");
    }

    function test_select_excludesInactiveNodes() public {
        _unstake(members[3], 1);
        _slash(members[7], 1);
        address[] memory drawn = registry.select(POOL, 8, bytes32(uint256(1)));
        for (uint256 i; i < drawn.length; ++i) {
            assertTrue(drawn[i] != members[3] && drawn[i] != members[7]);
        }
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotEnoughNodes.selector, POOL, 8, 9));
        registry.select(POOL, 9, bytes32(uint256(1)));
    }

    /// @dev The interface lists `select` under `OnlyTaskManager`, but it is an open view.
    function test_select_callableByAnyone() public {
        vm.prank(makeAddr("anyone"));
        assertEq(registry.select(POOL, 2, bytes32(uint256(5))).length, 2);
    }

    function test_revert_select_NotEnoughNodes() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotEnoughNodes.selector, POOL, 10, 11));
        registry.select(POOL, 11, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotEnoughNodes.selector, MODEL, 1, 2));
        registry.select(MODEL, 2, bytes32(0));
        bytes32 empty = keccak256("nobody");
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotEnoughNodes.selector, empty, 0, 1));
        registry.select(empty, 1, bytes32(0));
    }

    function test_revert_poolAt_indexOutOfBoundsPanic() public {
        vm.expectRevert(stdError.indexOOBError);
        registry.poolAt(POOL, 10);
    }

    function test_views_unregisteredNode() public {
        address eve = makeAddr("eve");
        INodeRegistry.Node memory n = registry.nodeInfo(eve);
        assertEq(n.stake, 0);
        assertEq(n.unbonding, 0);
        assertEq(n.unbondingEnd, 0);
        assertEq(uint256(n.role), 0);
        assertFalse(n.active);
        assertEq(registry.servicesOf(eve).length, 0);
    }

    function testFuzz_select(uint256 size, uint256 count, bytes32 seed) public {
        size = bound(size, 1, 40);
        count = bound(count, 0, size);
        bytes32 service = keccak256("fuzz-pool");
        for (uint256 i; i < size; ++i) {
            address node = address(uint160(uint256(keccak256(abi.encode("fuzz-node", i)))));
            _joinAs(node, INodeRegistry.Role.Validator, _svcs(service), VAL_MIN);
        }
        // Shuffle the pool order a little: one node leaves and comes back.
        if (size > 2) {
            address moved = registry.poolAt(service, uint256(seed) % size);
            _unstake(moved, 1);
            _addStake(moved, 1);
        }
        address[] memory pool = _pool(service);
        assertEq(pool.length, size);

        address[] memory drawn = registry.select(service, count, seed);
        assertEq(drawn.length, count);
        _assertSortedDistinct(drawn);
        for (uint256 i; i < count; ++i) {
            bool found;
            for (uint256 k; k < size && !found; ++k) {
                found = pool[k] == drawn[i];
            }
            assertTrue(found, "not a pool member");
        }
        assertEq(drawn, _referenceSelect(service, count, seed));

        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotEnoughNodes.selector, service, size, size + 1));
        registry.select(service, size + 1, seed);
    }
}

// ═════════════════════════════ Stake accounting ════════════════════════════

contract NodeRegistryAccountingTest is NodeRegistryBase {
    function testFuzz_stakeLifecycle(uint256 stake, uint256 added, uint256 unstaked, uint256 wait, bool validator)
        public
    {
        INodeRegistry.Role role = validator ? INodeRegistry.Role.Validator : INodeRegistry.Role.Operator;
        uint256 minimum = registry.minStake(role);
        stake = bound(stake, minimum, 1_000_000 ether);
        added = bound(added, 1, 1_000_000 ether);
        wait = bound(wait, 0, 2 * DELAY);

        address node = _join("node", role, _svcs(SVC_A, SVC_B), stake);
        assertEq(_stake(node), stake);
        _assertHeld();
        _assertMembership(node);

        _addStake(node, added);
        uint256 total = stake + added;
        assertEq(_stake(node), total);
        _assertHeld();
        _assertMembership(node);

        unstaked = bound(unstaked, 1, total);
        _unstake(node, unstaked);
        uint256 requestedAt = vm.getBlockTimestamp();
        assertEq(_stake(node), total - unstaked);
        assertEq(_unbonding(node), unstaked);
        assertEq(registry.nodeInfo(node).unbondingEnd, requestedAt + DELAY);
        _assertHeld();
        _assertMembership(node);

        vm.warp(requestedAt + wait);
        uint256 before = node.balance;
        if (wait < DELAY) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StillUnbonding.selector, requestedAt + DELAY));
        }
        vm.prank(node);
        registry.withdrawStake();
        assertEq(node.balance, before + (wait < DELAY ? 0 : unstaked));
        assertEq(_unbonding(node), wait < DELAY ? unstaked : 0);
        assertEq(_stake(node), total - unstaked);
        _assertHeld();
        _assertMembership(node);
    }

    /// @dev A random sequence of node actions and slashes over three nodes keeps the registry's balance equal
    /// to Σ stake + Σ unbonding, and pool membership equal to `stake >= minimum`.
    function testFuzz_stakeAccounting_sequence(uint256[16] memory actions) public {
        address[3] memory nodes = [
            _join("s0", INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_B), OP_MIN),
            _join("s1", INodeRegistry.Role.Validator, _svcs(SVC_V), 1 ether),
            _join("s2", INodeRegistry.Role.Operator, _svcs(SVC_A, SVC_C, SVC_B), 3 ether)
        ];
        for (uint256 i; i < actions.length; ++i) {
            uint256 w = actions[i];
            address node = nodes[(w >> 8) % 3];
            uint256 amt = w >> 16;
            INodeRegistry.Node memory n = registry.nodeInfo(node);
            uint256 kind = w % 5;
            if (kind == 0) {
                _addStake(node, bound(amt, 1, 2 ether));
            } else if (kind == 1) {
                if (n.stake == 0) continue;
                _unstake(node, bound(amt, 1, n.stake));
            } else if (kind == 2) {
                vm.warp(vm.getBlockTimestamp() + bound(amt, 0, 3 days));
            } else if (kind == 3) {
                uint256 before = node.balance;
                if (n.unbonding == 0) {
                    vm.expectRevert(INodeRegistry.NothingToWithdraw.selector);
                } else if (vm.getBlockTimestamp() < n.unbondingEnd) {
                    vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StillUnbonding.selector, n.unbondingEnd));
                }
                vm.prank(node);
                registry.withdrawStake();
                bool paid = n.unbonding > 0 && vm.getBlockTimestamp() >= n.unbondingEnd;
                assertEq(node.balance, before + (paid ? n.unbonding : 0));
            } else {
                uint256 amount = bound(amt, 0, 2 ether);
                uint256 held = uint256(n.stake) + n.unbonding;
                uint256 managerBefore = address(manager).balance;
                uint256 taken = _slash(node, amount);
                assertEq(taken, amount < held ? amount : held);
                assertEq(address(manager).balance, managerBefore + taken);
            }
            _assertHeld();
            for (uint256 k; k < 3; ++k) {
                _assertMembership(nodes[k]);
            }
        }
    }
}

// ═══════════════════════════════ Lock property ═════════════════════════════

/// @notice Stake backing an open task stays slashable: a selected node that unstakes at once cannot take its
/// stake out before the task's last deadline (plus the settlement grace) and is slashed by `finalize`.
contract NodeRegistryLockTest is NodeRegistryBase {
    function test_lock_selectedNodesCannotWithdrawBeforeLastDeadline() public {
        uint256 taskId = _submit(1 ether);
        (address[] memory ops, address[] memory vals) = _select(taskId);
        uint256[4] memory d = manager.deadlines(taskId);
        address[] memory committee = new address[](ops.length + vals.length);
        for (uint256 i; i < ops.length; ++i) {
            committee[i] = ops[i];
        }
        for (uint256 i; i < vals.length; ++i) {
            committee[ops.length + i] = vals[i];
        }
        uint256 end = vm.getBlockTimestamp() + DELAY;
        for (uint256 i; i < committee.length; ++i) {
            _unstake(committee[i], _stake(committee[i]));
            assertEq(registry.nodeInfo(committee[i]).unbondingEnd, end);
        }
        assertGe(end, d[3] + SETTLEMENT_GRACE, "unbonding ends before the task can be settled");
        // Out of the pools: no new task can pick them.
        assertEq(registry.poolSize(MODEL), 0);
        assertEq(registry.poolSize(EVALUATOR), 0);

        uint256[3] memory times = [d[3], d[3] + SETTLEMENT_GRACE, end - 1];
        for (uint256 t; t < times.length; ++t) {
            vm.warp(times[t]);
            for (uint256 i; i < committee.length; ++i) {
                vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StillUnbonding.selector, end));
                vm.prank(committee[i]);
                registry.withdrawStake();
            }
        }
        vm.warp(end);
        vm.prank(committee[0]);
        registry.withdrawStake();
    }

    function test_lock_silentOperatorIsSlashedAfterUnstaking() public {
        uint256 fee = 1 ether;
        uint256 taskId = _submit(fee);
        (address[] memory ops, address[] memory vals) = _select(taskId);
        address op = ops[0];
        _unstake(op, OP_MIN);
        uint256 end = vm.getBlockTimestamp() + DELAY;
        assertEq(_stake(op), 0);
        assertEq(_unbonding(op), OP_MIN);

        uint256[4] memory d = manager.deadlines(taskId);
        vm.warp(d[3]);
        uint256 slashAmount = manager.params(manager.paramsVersion()).operatorSlash;
        assertEq(slashAmount, 0.05 ether);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeSlashed(op, slashAmount);
        vm.expectEmit(address(manager));
        emit ITaskManager.Slashed(taskId, op, slashAmount);
        manager.finalize(taskId, ops, vals);

        assertEq(uint256(manager.getTask(taskId).status), uint256(ITaskManager.Status.Refunded));
        assertEq(_stake(op), 0);
        assertEq(_unbonding(op), OP_MIN - slashAmount);
        assertGe(manager.balanceOf(requester), fee + slashAmount);
        _assertHeld();

        // The rest comes out at the end of the delay, exactly.
        vm.warp(end);
        uint256 before = op.balance;
        vm.prank(op);
        registry.withdrawStake();
        assertEq(op.balance, before + OP_MIN - slashAmount);
        _assertHeld();
    }

    function test_lock_silentValidatorIsSlashedAfterUnstaking() public {
        uint256 taskId = _submit(1 ether);
        (address[] memory ops, address[] memory vals) = _select(taskId);
        address quitter = vals[2];
        _unstake(quitter, VAL_MIN);
        uint256[4] memory d = manager.deadlines(taskId);

        _commitAndRevealOutput(taskId, ops[0], OUTPUT);
        _revealOutput(taskId, ops[0], OUTPUT);
        _commitScores(taskId, vals[0], _scores1(8000));
        _commitScores(taskId, vals[1], _scores1(8000));
        vm.warp(d[2]);
        _revealScores(taskId, vals[0], _scores1(8000));
        _revealScores(taskId, vals[1], _scores1(8000));

        uint256 slashAmount = manager.params(manager.paramsVersion()).validatorSlash;
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeSlashed(quitter, slashAmount);
        manager.finalize(taskId, ops, vals);
        assertEq(uint256(manager.getTask(taskId).status), uint256(ITaskManager.Status.Finalized));
        assertEq(_unbonding(quitter), VAL_MIN - slashAmount);
        // The nodes that did their part keep everything.
        assertEq(_stake(ops[0]), OP_MIN);
        assertEq(_stake(vals[0]), VAL_MIN);
        assertEq(_stake(vals[1]), VAL_MIN);
        _assertHeld();
    }

    /// @dev An earlier unstake request that left the node at its minimum can complete mid-task, but the stake
    /// that kept it in the pool (at least one slash) stays until the task is settled.
    function test_lock_earlierUnbondingLeavesSlashableStake() public {
        address op = operators[0];
        _addStake(op, 0.2 ether);
        _unstake(op, 0.2 ether); // back at the minimum, still in the pool
        uint256 end = vm.getBlockTimestamp() + DELAY;
        vm.warp(end - 1);
        uint256 taskId = _submit(1 ether);
        (address[] memory ops, address[] memory vals) = _select(taskId);
        assertEq(ops[0], op);
        vm.warp(end);
        vm.prank(op);
        registry.withdrawStake();
        assertEq(_unbonding(op), 0);
        assertEq(_stake(op), OP_MIN);
        vm.warp(manager.deadlines(taskId)[3]);
        manager.finalize(taskId, ops, vals);
        assertEq(_stake(op), OP_MIN - manager.params(manager.paramsVersion()).operatorSlash);
        _assertHeld();
    }

    /// @dev Suspected TaskManager bug: with no output revealed, `commitScores` reverts (`NoOutputsToScore`), so
    /// validators cannot act, yet `finalize` slashes every unrevealed validator. One silent operator thus
    /// costs each validator `validatorSlash` and drops it below its minimum (0.05 - 0.02 < 0.05), emptying
    /// the evaluator pool.
    function test_finalize_noOutputsDoesNotSlashValidators() public {
        uint256 taskId = _submit(1 ether);
        (address[] memory ops, address[] memory vals) = _select(taskId);
        vm.warp(manager.deadlines(taskId)[3]);
        manager.finalize(taskId, ops, vals);
        for (uint256 i; i < vals.length; ++i) {
            assertEq(_stake(vals[i]), VAL_MIN, "validator slashed for a task it could not score");
        }
        assertEq(registry.poolSize(EVALUATOR), 3);
    }
}
