// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Arrays} from "@openzeppelin/contracts/utils/Arrays.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {MAX_TASK_LIFETIME} from "./libraries/Constants.sol";

/// @title NodeRegistry
/// @notice Native-ETH staking for poq operators and validators, with one selection pool per service.
/// @dev Holds exactly `Σ stake + Σ unbonding` wei. The owner sets minimum stakes and the unbonding delay
/// within hard bounds and can move no one's stake; only the immutable `taskManager` can slash.
contract NodeRegistry is INodeRegistry, Ownable2Step, ReentrancyGuard {
    using SafeCast for uint256;

    /// @notice Services (models or evaluators) per node.
    uint256 public constant MAX_SERVICES = 16;
    /// @notice Bounds on the minimum stake of either role.
    uint256 public constant MIN_STAKE_FLOOR = 0.001 ether;
    uint256 public constant MAX_STAKE_CEILING = 1_000_000 ether;
    /// @notice Bounds on the unbonding delay. The floor outlasts any task a node can be selected for.
    uint256 public constant MIN_UNBONDING_DELAY = MAX_TASK_LIFETIME;
    uint256 public constant MAX_UNBONDING_DELAY = 90 days;

    /// @inheritdoc INodeRegistry
    address public immutable taskManager;

    /// @inheritdoc INodeRegistry
    uint256 public unbondingDelay;

    /// @inheritdoc INodeRegistry
    mapping(bytes32 service => Role) public serviceRole;

    mapping(Role role => uint256) private _minStake;
    mapping(address node => Node) private _nodes;
    mapping(address node => bytes32[]) private _services;
    // slither-disable-next-line uninitialized-state (written through storage pointers in _activate)
    mapping(bytes32 service => address[]) private _pools;
    /// @dev 1-based position of a node in a pool; 0 = absent.
    mapping(bytes32 service => mapping(address node => uint256)) private _poolPosition;

    modifier onlyTaskManager() {
        if (msg.sender != taskManager) revert OnlyTaskManager(msg.sender);
        _;
    }

    /// @param initialOwner The parameter owner (a multisig in production).
    /// @param taskManager_ The task contract, deployed next at a precomputed address.
    /// @param operatorMinStake Minimum stake for operators.
    /// @param validatorMinStake Minimum stake for validators.
    /// @param unbondingDelay_ Delay between an unstake request and its withdrawal.
    constructor(
        address initialOwner,
        address taskManager_,
        uint256 operatorMinStake,
        uint256 validatorMinStake,
        uint256 unbondingDelay_
    ) Ownable(initialOwner) {
        if (taskManager_ == address(0)) revert ZeroTaskManager();
        taskManager = taskManager_;
        _setMinStake(Role.Operator, operatorMinStake);
        _setMinStake(Role.Validator, validatorMinStake);
        _setUnbondingDelay(unbondingDelay_);
    }

    // ───────────────────────────── Node actions ───────────────────────────

    /// @inheritdoc INodeRegistry
    function register(Role role, bytes32[] calldata services) external payable {
        if (role == Role.None) revert InvalidRole();
        Node storage node = _nodes[msg.sender];
        if (node.role != Role.None) revert NodeAlreadyRegistered(msg.sender);
        uint256 minimum = _minStake[role];
        if (msg.value < minimum) revert StakeBelowMinimum(msg.value, minimum);
        _bindServices(role, services);

        node.role = role;
        node.stake = _toStake(msg.value);
        _services[msg.sender] = services;
        emit NodeRegistered(msg.sender, role, msg.value, services);
        _activate(msg.sender, node);
    }

    /// @inheritdoc INodeRegistry
    function setServices(bytes32[] calldata services) external {
        Node storage node = _registered(msg.sender);
        _bindServices(node.role, services);
        bool wasActive = node.active;
        if (wasActive) _deactivate(msg.sender, node);
        _services[msg.sender] = services;
        emit ServicesUpdated(msg.sender, services);
        if (wasActive) _activate(msg.sender, node);
    }

    /// @inheritdoc INodeRegistry
    function addStake() external payable {
        Node storage node = _registered(msg.sender);
        if (msg.value == 0) revert StakeBelowMinimum(0, 1);
        uint256 stake = node.stake + msg.value;
        node.stake = _toStake(stake);
        emit StakeAdded(msg.sender, msg.value, stake);
        if (!node.active && stake >= _minStake[node.role]) _activate(msg.sender, node);
    }

    /// @inheritdoc INodeRegistry
    function requestUnstake(uint256 amount) external {
        Node storage node = _registered(msg.sender);
        uint256 stake = node.stake;
        if (amount == 0 || amount > stake) revert InvalidUnstakeAmount(amount, stake);

        uint256 unbondingEnd = block.timestamp + unbondingDelay;
        // forge-lint: disable-next-line(unsafe-typecast) amount ≤ stake, a uint96
        node.stake = uint96(stake - amount);
        // forge-lint: disable-next-line(unsafe-typecast) amount ≤ stake, a uint96
        node.unbonding += uint96(amount);
        node.unbondingEnd = unbondingEnd.toUint40();
        emit UnstakeRequested(msg.sender, amount, unbondingEnd);
        if (node.active && stake - amount < _minStake[node.role]) _deactivate(msg.sender, node);
    }

    /// @inheritdoc INodeRegistry
    function withdrawStake() external nonReentrant {
        Node storage node = _nodes[msg.sender];
        uint256 amount = node.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < node.unbondingEnd) revert StillUnbonding(node.unbondingEnd);

        node.unbonding = 0;
        emit StakeWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ──────────────────────────── Task contract ───────────────────────────

    /// @inheritdoc INodeRegistry
    function slash(address node_, uint256 amount) external onlyTaskManager returns (uint256 taken) {
        Node storage node = _nodes[node_];
        uint256 stake = node.stake;
        uint256 fromStake = amount < stake ? amount : stake;
        uint256 fromUnbonding = amount - fromStake;
        if (fromUnbonding > node.unbonding) fromUnbonding = node.unbonding;
        taken = fromStake + fromUnbonding;
        if (taken == 0) return 0;

        // forge-lint: disable-next-line(unsafe-typecast) both parts are capped by uint96 fields
        node.stake = uint96(stake - fromStake);
        // forge-lint: disable-next-line(unsafe-typecast) both parts are capped by uint96 fields
        node.unbonding -= uint96(fromUnbonding);
        emit NodeSlashed(node_, taken);
        if (node.active && stake - fromStake < _minStake[node.role]) _deactivate(node_, node);
        Address.sendValue(payable(taskManager), taken);
    }

    // ──────────────────────────────── Owner ───────────────────────────────

    /// @inheritdoc INodeRegistry
    function setMinStake(Role role, uint256 amount) external onlyOwner {
        if (role == Role.None) revert InvalidRole();
        _setMinStake(role, amount);
    }

    /// @inheritdoc INodeRegistry
    function setUnbondingDelay(uint256 delay) external onlyOwner {
        _setUnbondingDelay(delay);
    }

    // ──────────────────────────────── Views ───────────────────────────────

    /// @inheritdoc INodeRegistry
    function select(bytes32 service, uint256 count, bytes32 seed) external view returns (address[] memory nodes) {
        address[] storage pool = _pools[service];
        uint256 n = pool.length;
        if (n < count) revert NotEnoughNodes(service, n, count);

        // Partial Fisher–Yates over a virtual copy of the pool: only the swapped positions are kept, in
        // memory, so the draw touches `count` pool slots whatever the pool's size.
        nodes = new address[](count);
        uint256[] memory swappedFrom = new uint256[](count);
        uint256[] memory swappedTo = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 j = i + uint256(keccak256(abi.encode(seed, i))) % (n - i);
            uint256 atJ = _virtualAt(swappedFrom, swappedTo, i, j);
            uint256 atI = _virtualAt(swappedFrom, swappedTo, i, i);
            nodes[i] = pool[atJ];
            // Position j now holds what was at i; position i is consumed and never read again.
            swappedFrom[i] = j;
            swappedTo[i] = atI;
        }
        nodes = Arrays.sort(nodes);
    }

    /// @inheritdoc INodeRegistry
    function poolSize(bytes32 service) external view returns (uint256) {
        return _pools[service].length;
    }

    /// @inheritdoc INodeRegistry
    function poolSizeFor(Role role, bytes32 service) external view returns (uint256) {
        return serviceRole[service] == role ? _pools[service].length : 0;
    }

    /// @inheritdoc INodeRegistry
    function poolAt(bytes32 service, uint256 index) external view returns (address) {
        return _pools[service][index];
    }

    /// @inheritdoc INodeRegistry
    function nodeInfo(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    /// @inheritdoc INodeRegistry
    function servicesOf(address node) external view returns (bytes32[] memory) {
        return _services[node];
    }

    /// @inheritdoc INodeRegistry
    function minStake(Role role) external view returns (uint256) {
        return _minStake[role];
    }

    // ────────────────────────────── Internals ─────────────────────────────

    function _registered(address account) private view returns (Node storage node) {
        node = _nodes[account];
        if (node.role == Role.None) revert NodeNotRegistered(account);
    }

    /// @dev Checks `services` and binds each to `role` on first use, so a model id can never become an
    /// evaluator pool (or the reverse) and one node cannot sit in both committees of a task.
    function _bindServices(Role role, bytes32[] calldata services) private {
        uint256 n = services.length;
        if (n == 0 || n > MAX_SERVICES) revert InvalidServices();
        for (uint256 i; i < n; ++i) {
            for (uint256 j = i + 1; j < n; ++j) {
                if (services[i] == services[j]) revert InvalidServices();
            }
            Role bound = serviceRole[services[i]];
            if (bound == Role.None) {
                serviceRole[services[i]] = role;
                emit ServiceBound(services[i], role);
            } else if (bound != role) {
                revert ServiceRoleMismatch(services[i], bound);
            }
        }
    }

    function _toStake(uint256 amount) private pure returns (uint96) {
        if (amount > type(uint96).max) revert StakeOverflow();
        // forge-lint: disable-next-line(unsafe-typecast) checked on the line above
        return uint96(amount);
    }

    function _activate(address account, Node storage node) private {
        node.active = true;
        bytes32[] storage services = _services[account];
        for (uint256 i; i < services.length; ++i) {
            address[] storage pool = _pools[services[i]];
            pool.push(account);
            _poolPosition[services[i]][account] = pool.length;
        }
        emit NodeActivityChanged(account, true);
    }

    function _deactivate(address account, Node storage node) private {
        node.active = false;
        bytes32[] storage services = _services[account];
        for (uint256 i; i < services.length; ++i) {
            bytes32 service = services[i];
            address[] storage pool = _pools[service];
            uint256 position = _poolPosition[service][account];
            address last = pool[pool.length - 1];
            pool[position - 1] = last;
            _poolPosition[service][last] = position;
            pool.pop();
            delete _poolPosition[service][account];
        }
        emit NodeActivityChanged(account, false);
    }

    function _setMinStake(Role role, uint256 amount) private {
        if (amount < MIN_STAKE_FLOOR || amount > MAX_STAKE_CEILING) {
            revert ParameterOutOfBounds(amount, MIN_STAKE_FLOOR, MAX_STAKE_CEILING);
        }
        _minStake[role] = amount;
        emit MinStakeSet(role, amount);
    }

    function _setUnbondingDelay(uint256 delay) private {
        if (delay < MIN_UNBONDING_DELAY || delay > MAX_UNBONDING_DELAY) {
            revert ParameterOutOfBounds(delay, MIN_UNBONDING_DELAY, MAX_UNBONDING_DELAY);
        }
        unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    /// @dev The pool index at virtual position `position` after the first `swaps` swaps.
    function _virtualAt(uint256[] memory from, uint256[] memory to, uint256 swaps, uint256 position)
        private
        pure
        returns (uint256)
    {
        for (uint256 k = swaps; k > 0; --k) {
            if (from[k - 1] == position) return to[k - 1];
        }
        return position;
    }
}
