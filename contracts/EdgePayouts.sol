// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "./utils/MerkleProof.sol";
import {ReentrancyGuard} from "./utils/ReentrancyGuard.sol";

/// @title EdgePayouts
/// @notice Pull payouts from base stations to their edge clients by Merkle proof (docs/mechanism.md,
///         "Edge payouts"). Per (station, roundKey): the station first commits the hash of its reward rule
///         (`announceRule`), later posts the Merkle root of the `(address client, uint256 amount)` leaves
///         (built by `hcfl/chain/edge_payouts.py`) and funds their total (`postPayouts`). Each client claims
///         its own leaf before the deadline (`claim`); afterwards the station takes back the rest
///         (`reclaim`). Every posting is its own pot: what its claims and its reclaim pay out can never
///         exceed what its station funded, so a wrong root only ever costs the station that posted it.
/// @dev Invariant: balance == Σ over postings (funded - claimed - reclaimed). A claim costs O(proof length).
contract EdgePayouts is ReentrancyGuard {
    /// @notice Longest claim window a station may set.
    uint64 public constant MAX_CLAIM_WINDOW = 365 days;

    struct Rule {
        bytes32 ruleHash;
        uint64 announcedAt;
    }

    /// @dev Slot 0: root; slot 1: funded | claimed | deadline (all a claim reads and writes);
    ///      slot 2: reclaimed | postedAt (written once each).
    struct Payout {
        bytes32 root;
        uint96 funded;
        uint96 claimed;
        uint64 deadline;
        uint96 reclaimed;
        uint64 postedAt;
    }

    mapping(address station => mapping(bytes32 roundKey => Rule)) private _rules;
    mapping(address station => mapping(bytes32 roundKey => Payout)) private _payouts;
    mapping(address station => mapping(bytes32 roundKey => mapping(address client => bool))) private _claimed;

    /// @notice A station committed to its edge reward rule for `roundKey` at `announcedAt` (block time).
    event RuleAnnounced(address indexed station, bytes32 indexed roundKey, bytes32 ruleHash, uint64 announcedAt);
    /// @notice A station posted the payout root for `roundKey` and funded `total`; claims are open while
    ///         block.timestamp < `deadline`.
    event PayoutsPosted(
        address indexed station, bytes32 indexed roundKey, bytes32 root, uint256 total, uint64 postedAt, uint64 deadline
    );
    /// @notice `client` was paid `amount` from the station's posting for `roundKey`.
    event Claimed(address indexed station, bytes32 indexed roundKey, address indexed client, uint256 amount);
    /// @notice After the deadline the station took back the unclaimed `amount`.
    event Reclaimed(address indexed station, bytes32 indexed roundKey, uint256 amount);

    /// @notice The rule hash is zero (no rule).
    error ZeroRuleHash();
    /// @notice This station already announced a rule for this round key (rules are immutable).
    error RuleAlreadyAnnounced(address station, bytes32 roundKey);
    /// @notice Payouts need a rule announced earlier for the same (station, round key).
    error RuleNotAnnounced(address station, bytes32 roundKey);
    /// @notice This station already posted payouts for this round key.
    error PayoutsAlreadyPosted(address station, bytes32 roundKey);
    /// @notice The Merkle root is zero.
    error ZeroRoot();
    /// @notice Posting must fund a positive total (msg.value).
    error ZeroFunding();
    /// @notice msg.value above 2^96 - 1 wei (more than all ether in existence).
    error FundingTooLarge(uint256 value);
    /// @notice The claim window must be in (0, MAX_CLAIM_WINDOW] seconds.
    error BadClaimWindow(uint256 window);
    /// @notice Nothing is posted for this (station, round key).
    error NoPayouts(address station, bytes32 roundKey);
    /// @notice Claims closed at `deadline`.
    error ClaimWindowClosed(uint64 deadline);
    /// @notice Reclaiming opens at `deadline`.
    error ClaimWindowOpen(uint64 deadline);
    /// @notice This client already claimed from this posting.
    error AlreadyClaimed(address client);
    /// @notice A claim of zero pays nothing.
    error ZeroAmount();
    /// @notice The proof does not lead from (msg.sender, amount) to the posted root.
    error InvalidProof();
    /// @notice The claim would pay more than the posting has left (the root's leaves exceed its funding).
    error ExceedsFunding(uint256 amount, uint256 remaining);
    /// @notice The station already reclaimed, or nothing is left to reclaim.
    error NothingToReclaim();
    /// @notice The ether transfer to the recipient failed.
    error TransferFailed(address to, uint256 amount);

    /// @notice Commits the hash of the caller's edge reward rule for `roundKey`, once and for ever; the
    ///         event's timestamp lets auditors check that the rule preceded training.
    /// @param roundKey The round the rule is for, e.g. keccak256(abi.encode(hcflContract, roundId)).
    /// @param ruleHash keccak256 of the rule's canonical JSON (name and parameters), non-zero.
    function announceRule(bytes32 roundKey, bytes32 ruleHash) external {
        if (ruleHash == bytes32(0)) revert ZeroRuleHash();
        Rule storage r = _rules[msg.sender][roundKey];
        if (r.ruleHash != bytes32(0)) revert RuleAlreadyAnnounced(msg.sender, roundKey);
        r.ruleHash = ruleHash;
        r.announcedAt = uint64(block.timestamp);
        emit RuleAnnounced(msg.sender, roundKey, ruleHash, uint64(block.timestamp));
    }

    /// @notice Posts the Merkle root of the caller's payouts for `roundKey` and funds their total with
    ///         msg.value (Σ leaf amounts must equal it: claims beyond it revert). Once per (station, roundKey),
    ///         after `announceRule`.
    /// @param roundKey The round key the rule was announced for.
    /// @param root Root of the tree of leaves keccak256(bytes.concat(keccak256(abi.encode(client, amount)))).
    /// @param claimWindow Seconds from now during which clients may claim, in (0, MAX_CLAIM_WINDOW].
    function postPayouts(bytes32 roundKey, bytes32 root, uint64 claimWindow) external payable {
        if (_rules[msg.sender][roundKey].ruleHash == bytes32(0)) revert RuleNotAnnounced(msg.sender, roundKey);
        Payout storage p = _payouts[msg.sender][roundKey];
        if (p.root != bytes32(0)) revert PayoutsAlreadyPosted(msg.sender, roundKey);
        if (root == bytes32(0)) revert ZeroRoot();
        if (msg.value == 0) revert ZeroFunding();
        if (msg.value > type(uint96).max) revert FundingTooLarge(msg.value);
        if (claimWindow == 0 || claimWindow > MAX_CLAIM_WINDOW) revert BadClaimWindow(claimWindow);
        uint64 deadline = uint64(block.timestamp) + claimWindow;
        p.root = root;
        p.funded = uint96(msg.value);
        p.deadline = deadline;
        p.postedAt = uint64(block.timestamp);
        emit PayoutsPosted(msg.sender, roundKey, root, msg.value, uint64(block.timestamp), deadline);
    }

    /// @notice Pays the caller its leaf `(msg.sender, amount)` of `station`'s posting for `roundKey`.
    ///         Reverts on a wrong proof, a second claim, after the deadline, or beyond the posting's funds.
    /// @param station The base station that posted the payouts.
    /// @param roundKey The round key of the posting.
    /// @param amount The caller's amount in wei, as in its leaf.
    /// @param proof Sibling hashes from the caller's leaf up to the root (hcfl.merkle's proof).
    function claim(address station, bytes32 roundKey, uint256 amount, bytes32[] calldata proof) external nonReentrant {
        Payout storage p = _payouts[station][roundKey];
        bytes32 root = p.root;
        if (root == bytes32(0)) revert NoPayouts(station, roundKey);
        uint64 deadline = p.deadline;
        if (block.timestamp >= deadline) revert ClaimWindowClosed(deadline);
        if (amount == 0) revert ZeroAmount();
        mapping(address => bool) storage done = _claimed[station][roundKey];
        if (done[msg.sender]) revert AlreadyClaimed(msg.sender);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(msg.sender, amount))));
        if (!MerkleProof.verify(proof, root, leaf)) revert InvalidProof();
        uint256 remaining = uint256(p.funded) - p.claimed;
        if (amount > remaining) revert ExceedsFunding(amount, remaining);
        done[msg.sender] = true;
        p.claimed += uint96(amount); // amount <= remaining < 2^96
        emit Claimed(station, roundKey, msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice After the deadline, pays the caller (the station) what its clients left unclaimed; once.
    /// @param roundKey The round key of the caller's posting.
    function reclaim(bytes32 roundKey) external nonReentrant {
        Payout storage p = _payouts[msg.sender][roundKey];
        if (p.root == bytes32(0)) revert NoPayouts(msg.sender, roundKey);
        if (block.timestamp < p.deadline) revert ClaimWindowOpen(p.deadline);
        uint256 rest = uint256(p.funded) - p.claimed;
        if (p.reclaimed != 0 || rest == 0) revert NothingToReclaim();
        p.reclaimed = uint96(rest);
        emit Reclaimed(msg.sender, roundKey, rest);
        _send(msg.sender, rest);
    }

    /// @notice The rule `station` announced for `roundKey` (zero hash when none) and when.
    function ruleOf(address station, bytes32 roundKey) external view returns (bytes32 ruleHash, uint64 announcedAt) {
        Rule storage r = _rules[station][roundKey];
        return (r.ruleHash, r.announcedAt);
    }

    /// @notice `station`'s posting for `roundKey` (all zero when none).
    function payoutOf(address station, bytes32 roundKey)
        external
        view
        returns (bytes32 root, uint256 funded, uint256 claimed, uint256 reclaimed, uint64 postedAt, uint64 deadline)
    {
        Payout storage p = _payouts[station][roundKey];
        return (p.root, p.funded, p.claimed, p.reclaimed, p.postedAt, p.deadline);
    }

    /// @notice Whether `client` has claimed from `station`'s posting for `roundKey`.
    function isClaimed(address station, bytes32 roundKey, address client) external view returns (bool) {
        return _claimed[station][roundKey][client];
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
