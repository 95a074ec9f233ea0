// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title INodeRegistry
/// @notice Staking and registration of poq operators (inference nodes) and validators (quality nodes).
/// @dev Nodes stake native ETH, declare the services they run (model ids for operators, evaluator ids
/// for validators) and join one pool per service. The task contract draws committees from those pools
/// and is the only party that can slash. Stake leaves only through an unbonding delay that outlasts
/// every task a node can have been selected for, so stake backing an open task stays slashable.
interface INodeRegistry {
    // ─────────────────────────────── Types ───────────────────────────────

    /// @notice The role a node registers for. A node has exactly one role.
    enum Role {
        None,
        Operator,
        Validator
    }

    /// @notice A node's stake record.
    /// @dev Packed into two slots: (stake, unbondingEnd, role, active) and (unbonding).
    struct Node {
        /// Stake that backs new and open tasks.
        uint96 stake;
        /// When the pending unbonding amount becomes withdrawable.
        uint40 unbondingEnd;
        Role role;
        /// Whether the node sits in its service pools (eligible for selection).
        bool active;
        /// Stake on its way out: still slashable until withdrawn.
        uint96 unbonding;
    }

    // ─────────────────────────────── Errors ──────────────────────────────

    /// @notice `register`: the caller already has a role.
    error NodeAlreadyRegistered(address node);
    /// @notice Any node action: the caller has no role.
    error NodeNotRegistered(address node);
    /// @notice `register`: role `None` is not a role.
    error InvalidRole();
    /// @notice `register` / `setServices`: zero services, too many, or a repeated id.
    error InvalidServices();
    /// @notice `register` / `setServices`: `service` is already bound to the other role.
    error ServiceRoleMismatch(bytes32 service, Role boundTo);
    /// @notice `register` / `addStake`: the stake is below the role's minimum, or zero.
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    /// @notice `register` / `addStake`: the stake does not fit the 96-bit stake field.
    error StakeOverflow();
    /// @notice `requestUnstake`: more than the active stake, or zero.
    error InvalidUnstakeAmount(uint256 amount, uint256 stake);
    /// @notice `withdrawStake`: nothing is unbonding, or the delay has not passed.
    error NothingToWithdraw();
    /// @notice `withdrawStake`: the unbonding delay ends at `unbondingEnd`.
    error StillUnbonding(uint256 unbondingEnd);
    /// @notice `slash`: only the task contract may call.
    error OnlyTaskManager(address caller);
    /// @notice `select`: the service pool has fewer nodes than the committee needs.
    error NotEnoughNodes(bytes32 service, uint256 available, uint256 needed);
    /// @notice Owner setters: the value lies outside its hard bound.
    error ParameterOutOfBounds(uint256 value, uint256 min, uint256 max);
    /// @notice Constructor: the task manager address is zero.
    error ZeroTaskManager();

    // ─────────────────────────────── Events ──────────────────────────────

    /// @notice A node registered for `role`, staking `stake`, serving `services`.
    event NodeRegistered(address indexed node, Role indexed role, uint256 stake, bytes32[] services);
    /// @notice `service` was used for the first time, by a node of `role`; it stays bound to that role.
    event ServiceBound(bytes32 indexed service, Role indexed role);
    /// @notice A node replaced its list of services.
    event ServicesUpdated(address indexed node, bytes32[] services);
    /// @notice A node added `amount` to its stake.
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);
    /// @notice A node moved `amount` from stake to unbonding, withdrawable at `unbondingEnd`.
    event UnstakeRequested(address indexed node, uint256 amount, uint256 unbondingEnd);
    /// @notice A node withdrew `amount` of unbonded stake.
    event StakeWithdrawn(address indexed node, uint256 amount);
    /// @notice The task contract slashed `amount` of `node`'s stake.
    event NodeSlashed(address indexed node, uint256 amount);
    /// @notice A node entered (`true`) or left (`false`) its service pools.
    event NodeActivityChanged(address indexed node, bool active);
    /// @notice The owner set the minimum stake for `role`.
    event MinStakeSet(Role indexed role, uint256 minStake);
    /// @notice The owner set the unbonding delay for future unstake requests.
    event UnbondingDelaySet(uint256 delay);

    // ───────────────────────────── Node actions ───────────────────────────

    /// @notice Registers the caller for `role` with `msg.value` as stake, serving `services`.
    /// @param role Operator or Validator.
    /// @param services Model ids (operators) or evaluator ids (validators), distinct, at most `MAX_SERVICES`.
    function register(Role role, bytes32[] calldata services) external payable;

    /// @notice Replaces the caller's services; the node leaves its old pools and joins the new ones.
    /// @param services The new service ids, distinct, at most `MAX_SERVICES`.
    function setServices(bytes32[] calldata services) external;

    /// @notice Adds `msg.value` to the caller's stake; a node back at its minimum rejoins its pools.
    function addStake() external payable;

    /// @notice Moves `amount` of the caller's stake to unbonding; a node below its minimum leaves its pools.
    /// @dev Restarts the unbonding clock for everything pending.
    /// @param amount Wei to unstake, at most the active stake.
    function requestUnstake(uint256 amount) external;

    /// @notice Sends the caller's unbonded stake to the caller once the unbonding delay has passed.
    function withdrawStake() external;

    // ──────────────────────────── Task contract ───────────────────────────

    /// @notice Slashes up to `amount` from `node` (active stake first, then unbonding) and sends it to the
    /// task contract. Only the task contract calls this.
    /// @return taken The wei actually slashed (less than `amount` when the node holds less).
    function slash(address node, uint256 amount) external returns (uint256 taken);

    // ──────────────────────────────── Owner ───────────────────────────────

    /// @notice Sets the minimum stake for `role`, within `[MIN_STAKE_FLOOR, MAX_STAKE_CEILING]`.
    function setMinStake(Role role, uint256 amount) external;

    /// @notice Sets the unbonding delay for future requests, within `[MIN_UNBONDING_DELAY, MAX_UNBONDING_DELAY]`.
    function setUnbondingDelay(uint256 delay) external;

    // ──────────────────────────────── Views ───────────────────────────────

    /// @notice Draws `count` distinct nodes uniformly from `service`'s pool with `seed`, sorted ascending.
    /// @dev O(count) storage reads and O(count²) memory work, independent of the pool's size.
    function select(bytes32 service, uint256 count, bytes32 seed) external view returns (address[] memory nodes);

    /// @notice The task contract allowed to slash.
    function taskManager() external view returns (address);

    /// @notice The number of nodes eligible for selection for `service`.
    function poolSize(bytes32 service) external view returns (uint256);

    /// @notice The number of `role` nodes eligible for `service`: its pool size if `service` is bound to
    /// `role`, else 0.
    function poolSizeFor(Role role, bytes32 service) external view returns (uint256);

    /// @notice The node at `index` of `service`'s pool.
    function poolAt(bytes32 service, uint256 index) external view returns (address);

    /// @notice `node`'s stake record.
    function nodeInfo(address node) external view returns (Node memory);

    /// @notice `node`'s services.
    function servicesOf(address node) external view returns (bytes32[] memory);

    /// @notice The role whose nodes serve `service` (None: unused): model ids are operators', evaluator ids validators'.
    function serviceRole(bytes32 service) external view returns (Role);

    /// @notice The minimum stake for `role`.
    function minStake(Role role) external view returns (uint256);

    /// @notice The delay between an unstake request and its withdrawal.
    function unbondingDelay() external view returns (uint256);
}
