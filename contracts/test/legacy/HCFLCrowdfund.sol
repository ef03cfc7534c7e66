// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ClarkeTax} from "./ClarkeTax.sol";
import {ShareSplit} from "./ShareSplit.sol";
import {ReentrancyGuard} from "../../utils/ReentrancyGuard.sol";

/// @title HCFLCrowdfund
/// @notice Crowdfunding rounds for hierarchical federated learning: model owners and base stations join
///         with deposits, owners propose models with a responsibility bond, everybody commits and reveals
///         sealed claims (values / costs), the contract selects the model with the largest surplus and
///         settles with the Clarke tax, records training reports, runs the punishment vote and pays out
///         by pull payments. The exact rules are in docs/mechanism.md.
/// @dev Every phase has a deadline after which anyone may `advance` the round, so no fund is ever stuck.
contract HCFLCrowdfund is ReentrancyGuard {
    // ------------------------------------------------------------------ types
    enum Role {
        None,
        Owner,
        Station
    }

    enum Phase {
        None,
        Joining,
        Proposing,
        Committing,
        Revealing,
        Training,
        VoteCommitting,
        VoteRevealing,
        Finished
    }

    enum PaymentRule {
        PaperRandom,
        Posted
    }

    enum ShareRule {
        Equal,
        Capability,
        Contribution
    }

    /// @dev Why a credit was added (for auditors).
    enum CreditReason {
        DepositReturn,
        BondReturn,
        StationReward,
        BondSlashShare
    }

    struct RoundConfig {
        uint64 joinDuration;
        uint64 proposeDuration;
        uint64 commitDuration;
        uint64 revealDuration;
        uint64 trainDuration;
        uint64 voteCommitDuration;
        uint64 voteRevealDuration;
        uint16 nonRevealPenaltyBps;
        uint16 punishThresholdBps;
        PaymentRule paymentRule;
        ShareRule ownerShareRule;
        ShareRule stationShareRule;
        uint256 minBond;
    }

    struct Proposal {
        address proposer;
        bytes32 specHash;
        string uri;
        uint32 archId;
        uint16 promisedAccBps;
        uint32 globalRounds;
        uint256 labelMask;
        uint256 bond;
        uint256 postedPrice;
    }

    struct Participant {
        Role role;
        bool committed;
        bool revealed;
        uint32 reportedRounds;
        uint256 deposit;
        uint256 capability;
        bytes32 commitment;
        uint256[] claims;
    }

    struct Round {
        RoundConfig cfg;
        Phase phase;
        uint64 phaseEnd;
        bool selectedSome;
        bool unfunded;
        bool finalized;
        bool punished;
        uint16 achievedAccBps;
        uint32 selected;
        uint32 revealedOwners;
        uint32 revealedStations;
        uint32 punishVotes;
        uint32 keepVotes;
        address creator;
        bytes32 saltXor;
        bytes32 globalModelHash;
        uint256 maxPostedPrice;
        uint256 totalPayment;
        uint256 seed;
        uint256 escrow;
        address[] owners;
        address[] stations;
        Proposal[] proposals;
        int256[] surplus;
        uint256[] scores;
    }

    struct Vote {
        bytes32 commitment;
        bool revealed;
        bool punish;
    }

    /// @notice Read-only summary of a round (see `getRound`).
    struct RoundView {
        RoundConfig cfg;
        Phase phase;
        uint64 phaseEnd;
        address creator;
        uint256 ownerCount;
        uint256 stationCount;
        uint256 proposalCount;
        bool settled;
        bool selectedSome;
        uint256 selected;
        bool unfunded;
        uint256 totalPayment;
        uint256 seed;
        uint256 escrow;
        bool finalized;
        bytes32 globalModelHash;
        uint16 achievedAccBps;
        bool punished;
        uint256 punishVotes;
        uint256 keepVotes;
    }

    // ------------------------------------------------------------------ constants
    uint256 public constant MAX_PARTICIPANTS = 200;
    uint256 public constant MAX_PROPOSALS = 20;
    uint256 public constant MAX_GLOBAL_ROUNDS = 10_000;
    uint256 public constant MAX_WEIGHT = type(uint64).max;
    uint256 public constant MAX_PRICE = type(uint128).max;
    uint256 public constant BPS = 10_000;

    // ------------------------------------------------------------------ state
    Round[] private _rounds;
    mapping(uint256 => mapping(address => Participant)) private _participants;
    mapping(uint256 => mapping(address => mapping(uint256 => bool))) private _reported;
    mapping(uint256 => mapping(address => Vote)) private _votes;

    /// @notice Withdrawable balance of each account.
    mapping(address => uint256) public credits;
    /// @notice Sum of all withdrawable balances.
    uint256 public totalCredits;
    /// @notice Deposits of rounds that have not settled yet.
    uint256 public totalDeposits;
    /// @notice Responsibility bonds not yet released.
    uint256 public totalBonds;
    /// @notice Station rewards held until their round finishes.
    uint256 public totalEscrow;
    /// @notice Recycled taxes and penalties of owners; discounts the next owners' payments.
    uint256 public ownerPool;
    /// @notice Recycled taxes and penalties of stations; raises the next stations' rewards.
    uint256 public stationPool;

    // ------------------------------------------------------------------ events
    event RoundCreated(uint256 indexed roundId, address indexed creator, RoundConfig cfg, uint64 joinEnd);
    event PhaseAdvanced(uint256 indexed roundId, Phase phase, uint64 phaseEnd);
    event Joined(uint256 indexed roundId, address indexed account, Role role, uint256 deposit, uint256 capability);
    event Proposed(
        uint256 indexed roundId,
        uint256 indexed proposalId,
        address indexed proposer,
        bytes32 specHash,
        string uri,
        uint32 archId,
        uint16 promisedAccBps,
        uint32 globalRounds,
        uint256 labelMask,
        uint256 bond,
        uint256 postedPrice
    );
    event ClaimsCommitted(uint256 indexed roundId, address indexed account, bytes32 commitment);
    event ClaimsRevealed(uint256 indexed roundId, address indexed account, uint256[] cappedClaims, bytes32 salt);
    event NonRevealPenalized(uint256 indexed roundId, address indexed account, uint256 penalty);
    event RoundSettled(
        uint256 indexed roundId,
        bool selectedSome,
        uint256 selected,
        bool unfunded,
        uint256 totalPayment,
        uint256 seed,
        int256[] surplus
    );
    event ParticipantSettled(
        uint256 indexed roundId, address indexed account, Role role, uint256 tax, uint256 payment
    );
    event PoolsUpdated(uint256 indexed roundId, uint256 ownerPool, uint256 stationPool, uint256 ownerDiscount, uint256 stationBonus);
    event TrainingReported(
        uint256 indexed roundId,
        address indexed station,
        uint32 globalRound,
        bytes32 updateHash,
        uint64 samples,
        uint16 accuracyBps
    );
    event TrainingFinalized(
        uint256 indexed roundId, address indexed winner, bytes32 globalModelHash, uint16 achievedAccBps, uint256[] scores
    );
    event WinnerFailed(uint256 indexed roundId, address indexed winner);
    event VoteCommitted(uint256 indexed roundId, address indexed voter, bytes32 commitment);
    event VoteRevealed(uint256 indexed roundId, address indexed voter, bool punish);
    event VoteTallied(uint256 indexed roundId, bool punished, uint256 punishVotes, uint256 keepVotes);
    event StationRewarded(uint256 indexed roundId, address indexed station, uint256 share, uint256 reward, uint256 forfeited);
    event Credited(uint256 indexed roundId, address indexed account, uint256 amount, CreditReason reason);
    event Withdrawn(address indexed account, uint256 amount);

    // ------------------------------------------------------------------ errors
    error UnknownRound(uint256 roundId);
    error InvalidConfig(string reason);
    error WrongPhase(Phase expected, Phase actual);
    error DeadlinePassed(uint64 deadline, uint256 nowTs);
    error DeadlineNotReached(uint64 deadline, uint256 nowTs);
    error ZeroDeposit();
    error InvalidRole();
    error AlreadyJoined();
    error NotJoined();
    error WrongRole(Role expected, Role actual);
    error TooManyParticipants();
    error TooManyProposals();
    error CapabilityTooLarge(uint256 capability);
    error BondTooSmall(uint256 sent, uint256 minBond);
    error InvalidProposal(string reason);
    error AlreadyCommitted();
    error NotCommitted();
    error AlreadyRevealed();
    error ClaimCountMismatch(uint256 expected, uint256 got);
    error CommitmentMismatch();
    error InsufficientDeposit(uint256 deposit, uint256 required);
    error NotRevealedStation();
    error GlobalRoundOutOfRange(uint32 globalRound, uint32 globalRounds);
    error AlreadyReported(uint32 globalRound);
    error NotWinner();
    error ScoreCountMismatch(uint256 expected, uint256 got);
    error ScoreTooLarge(uint256 score);
    error NotEligibleVoter();
    error VoteAlreadyCommitted();
    error VoteNotCommitted();
    error VoteAlreadyRevealed();
    error NothingToWithdraw();
    error TransferFailed();

    // ------------------------------------------------------------------ modifiers
    modifier inPhase(uint256 roundId, Phase expected) {
        Round storage r = _round(roundId);
        if (r.phase != expected) revert WrongPhase(expected, r.phase);
        if (block.timestamp > r.phaseEnd) revert DeadlinePassed(r.phaseEnd, block.timestamp);
        _;
    }

    // ================================================================== round set-up

    /// @notice Opens a new round; the join phase starts now.
    /// @param cfg phase durations (seconds), penalty and vote threshold (basis points), payment and share
    ///        rules and the minimum proposal bond
    /// @return roundId the new round's id
    function createRound(RoundConfig calldata cfg) external returns (uint256 roundId) {
        if (
            cfg.joinDuration == 0 || cfg.proposeDuration == 0 || cfg.commitDuration == 0
                || cfg.revealDuration == 0 || cfg.trainDuration == 0 || cfg.voteCommitDuration == 0
                || cfg.voteRevealDuration == 0
        ) revert InvalidConfig("zero duration");
        if (cfg.nonRevealPenaltyBps > BPS) revert InvalidConfig("penalty bps > 10000");
        if (cfg.punishThresholdBps > BPS) revert InvalidConfig("threshold bps > 10000");
        if (cfg.ownerShareRule == ShareRule.Contribution) revert InvalidConfig("owners cannot share by contribution");
        roundId = _rounds.length;
        Round storage r = _rounds.push();
        r.cfg = cfg;
        r.creator = msg.sender;
        r.phase = Phase.Joining;
        r.phaseEnd = uint64(block.timestamp) + cfg.joinDuration;
        emit RoundCreated(roundId, msg.sender, cfg, r.phaseEnd);
    }

    /// @notice Joins a round as a model owner or base station, injecting capital (the deposit).
    /// @param roundId the round
    /// @param role Owner or Station
    /// @param capability the declared capability p_i (weights the capability share rule; at most 2^64-1)
    function join(uint256 roundId, Role role, uint256 capability) external payable inPhase(roundId, Phase.Joining) {
        if (msg.value == 0) revert ZeroDeposit();
        if (role != Role.Owner && role != Role.Station) revert InvalidRole();
        if (capability > MAX_WEIGHT) revert CapabilityTooLarge(capability);
        Round storage r = _rounds[roundId];
        Participant storage p = _participants[roundId][msg.sender];
        if (p.role != Role.None) revert AlreadyJoined();
        if (r.owners.length + r.stations.length >= MAX_PARTICIPANTS) revert TooManyParticipants();
        p.role = role;
        p.deposit = msg.value;
        p.capability = capability;
        if (role == Role.Owner) r.owners.push(msg.sender);
        else r.stations.push(msg.sender);
        totalDeposits += msg.value;
        emit Joined(roundId, msg.sender, role, msg.value, capability);
    }

    /// @notice Posts a model proposal m = (ω, M, acc, t, y); `msg.value` is the responsibility bond.
    /// @param specHash content hash ω of the model spec and initial parameters
    /// @param uri where the spec can be fetched (informational)
    /// @param archId architecture id M
    /// @param promisedAccBps promised accuracy in basis points
    /// @param globalRounds number of global rounds t (1..MAX_GLOBAL_ROUNDS)
    /// @param labelMask target label set y as a bitmask (non-zero)
    /// @param postedPrice total payment C_m under the `posted` payment rule (ignored otherwise)
    /// @return proposalId index of the proposal in the round
    function propose(
        uint256 roundId,
        bytes32 specHash,
        string calldata uri,
        uint32 archId,
        uint16 promisedAccBps,
        uint32 globalRounds,
        uint256 labelMask,
        uint256 postedPrice
    ) external payable inPhase(roundId, Phase.Proposing) returns (uint256 proposalId) {
        Round storage r = _rounds[roundId];
        Participant storage p = _participants[roundId][msg.sender];
        if (p.role != Role.Owner) revert WrongRole(Role.Owner, p.role);
        if (msg.value < r.cfg.minBond || msg.value == 0) revert BondTooSmall(msg.value, r.cfg.minBond);
        if (r.proposals.length >= MAX_PROPOSALS) revert TooManyProposals();
        if (globalRounds == 0 || globalRounds > MAX_GLOBAL_ROUNDS) revert InvalidProposal("global rounds");
        if (promisedAccBps > BPS) revert InvalidProposal("accuracy bps > 10000");
        if (labelMask == 0) revert InvalidProposal("empty label set");
        if (postedPrice > MAX_PRICE) revert InvalidProposal("posted price too large");
        proposalId = r.proposals.length;
        r.proposals.push(
            Proposal(msg.sender, specHash, uri, archId, promisedAccBps, globalRounds, labelMask, msg.value, postedPrice)
        );
        if (postedPrice > r.maxPostedPrice) r.maxPostedPrice = postedPrice;
        totalBonds += msg.value;
        emit Proposed(
            roundId, proposalId, msg.sender, specHash, uri, archId, promisedAccBps, globalRounds, labelMask, msg.value, postedPrice
        );
    }

    // ================================================================== sealed claims

    /// @notice Commits sealed claims: keccak256(abi.encode(roundId, msg.sender, claims, salt)).
    /// @dev Under the posted rule the deposit must cover the largest posted price plus one wei.
    function commit(uint256 roundId, bytes32 commitment) external inPhase(roundId, Phase.Committing) {
        Round storage r = _rounds[roundId];
        Participant storage p = _participants[roundId][msg.sender];
        if (p.role == Role.None) revert NotJoined();
        if (p.committed) revert AlreadyCommitted();
        if (r.cfg.paymentRule == PaymentRule.Posted && p.deposit < r.maxPostedPrice + 1) {
            revert InsufficientDeposit(p.deposit, r.maxPostedPrice + 1);
        }
        p.committed = true;
        p.commitment = commitment;
        emit ClaimsCommitted(roundId, msg.sender, commitment);
    }

    /// @notice Reveals the committed claims (one per proposal, in wei) and the salt.
    /// @dev Claims are capped to the participant's claim limit (docs/mechanism.md) and stored capped.
    function reveal(uint256 roundId, uint256[] calldata claims, bytes32 salt)
        external
        inPhase(roundId, Phase.Revealing)
    {
        Round storage r = _rounds[roundId];
        Participant storage p = _participants[roundId][msg.sender];
        if (!p.committed) revert NotCommitted();
        if (p.revealed) revert AlreadyRevealed();
        uint256 k = r.proposals.length;
        if (claims.length != k) revert ClaimCountMismatch(k, claims.length);
        if (keccak256(abi.encode(roundId, msg.sender, claims, salt)) != p.commitment) revert CommitmentMismatch();
        uint256 limit = r.cfg.paymentRule == PaymentRule.Posted ? p.deposit - r.maxPostedPrice - 1 : p.deposit;
        uint256[] memory capped = new uint256[](k);
        for (uint256 m; m < k; ++m) {
            uint256 c = claims[m] > limit ? limit : claims[m];
            capped[m] = c;
            p.claims.push(c);
        }
        p.revealed = true;
        r.saltXor ^= salt;
        if (p.role == Role.Owner) r.revealedOwners += 1;
        else r.revealedStations += 1;
        emit ClaimsRevealed(roundId, msg.sender, capped, salt);
    }

    // ================================================================== phase control

    /// @notice Moves a round to its next phase once the current deadline has passed. Anyone may call it.
    /// @dev In the reveal phase this settles the round; in the training phase it marks the winner failed.
    function advance(uint256 roundId) external {
        Round storage r = _round(roundId);
        Phase ph = r.phase;
        if (ph == Phase.Finished || ph == Phase.None) revert WrongPhase(Phase.None, ph);
        if (block.timestamp <= r.phaseEnd) revert DeadlineNotReached(r.phaseEnd, block.timestamp);
        if (ph == Phase.Joining) {
            _enter(roundId, r, Phase.Proposing, r.cfg.proposeDuration);
        } else if (ph == Phase.Proposing) {
            if (r.proposals.length == 0) _settle(roundId, r);
            else _enter(roundId, r, Phase.Committing, r.cfg.commitDuration);
        } else if (ph == Phase.Committing) {
            _enter(roundId, r, Phase.Revealing, r.cfg.revealDuration);
        } else if (ph == Phase.Revealing) {
            _settle(roundId, r);
        } else if (ph == Phase.Training) {
            emit WinnerFailed(roundId, r.proposals[r.selected].proposer);
            _finish(roundId, r, true);
        } else if (ph == Phase.VoteCommitting) {
            _enter(roundId, r, Phase.VoteRevealing, r.cfg.voteRevealDuration);
        } else {
            _finish(roundId, r, false);
        }
    }

    /// @notice Settles a round after its reveal deadline: selection, Clarke taxes, payments, pools.
    function settle(uint256 roundId) external {
        Round storage r = _round(roundId);
        if (r.phase != Phase.Revealing) revert WrongPhase(Phase.Revealing, r.phase);
        if (block.timestamp <= r.phaseEnd) revert DeadlineNotReached(r.phaseEnd, block.timestamp);
        _settle(roundId, r);
    }

    // ================================================================== training records

    /// @notice A revealed base station reports one global round of training.
    /// @param globalRound 0-based global round (< t of the selected proposal)
    /// @param updateHash keccak256 of the station model it uploaded
    /// @param samples number of training samples behind the update
    /// @param accuracyBps the station model's local accuracy in basis points
    function reportTraining(uint256 roundId, uint32 globalRound, bytes32 updateHash, uint64 samples, uint16 accuracyBps)
        external
        inPhase(roundId, Phase.Training)
    {
        Round storage r = _rounds[roundId];
        Participant storage p = _participants[roundId][msg.sender];
        if (p.role != Role.Station || !p.revealed) revert NotRevealedStation();
        uint32 t = r.proposals[r.selected].globalRounds;
        if (globalRound >= t) revert GlobalRoundOutOfRange(globalRound, t);
        if (accuracyBps > BPS) revert InvalidProposal("accuracy bps > 10000");
        if (_reported[roundId][msg.sender][globalRound]) revert AlreadyReported(globalRound);
        _reported[roundId][msg.sender][globalRound] = true;
        p.reportedRounds += 1;
        emit TrainingReported(roundId, msg.sender, globalRound, updateHash, samples, accuracyBps);
    }

    /// @notice The winner records the final global model, its accuracy and the stations' contribution
    ///         scores (one per revealed station, in join order); this opens the punishment vote.
    function finalizeTraining(uint256 roundId, bytes32 globalModelHash, uint16 achievedAccBps, uint256[] calldata scores)
        external
        inPhase(roundId, Phase.Training)
    {
        Round storage r = _rounds[roundId];
        if (msg.sender != r.proposals[r.selected].proposer) revert NotWinner();
        if (achievedAccBps > BPS) revert InvalidProposal("accuracy bps > 10000");
        if (scores.length != r.revealedStations) revert ScoreCountMismatch(r.revealedStations, scores.length);
        for (uint256 i; i < scores.length; ++i) {
            if (scores[i] > MAX_WEIGHT) revert ScoreTooLarge(scores[i]);
        }
        r.finalized = true;
        r.globalModelHash = globalModelHash;
        r.achievedAccBps = achievedAccBps;
        r.scores = scores;
        emit TrainingFinalized(roundId, msg.sender, globalModelHash, achievedAccBps, scores);
        _enter(roundId, r, Phase.VoteCommitting, r.cfg.voteCommitDuration);
    }

    // ================================================================== punishment vote

    /// @notice A revealed owner other than the winner commits a vote:
    ///         keccak256(abi.encode(roundId, msg.sender, punish, salt)).
    function commitVote(uint256 roundId, bytes32 commitment) external inPhase(roundId, Phase.VoteCommitting) {
        Round storage r = _rounds[roundId];
        Participant storage p = _participants[roundId][msg.sender];
        if (p.role != Role.Owner || !p.revealed || msg.sender == r.proposals[r.selected].proposer) {
            revert NotEligibleVoter();
        }
        Vote storage v = _votes[roundId][msg.sender];
        if (v.commitment != bytes32(0)) revert VoteAlreadyCommitted();
        v.commitment = commitment;
        emit VoteCommitted(roundId, msg.sender, commitment);
    }

    /// @notice Reveals a committed vote.
    function revealVote(uint256 roundId, bool punish, bytes32 salt) external inPhase(roundId, Phase.VoteRevealing) {
        Round storage r = _rounds[roundId];
        Vote storage v = _votes[roundId][msg.sender];
        if (v.commitment == bytes32(0)) revert VoteNotCommitted();
        if (v.revealed) revert VoteAlreadyRevealed();
        if (keccak256(abi.encode(roundId, msg.sender, punish, salt)) != v.commitment) revert CommitmentMismatch();
        v.revealed = true;
        v.punish = punish;
        if (punish) r.punishVotes += 1;
        else r.keepVotes += 1;
        emit VoteRevealed(roundId, msg.sender, punish);
    }

    // ================================================================== payout

    /// @notice Pays the caller its whole credit (pull payment).
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        totalCredits -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ================================================================== views

    /// @notice Number of rounds created so far.
    function roundCount() external view returns (uint256) {
        return _rounds.length;
    }

    /// @notice Summary of a round.
    function getRound(uint256 roundId) external view returns (RoundView memory v) {
        Round storage r = _round(roundId);
        v.cfg = r.cfg;
        v.phase = r.phase;
        v.phaseEnd = r.phaseEnd;
        v.creator = r.creator;
        v.ownerCount = r.owners.length;
        v.stationCount = r.stations.length;
        v.proposalCount = r.proposals.length;
        v.settled = r.phase >= Phase.Training;
        v.selectedSome = r.selectedSome;
        v.selected = r.selected;
        v.unfunded = r.unfunded;
        v.totalPayment = r.totalPayment;
        v.seed = r.seed;
        v.escrow = r.escrow;
        v.finalized = r.finalized;
        v.globalModelHash = r.globalModelHash;
        v.achievedAccBps = r.achievedAccBps;
        v.punished = r.punished;
        v.punishVotes = r.punishVotes;
        v.keepVotes = r.keepVotes;
    }

    /// @notice All proposals of a round, in posting order.
    function getProposals(uint256 roundId) external view returns (Proposal[] memory) {
        return _round(roundId).proposals;
    }

    /// @notice Owners and stations of a round, each in join order.
    function getMembers(uint256 roundId) external view returns (address[] memory owners, address[] memory stations) {
        Round storage r = _round(roundId);
        return (r.owners, r.stations);
    }

    /// @notice A participant's state in a round (claims are the capped revealed claims).
    function getParticipant(uint256 roundId, address account)
        external
        view
        returns (
            Role role,
            bool committed,
            bool revealed,
            uint256 deposit,
            uint256 capability,
            uint32 reportedRounds,
            uint256[] memory claims
        )
    {
        _round(roundId);
        Participant storage p = _participants[roundId][account];
        return (p.role, p.committed, p.revealed, p.deposit, p.capability, p.reportedRounds, p.claims);
    }

    /// @notice Surplus per proposal computed at settlement, and the recorded contribution scores.
    function getOutcome(uint256 roundId) external view returns (int256[] memory surplus, uint256[] memory scores) {
        Round storage r = _round(roundId);
        return (r.surplus, r.scores);
    }

    /// @notice Whether a station reported a given global round.
    function hasReported(uint256 roundId, address station, uint256 globalRound) external view returns (bool) {
        return _reported[roundId][station][globalRound];
    }

    /// @notice A voter's vote record.
    function getVote(uint256 roundId, address voter) external view returns (bytes32 commitment, bool revealed, bool punish) {
        Vote storage v = _votes[roundId][voter];
        return (v.commitment, v.revealed, v.punish);
    }

    /// @notice Every wei the contract owes or holds, by kind; their sum equals the contract balance.
    function accounting()
        external
        view
        returns (uint256 credits_, uint256 deposits, uint256 bonds, uint256 escrow, uint256 ownerPool_, uint256 stationPool_)
    {
        return (totalCredits, totalDeposits, totalBonds, totalEscrow, ownerPool, stationPool);
    }

    // ================================================================== internals

    function _round(uint256 roundId) private view returns (Round storage) {
        if (roundId >= _rounds.length) revert UnknownRound(roundId);
        return _rounds[roundId];
    }

    function _enter(uint256 roundId, Round storage r, Phase next, uint64 duration) private {
        r.phase = next;
        r.phaseEnd = uint64(block.timestamp) + duration;
        emit PhaseAdvanced(roundId, next, r.phaseEnd);
    }

    function _credit(uint256 roundId, address account, uint256 amount, CreditReason reason) private {
        if (amount == 0) return;
        credits[account] += amount;
        totalCredits += amount;
        emit Credited(roundId, account, amount, reason);
    }

    /// @dev Working set of a settlement, kept in memory to avoid re-reading storage.
    struct Work {
        address[] who; // revealed owners first, then revealed stations, each in join order
        uint256 nOwners;
        int256[][] x; // net values x_p(m)
        int256[] s; // surplus S(m)
        uint256[] taxes;
        uint256 ownerPenalties;
        uint256 stationPenalties;
    }

    function _settle(uint256 roundId, Round storage r) private {
        uint256 k = r.proposals.length;
        Work memory w;
        r.seed = uint256(keccak256(abi.encode(r.saltXor)));
        _collect(roundId, r, w);
        w.s = new int256[](k);
        w.x = new int256[][](w.who.length);
        w.taxes = new uint256[](w.who.length);
        if (k > 0) _netValues(roundId, r, w, k);
        (bool some, uint256 star) = ClarkeTax.select(w.s);
        r.surplus = w.s;
        // nobody to pay, or nobody to be paid: the round cannot fund a model (docs/mechanism.md)
        bool unfunded = k > 0 && (w.nOwners == 0 || w.who.length == w.nOwners);
        if (!unfunded && k > 0) {
            for (uint256 i; i < w.who.length; ++i) {
                w.taxes[i] = ClarkeTax.tax(w.s, w.x[i], some, star);
            }
        }
        uint256 payment;
        uint256[] memory ownerPays = new uint256[](w.nOwners);
        if (some && !unfunded) {
            (unfunded, payment) = _totalPayment(roundId, r, w, star);
            if (unfunded) {
                for (uint256 i; i < w.who.length; ++i) w.taxes[i] = 0;
            }
        }
        bool selected = some && !unfunded;
        uint256 discount;
        uint256 bonus;
        if (selected) {
            discount = ownerPool < payment ? ownerPool : payment;
            ownerPays = ShareSplit.split(payment - discount, _weights(roundId, r, w, true));
            bonus = stationPool;
            r.escrow = payment + bonus;
            totalEscrow += payment + bonus;
            ownerPool -= discount;
            stationPool = 0;
            r.selectedSome = true;
            r.selected = uint32(star);
            r.totalPayment = payment;
        }
        r.unfunded = unfunded;
        _applyCredits(roundId, w, ownerPays);
        for (uint256 m; m < k; ++m) {
            if (!(selected && m == star)) {
                Proposal storage prop = r.proposals[m];
                totalBonds -= prop.bond;
                _credit(roundId, prop.proposer, prop.bond, CreditReason.BondReturn);
            }
        }
        emit RoundSettled(roundId, selected, selected ? star : 0, unfunded, payment, r.seed, w.s);
        emit PoolsUpdated(roundId, ownerPool, stationPool, discount, bonus);
        if (selected) {
            _enter(roundId, r, Phase.Training, r.cfg.trainDuration);
        } else {
            _enter(roundId, r, Phase.Finished, 0);
        }
    }

    /// @dev Credits deposits back to non-revealers (minus the penalty) and lists the revealed participants.
    function _collect(uint256 roundId, Round storage r, Work memory w) private {
        uint256 nOwners = r.owners.length;
        uint256 n = nOwners + r.stations.length;
        address[] memory who = new address[](r.revealedOwners + r.revealedStations);
        uint256 j;
        for (uint256 i; i < n; ++i) {
            address a = i < nOwners ? r.owners[i] : r.stations[i - nOwners];
            Participant storage p = _participants[roundId][a];
            if (p.revealed) {
                who[j++] = a;
                continue;
            }
            uint256 dep = p.deposit;
            totalDeposits -= dep;
            if (p.committed) {
                uint256 penalty = (dep * r.cfg.nonRevealPenaltyBps) / BPS;
                if (i < nOwners) w.ownerPenalties += penalty;
                else w.stationPenalties += penalty;
                emit NonRevealPenalized(roundId, a, penalty);
                dep -= penalty;
            }
            _credit(roundId, a, dep, CreditReason.DepositReturn);
        }
        w.who = who;
        w.nOwners = r.revealedOwners;
    }

    /// @dev x_p(m) for every revealed participant and S(m) = Σ_p x_p(m).
    function _netValues(uint256 roundId, Round storage r, Work memory w, uint256 k) private view {
        bool posted = r.cfg.paymentRule == PaymentRule.Posted;
        uint256[][] memory ownerShares;
        uint256[][] memory stationShares;
        if (posted) {
            uint256[] memory ow = _weights(roundId, r, w, true);
            uint256[] memory sw = _weights(roundId, r, w, false);
            ownerShares = new uint256[][](k);
            stationShares = new uint256[][](k);
            for (uint256 m; m < k; ++m) {
                uint256 price = r.proposals[m].postedPrice;
                ownerShares[m] = ShareSplit.split(price, ow);
                stationShares[m] = ShareSplit.split(price, sw);
            }
        }
        for (uint256 i; i < w.who.length; ++i) {
            Participant storage p = _participants[roundId][w.who[i]];
            bool isOwner = i < w.nOwners;
            int256[] memory xp = new int256[](k);
            for (uint256 m; m < k; ++m) {
                int256 c = int256(p.claims[m]);
                int256 v;
                if (isOwner) v = posted ? c - int256(ownerShares[m][i]) : c;
                else v = posted ? int256(stationShares[m][i - w.nOwners]) - c : -c;
                xp[m] = v;
                w.s[m] += v;
            }
            w.x[i] = xp;
        }
    }

    /// @dev Share weights of the revealed owners (owners=true) or stations, in join order.
    ///      The contribution rule counts as equal here (scores come after training).
    function _weights(uint256 roundId, Round storage r, Work memory w, bool owners)
        private
        view
        returns (uint256[] memory weights)
    {
        uint256 from = owners ? 0 : w.nOwners;
        uint256 to = owners ? w.nOwners : w.who.length;
        weights = new uint256[](to - from);
        bool byCapability = (owners ? r.cfg.ownerShareRule : r.cfg.stationShareRule) == ShareRule.Capability;
        for (uint256 i = from; i < to; ++i) {
            weights[i - from] = byCapability ? _participants[roundId][w.who[i]].capability : 1;
        }
    }

    /// @dev The total payment C of the selected proposal, or unfunded (docs/mechanism.md).
    function _totalPayment(uint256 roundId, Round storage r, Work memory w, uint256 star)
        private
        returns (bool unfunded, uint256 payment)
    {
        if (r.cfg.paymentRule == PaymentRule.Posted) return (false, r.proposals[star].postedPrice);
        uint256 sumB;
        uint256 sumK;
        for (uint256 i; i < w.who.length; ++i) {
            uint256 c = uint256(w.x[i][star] < 0 ? -w.x[i][star] : w.x[i][star]);
            if (i < w.nOwners) sumB += c;
            else sumK += c;
        }
        uint256[] memory weights = _weights(roundId, r, w, true);
        uint256 wSum;
        for (uint256 i; i < weights.length; ++i) wSum += weights[i];
        bool equal = wSum == 0;
        if (equal) wSum = weights.length;
        uint256 cMax = sumB;
        uint256 afford = type(uint256).max;
        for (uint256 i; i < w.nOwners; ++i) {
            uint256 wi = equal ? 1 : weights[i];
            if (wi == 0) continue;
            uint256 a = _participants[roundId][w.who[i]].deposit - w.taxes[i];
            uint256 ai = ShareSplit.affordable(a, wi, wSum);
            if (ai < afford) afford = ai;
        }
        if (afford != type(uint256).max && afford + ownerPool < cMax) cMax = afford + ownerPool;
        if (cMax < sumK) return (true, 0);
        payment = sumK + (r.seed % (cMax - sumK + 1));
    }

    /// @dev Credits revealed participants their deposits minus tax (and payment), and fills the pools.
    function _applyCredits(uint256 roundId, Work memory w, uint256[] memory ownerPays) private {
        uint256 ownerTaxes;
        uint256 stationTaxes;
        for (uint256 i; i < w.who.length; ++i) {
            address a = w.who[i];
            Participant storage p = _participants[roundId][a];
            bool isOwner = i < w.nOwners;
            uint256 tax = w.taxes[i];
            uint256 pay = isOwner && ownerPays.length > 0 ? ownerPays[i] : 0;
            totalDeposits -= p.deposit;
            if (isOwner) ownerTaxes += tax;
            else stationTaxes += tax;
            emit ParticipantSettled(roundId, a, p.role, tax, pay);
            _credit(roundId, a, p.deposit - tax - pay, CreditReason.DepositReturn);
        }
        ownerPool += ownerTaxes + w.ownerPenalties;
        stationPool += stationTaxes + w.stationPenalties;
    }

    /// @dev Releases station rewards and the winner's bond; `failed` when the winner never finalized.
    function _finish(uint256 roundId, Round storage r, bool failed) private {
        Proposal storage prop = r.proposals[r.selected];
        address winner = prop.proposer;
        (address[] memory owners, address[] memory stations) = _revealedMembers(roundId, r);
        // station rewards
        uint256 escrow = r.escrow;
        uint256[] memory weights = new uint256[](stations.length);
        ShareRule rule = r.cfg.stationShareRule;
        for (uint256 i; i < stations.length; ++i) {
            if (rule == ShareRule.Capability) weights[i] = _participants[roundId][stations[i]].capability;
            else if (rule == ShareRule.Contribution && r.finalized) weights[i] = r.scores[i];
            else weights[i] = 1;
        }
        uint256[] memory shares = ShareSplit.split(escrow, weights);
        uint256 paid;
        uint32 t = prop.globalRounds;
        for (uint256 i; i < stations.length; ++i) {
            uint256 reward = (shares[i] * _participants[roundId][stations[i]].reportedRounds) / t;
            paid += reward;
            emit StationRewarded(roundId, stations[i], shares[i], reward, shares[i] - reward);
            _credit(roundId, stations[i], reward, CreditReason.StationReward);
        }
        totalEscrow -= escrow;
        stationPool += escrow - paid;
        // bond
        bool punish = failed;
        if (!failed) {
            uint256 total = uint256(r.punishVotes) + r.keepVotes;
            punish = uint256(r.punishVotes) * BPS > uint256(r.cfg.punishThresholdBps) * total;
        }
        r.punished = punish;
        uint256 bond = prop.bond;
        totalBonds -= bond;
        if (!punish) {
            _credit(roundId, winner, bond, CreditReason.BondReturn);
        } else {
            // the winner may not be among the revealed owners (a proposer need not commit), so count
            uint256 others;
            for (uint256 i; i < owners.length; ++i) {
                if (owners[i] != winner) ++others;
            }
            if (others == 0) {
                ownerPool += bond;
            } else {
                uint256[] memory ones = new uint256[](others);
                address[] memory rest = new address[](others);
                uint256 j;
                for (uint256 i; i < owners.length; ++i) {
                    if (owners[i] != winner) {
                        rest[j] = owners[i];
                        ones[j++] = 1;
                    }
                }
                uint256[] memory parts = ShareSplit.split(bond, ones);
                for (uint256 i; i < others; ++i) _credit(roundId, rest[i], parts[i], CreditReason.BondSlashShare);
            }
        }
        emit VoteTallied(roundId, punish, r.punishVotes, r.keepVotes);
        emit PoolsUpdated(roundId, ownerPool, stationPool, 0, 0);
        _enter(roundId, r, Phase.Finished, 0);
    }

    function _revealedMembers(uint256 roundId, Round storage r)
        private
        view
        returns (address[] memory owners, address[] memory stations)
    {
        owners = new address[](r.revealedOwners);
        stations = new address[](r.revealedStations);
        uint256 j;
        for (uint256 i; i < r.owners.length; ++i) {
            if (_participants[roundId][r.owners[i]].revealed) owners[j++] = r.owners[i];
        }
        j = 0;
        for (uint256 i; i < r.stations.length; ++i) {
            if (_participants[roundId][r.stations[i]].revealed) stations[j++] = r.stations[i];
        }
    }
}
