// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "./utils/MerkleProof.sol";
import {ReentrancyGuard} from "./utils/ReentrancyGuard.sol";

/// @notice The one HCFLCore view EdgePayouts reads (HCFLCore.stationReward).
interface IStationRewards {
    function stationReward(uint256 roundId, address station)
        external
        view
        returns (uint64 commitEnd, uint64 revealEnd, bool isStation, bool rewardFinal, uint256 reward);
}

/// @title EdgePayouts
/// @notice Pull payouts from base stations to their edge clients by Merkle proof (docs/mechanism.md,
///         "Edge payouts"), bound to one HCFLCore: a station's on-chain reward for an HCFLCore round is split
///         among its edge clients. Per (station, roundKey = bytes32(roundId)): the station, a station of that
///         round, commits the hash of its reward rule before training can start (`announceRule`: by the
///         round's reveal deadline; by its commit deadline when the rule takes sealed cost claims of the edge
///         clients, which are then committed and revealed in the round's own commit and reveal windows). Once
///         its HCFLCore reward is final (claimed), it posts the Merkle root of the `(address client, uint256
///         amount)` leaves (built by `hcfl/chain/edge_payouts.py`) and funds exactly that reward, once
///         (`postPayouts`). Each client claims its own leaf before the deadline (`claim`); afterwards the
///         station takes back the rest (`reclaim`). Every posting is its own pot: what its claims and its
///         reclaim pay out can never exceed what its station funded.
/// @dev Invariant: balance == Σ over postings (funded - claimed - reclaimed). A claim costs O(proof length).
contract EdgePayouts is ReentrancyGuard {
    /// @notice Longest claim window a station may set.
    uint64 public constant MAX_CLAIM_WINDOW = 365 days;

    /// @notice Most cost parameters one sealed edge claim may carry.
    uint256 public constant MAX_COST_PARAMS = 8;

    /// @notice The HCFLCore whose station rewards this contract pays out.
    IStationRewards public immutable core;

    /// @dev One slot: hash; one slot: announcedAt | commitDeadline | revealDeadline.
    struct Rule {
        bytes32 ruleHash;
        uint64 announcedAt;
        uint64 commitDeadline;
        uint64 revealDeadline;
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
    /// @dev Sealed edge cost claims: commitment per (station, roundKey, client); cleared-to-flag on reveal.
    mapping(address station => mapping(bytes32 roundKey => mapping(address client => bytes32))) private _costCommit;
    mapping(address station => mapping(bytes32 roundKey => mapping(address client => bool))) private _costRevealed;

    /// @notice A station committed to its edge reward rule for `roundKey` at `announcedAt` (block time).
    event RuleAnnounced(address indexed station, bytes32 indexed roundKey, bytes32 ruleHash, uint64 announcedAt);
    /// @notice The announced rule takes sealed cost claims: commits while block.timestamp < `commitDeadline`,
    ///         reveals in [`commitDeadline`, `revealDeadline`).
    event ClaimWindows(address indexed station, bytes32 indexed roundKey, uint64 commitDeadline, uint64 revealDeadline);
    /// @notice `client` committed (or replaced) its sealed cost claim for (station, roundKey).
    event CostClaimCommitted(address indexed station, bytes32 indexed roundKey, address indexed client, bytes32 commitment);
    /// @notice `client` revealed its cost parameters (COST_SCALE = 1e18 fixed point, hcfl/edge/claims.py).
    event CostClaimRevealed(address indexed station, bytes32 indexed roundKey, address indexed client, uint256[] costParams);
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
    /// @notice The station's rule for this round key takes no sealed cost claims.
    error NoCostClaims(address station, bytes32 roundKey);
    /// @notice Commits closed at `deadline`.
    error CommitWindowClosed(uint64 deadline);
    /// @notice Reveals are accepted in [`opens`, `closes`) only.
    error NotRevealWindow(uint64 opens, uint64 closes);
    /// @notice The commitment is zero.
    error ZeroCommitment();
    /// @notice The caller committed nothing for this (station, round key).
    error NoCommitment(address client);
    /// @notice The caller already revealed its claim.
    error AlreadyRevealed(address client);
    /// @notice The revealed (params, salt) do not hash to the caller's commitment.
    error CommitmentMismatch(address client);
    /// @notice A claim carries 1..MAX_COST_PARAMS cost parameters.
    error BadCostParams(uint256 count);
    /// @notice Payouts are posted only once the reveal window closed, at `revealDeadline`.
    error RevealWindowOpen(uint64 revealDeadline);
    /// @notice The ether transfer to the recipient failed.
    error TransferFailed(address to, uint256 amount);
    /// @notice The core address has no code.
    error CoreNotAContract(address core);
    /// @notice HCFLCore knows no round `roundId` (roundKey = bytes32(roundId)).
    error UnknownCoreRound(uint256 roundId);
    /// @notice The caller did not join HCFLCore round `roundId` as a station.
    error NotAStation(address account, uint256 roundId);
    /// @notice Rules are announced before training can start: by `deadline` (the round's reveal deadline,
    ///         or its commit deadline for a rule that takes sealed cost claims).
    error AnnounceClosed(uint64 deadline);
    /// @notice The station's HCFLCore reward for the round is not final (not yet claimed) or is zero.
    error RewardNotFinal(address station, uint256 roundId);
    /// @notice A posting funds exactly the station's HCFLCore reward for the round.
    error FundingNotReward(uint256 value, uint256 reward);

    /// @param core_ The HCFLCore whose station rewards are paid out to edge clients.
    constructor(address core_) {
        if (core_.code.length == 0) revert CoreNotAContract(core_);
        core = IStationRewards(core_);
    }

    /// @notice Commits the hash of the caller's edge reward rule for HCFLCore round `roundKey`, once and for
    ///         ever, before training can start: the caller must have joined the round as a station, and the
    ///         rule is announced by the round's reveal deadline, or by its commit deadline when it takes
    ///         sealed cost claims of the edge clients (`costClaims`). Those claims are committed until the
    ///         round's commit deadline and revealed in its reveal window, as the stations' own claims.
    /// @param roundKey bytes32(roundId) of the HCFLCore round.
    /// @param ruleHash keccak256 of the rule's canonical JSON (name and parameters), non-zero.
    /// @param costClaims Whether the rule takes sealed cost claims of the edge clients.
    function announceRule(bytes32 roundKey, bytes32 ruleHash, bool costClaims) external {
        if (ruleHash == bytes32(0)) revert ZeroRuleHash();
        Rule storage r = _rules[msg.sender][roundKey];
        if (r.ruleHash != bytes32(0)) revert RuleAlreadyAnnounced(msg.sender, roundKey);
        (uint64 commitEnd, uint64 revealEnd, bool isStation,,) = _station(roundKey, msg.sender);
        if (!isStation) revert NotAStation(msg.sender, uint256(roundKey));
        uint64 deadline = costClaims ? commitEnd : revealEnd;
        if (block.timestamp > deadline) revert AnnounceClosed(deadline);
        uint64 now_ = uint64(block.timestamp);
        r.ruleHash = ruleHash;
        r.announcedAt = now_;
        emit RuleAnnounced(msg.sender, roundKey, ruleHash, now_);
        if (costClaims) {
            // the core's inclusive deadlines as this contract's exclusive ones (< 2^64 - 1: set from durations)
            r.commitDeadline = commitEnd + 1;
            r.revealDeadline = revealEnd + 1;
            emit ClaimWindows(msg.sender, roundKey, commitEnd + 1, revealEnd + 1);
        }
    }

    /// @dev HCFLCore's record of `station` in round uint256(roundKey); an unknown round is UnknownCoreRound.
    function _station(bytes32 roundKey, address station)
        private
        view
        returns (uint64 commitEnd, uint64 revealEnd, bool isStation, bool rewardFinal, uint256 reward)
    {
        try core.stationReward(uint256(roundKey), station) returns (
            uint64 c, uint64 v, bool st, bool fin, uint256 amount
        ) {
            return (c, v, st, fin, amount);
        } catch {
            revert UnknownCoreRound(uint256(roundKey));
        }
    }

    /// @notice The sealed cost-claim commitment (hcfl/edge/claims.py `edge_claim_commitment` with the round
    ///         key as the uint256 round id): keccak256(abi.encode(uint256(roundKey), station, client,
    ///         costParams, salt)).
    /// @param roundKey The round key of the station's announcement.
    /// @param station The station whose rule the claim is for.
    /// @param client The edge client making the claim.
    /// @param costParams Fixed-point (1e18) cost parameters in the rule's order.
    /// @param salt The client's secret 32 bytes.
    function claimCommitment(
        bytes32 roundKey,
        address station,
        address client,
        uint256[] calldata costParams,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(uint256(roundKey), station, client, costParams, salt));
    }

    /// @notice Seals the caller's cost claim for `station`'s rule of `roundKey` while the commit window is
    ///         open; a later commit in the window replaces it.
    /// @param station The station whose rule takes claims.
    /// @param roundKey Its round key.
    /// @param commitment claimCommitment(roundKey, station, msg.sender, costParams, salt), non-zero.
    function commitCostClaim(address station, bytes32 roundKey, bytes32 commitment) external {
        Rule storage r = _rules[station][roundKey];
        if (r.commitDeadline == 0) revert NoCostClaims(station, roundKey);
        if (block.timestamp >= r.commitDeadline) revert CommitWindowClosed(r.commitDeadline);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        _costCommit[station][roundKey][msg.sender] = commitment;
        emit CostClaimCommitted(station, roundKey, msg.sender, commitment);
    }

    /// @notice Opens the caller's sealed claim during the reveal window; a claim left unrevealed is
    ///         excluded from the round. Emits the parameters for the station and auditors.
    /// @param station The station whose rule takes claims.
    /// @param roundKey Its round key.
    /// @param costParams The committed parameters (1..MAX_COST_PARAMS of them).
    /// @param salt The committed salt.
    function revealCostClaim(address station, bytes32 roundKey, uint256[] calldata costParams, bytes32 salt)
        external
    {
        Rule storage r = _rules[station][roundKey];
        if (r.commitDeadline == 0) revert NoCostClaims(station, roundKey);
        if (block.timestamp < r.commitDeadline || block.timestamp >= r.revealDeadline) {
            revert NotRevealWindow(r.commitDeadline, r.revealDeadline);
        }
        if (costParams.length == 0 || costParams.length > MAX_COST_PARAMS) revert BadCostParams(costParams.length);
        bytes32 c = _costCommit[station][roundKey][msg.sender];
        if (c == bytes32(0)) revert NoCommitment(msg.sender);
        if (_costRevealed[station][roundKey][msg.sender]) revert AlreadyRevealed(msg.sender);
        if (claimCommitment(roundKey, station, msg.sender, costParams, salt) != c) revert CommitmentMismatch(msg.sender);
        _costRevealed[station][roundKey][msg.sender] = true;
        emit CostClaimRevealed(station, roundKey, msg.sender, costParams);
    }

    /// @notice Posts the Merkle root of the caller's payouts for `roundKey` and funds them with msg.value,
    ///         which must equal the caller's final HCFLCore reward for the round to the wei (Σ leaf amounts
    ///         must equal it too: claims beyond it revert; `hcfl audit` flags any difference). Once per
    ///         (station, roundKey), after `announceRule` and after the station's reward was claimed on HCFLCore.
    /// @param roundKey bytes32(roundId) of the HCFLCore round the rule was announced for.
    /// @param root Root of the tree of leaves keccak256(bytes.concat(keccak256(abi.encode(client, amount)))).
    /// @param claimWindow Seconds from now during which clients may claim, in (0, MAX_CLAIM_WINDOW].
    function postPayouts(bytes32 roundKey, bytes32 root, uint64 claimWindow) external payable {
        Rule storage rule = _rules[msg.sender][roundKey];
        if (rule.ruleHash == bytes32(0)) revert RuleNotAnnounced(msg.sender, roundKey);
        if (block.timestamp < rule.revealDeadline) revert RevealWindowOpen(rule.revealDeadline);
        Payout storage p = _payouts[msg.sender][roundKey];
        if (p.root != bytes32(0)) revert PayoutsAlreadyPosted(msg.sender, roundKey);
        if (root == bytes32(0)) revert ZeroRoot();
        (,,, bool rewardFinal, uint256 reward) = _station(roundKey, msg.sender);
        if (!rewardFinal || reward == 0) revert RewardNotFinal(msg.sender, uint256(roundKey));
        if (msg.value != reward) revert FundingNotReward(msg.value, reward);
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

    /// @notice The cost-claim windows of `station`'s rule for `roundKey` (zero: the rule takes no claims).
    function claimWindowsOf(address station, bytes32 roundKey)
        external
        view
        returns (uint64 commitDeadline, uint64 revealDeadline)
    {
        Rule storage r = _rules[station][roundKey];
        return (r.commitDeadline, r.revealDeadline);
    }

    /// @notice `client`'s sealed claim for (station, roundKey) (zero when none) and whether it is revealed.
    function costClaimOf(address station, bytes32 roundKey, address client)
        external
        view
        returns (bytes32 commitment, bool revealed)
    {
        return (_costCommit[station][roundKey][client], _costRevealed[station][roundKey][client]);
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
