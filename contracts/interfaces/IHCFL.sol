// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IHCFL
/// @notice Types, events and custom errors of HCFL contract v2 (campaigns of crowdfunding rounds for
///         hierarchical federated learning). The rules are in /docs (V2 rules): integer wei, BPS = 10000,
///         cumfloor(T, Pb, Pa, W) = floor(T*Pa/W) - floor(T*Pb/W) as the one remainder rule.
/// @dev Every module library emits and reverts with the qualified names declared here, so the deployed
///      HCFLCore (which inherits this interface) carries the complete ABI.
interface IHCFL {
    // ------------------------------------------------------------------ enums
    enum Role {
        None,
        Owner,
        Station
    }

    /// @dev Derived from timestamps (Governor style); only `settle` moves state by a transaction.
    enum Phase {
        None,
        Joining,
        Proposing,
        Committing,
        Revealing,
        AwaitingSettlement,
        Training,
        VoteCommitting,
        VoteRevealing,
        Finished
    }

    enum PaymentRule {
        Posted,
        PaperRandom
    }

    enum ShareRule {
        Equal,
        Stake,
        Proportional,
        Contribution
    }

    /// @dev Why a credit was added (for auditors).
    enum CreditReason {
        DepositReturn,
        BondReturn,
        StationReward,
        BondSlashShare,
        VoteDepositReturn
    }

    /// @dev Which pool a transfer touches.
    enum PoolKind {
        Owner,
        Station
    }

    // ------------------------------------------------------------------ structs
    /// @notice A campaign's configuration; every round of the campaign uses it.
    struct Config {
        uint64 joinDuration;
        uint64 proposeDuration;
        uint64 commitDuration;
        uint64 revealDuration;
        uint64 trainDuration;
        uint64 voteCommitDuration;
        uint64 voteRevealDuration;
        uint16 nonRevealPenaltyBps;
        uint16 punishThresholdBps;
        uint16 poolDrawBps;
        uint8 maxProposalsPerOwner;
        PaymentRule paymentRule;
        ShareRule ownerShareRule;
        ShareRule stationShareRule;
        uint256 nonRevealPenaltyFloor;
        uint256 minOwnerDeposit;
        uint256 minStationDeposit;
        uint256 minBond;
        uint256 maxPrice;
        uint256 voteDeposit;
    }

    struct Campaign {
        address creator;
        uint64 roundCount;
        uint256 ownerPool;
        uint256 stationPool;
        Config cfg;
    }

    struct Proposal {
        address proposer;
        uint32 globalRounds;
        uint16 promisedAccBps;
        uint128 price;
        uint256 bond;
        bytes32 specHash;
    }

    /// @notice Running sums of capped claims for one proposal: owners' (sumB) and stations' (sumK).
    struct Sums {
        uint128 sumB;
        uint128 sumK;
    }

    /// @notice Everything of a round except per-account records.
    struct RoundData {
        uint32 campaignId;
        uint8 k;
        uint24 affordMask;
        uint64 joinEnd;
        uint64 proposeEnd;
        uint64 commitEnd;
        uint64 revealEnd;
        uint64 trainEnd; // settlement time + trainDuration (0 before settle)
        uint64 trainClosedAt;
        uint8 star;
        bool settled;
        bool selected;
        bool unfunded;
        bool finalized;
        bool objected;
        uint32 nO;
        uint32 nS;
        uint96 wO;
        uint96 wS;
        uint96 ratioNum;
        uint96 ratioDen;
        uint16 achievedAccBps;
        bytes32 saltXor;
        uint256 seed;
        uint128 payment;
        uint128 ownerDiscount;
        uint256 stationBonus;
        uint256 escrow;
        uint256 escrowPaid;
        uint256 reportsDone;
        bytes32 modelHash;
        bytes32 scoresRoot;
        uint256 scoresTotal;
        bytes32 validationHash;
        uint128 punishW;
        uint128 keepW;
        Sums[20] sums;
        Proposal[20] proposals;
    }

    /// @notice One account's record in one round.
    struct ParticipantData {
        Role role;
        bool committed;
        bool revealed;
        bool settledClaimed;
        bool finalClaimed;
        uint16 reported;
        uint32 revealIndex;
        uint128 deposit;
        uint128 prefix;
        bytes32 commitment;
        /// @dev capped claims (revealed participants only)
        uint256[20] claims;
        uint256[20] propPrefix;
    }

    struct VoteData {
        bytes32 commitment;
        bool committed;
        bool revealed;
        bool punish;
        uint128 prefix;
        uint128 weight;
    }

    /// @notice What a claim computed for one account (emitted and returned by previews).
    struct Settlement {
        uint256 payment;
        uint256 tax;
        uint256 penalty;
        uint256 refund;
    }

    // ------------------------------------------------------------------ events
    event CampaignCreated(uint256 indexed campaignId, address indexed creator, Config cfg);
    event RoundOpened(
        uint256 indexed roundId,
        uint256 indexed campaignId,
        uint64 joinEnd,
        uint64 proposeEnd,
        uint64 commitEnd,
        uint64 revealEnd
    );
    event Joined(uint256 indexed roundId, address indexed account, Role role, uint256 deposit);
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
        uint256 price
    );
    event ClaimsCommitted(uint256 indexed roundId, address indexed account, bytes32 commitment);
    /// @notice `cappedClaims` are the claims that count (each capped to deposit - 1); `prefix` is the
    ///         account's prefix on its side's weight line (its weight: the deposit under Stake, else 1).
    event ClaimsRevealed(
        uint256 indexed roundId, address indexed account, uint256[] cappedClaims, bytes32 salt, uint256 prefix
    );
    event RoundSettled(
        uint256 indexed roundId,
        bool selected,
        uint256 star,
        bool unfunded,
        uint256 payment,
        uint256 ownerDiscount,
        uint256 stationBonus,
        uint256 seed,
        uint32 affordMask
    );
    /// @notice The lazily computed settlement of one account (owner payment, Clarke tax, non-reveal penalty).
    ///         `refund` is credited to the account (CreditReason.DepositReturn; no Credited event repeats it).
    event ParticipantSettled(
        uint256 indexed roundId, address indexed account, Role role, uint256 payment, uint256 tax, uint256 penalty, uint256 refund
    );
    event PoolChanged(uint256 indexed campaignId, uint256 indexed roundId, PoolKind pool, int256 delta, uint256 newBalance);
    event TrainingReported(
        uint256 indexed roundId,
        address indexed station,
        uint32 globalRound,
        bytes32 updateHash,
        uint64 samples,
        uint16 accuracyBps,
        bytes32 clientsRoot
    );
    event TrainingFinalized(
        uint256 indexed roundId,
        address indexed winner,
        bytes32 modelHash,
        uint16 achievedAccBps,
        bytes32 scoresRoot,
        uint256 scoresTotal,
        bytes32 validationHash
    );
    event TrainingClosed(uint256 indexed roundId, uint64 closedAt);
    event ScoresObjected(uint256 indexed roundId, address indexed station);
    /// @notice A station's share of the escrow; `reward` is credited to it (CreditReason.StationReward; no
    ///         Credited event repeats it), `forfeited` goes to the station pool.
    event StationRewarded(
        uint256 indexed roundId, address indexed station, uint256 share, uint256 reward, uint256 forfeited, bool byContribution
    );
    event VoteCommitted(uint256 indexed roundId, address indexed voter, bytes32 commitment, uint256 weight);
    event VoteRevealed(uint256 indexed roundId, address indexed voter, bool punish, uint256 weight, uint256 prefix);
    event VoteDepositForfeited(uint256 indexed roundId, address indexed voter, uint256 amount);
    event BondReleased(uint256 indexed roundId, address indexed winner, bool punished, bool failed, uint256 toWinner);
    event BondSlashShare(uint256 indexed roundId, address indexed account, uint256 amount);
    /// @notice A credit for a bond return, a bond slash share or a vote deposit return (deposit returns and
    ///         station rewards are credited by ParticipantSettled.refund and StationRewarded.reward).
    event Credited(uint256 indexed roundId, address indexed account, uint256 amount, CreditReason reason);
    event Withdrawn(address indexed account, uint256 amount);
    event SurplusSwept(uint256 indexed campaignId, uint256 amount);
    /// @notice Escrow of a round that no station share covers (or nobody claimed in time) went to the station pool.
    event EscrowReturned(uint256 indexed roundId, uint256 amount);
    /// @notice The winner recorded which station updates went into the aggregates: `inclusionRoot` is the
    ///         Merkle root of the leaves (station, includedRounds), `manifestsRoot` the root of the per-round
    ///         manifest roots (leaves (globalRound, manifestRoot)) that `hcfl audit` recomputes them from.
    event InclusionRecorded(uint256 indexed roundId, address indexed winner, bytes32 inclusionRoot, bytes32 manifestsRoot);
    /// @notice A station's leaf (station, includedRounds) was proven against the round's inclusion root.
    event InclusionProven(uint256 indexed roundId, address indexed station, uint256 includedRounds);
    /// @notice A revealed station contests the inclusion root; the punishment vote decides (docs/security.md).
    event InclusionContested(uint256 indexed roundId, address indexed station);

    // ------------------------------------------------------------------ errors
    error UnknownCampaign(uint256 campaignId);
    error UnknownRound(uint256 roundId);
    /// @notice The round holds no escrow left to return.
    error NothingToSweep(uint256 roundId);
    /// @notice The escrow claim window of a round has not passed yet (`opensAt` is max while the round runs).
    error EscrowClaimWindowOpen(uint256 opensAt, uint256 nowTs);
    error NotCampaignCreator(address caller, address creator);
    error DurationOutOfRange(uint256 index, uint256 duration);
    error BpsOutOfRange(uint256 value);
    error PenaltyFloorZero();
    error MinDepositZero();
    error MinBondZero();
    error MaxPriceOutOfRange(uint256 maxPrice);
    error MaxProposalsPerOwnerOutOfRange(uint256 value);
    error OwnersCannotShareByContribution();
    error WrongPhase(Phase expected, Phase actual);
    error InvalidRole();
    error DepositTooSmall(uint256 sent, uint256 minimum);
    error AmountTooLarge(uint256 amount);
    error AlreadyJoined();
    error NotJoined();
    error WrongRole(Role expected, Role actual);
    error BondTooSmall(uint256 sent, uint256 minBond);
    error PriceTooLarge(uint256 price, uint256 maxPrice);
    error TooManyProposals();
    error TooManyProposalsByOwner(uint256 maxPerOwner);
    error GlobalRoundsOutOfRange(uint256 globalRounds);
    error AccuracyOutOfRange(uint256 accuracyBps);
    error EmptyLabelSet();
    error AlreadyCommitted();
    error ZeroCommitment();
    error NotCommitted();
    error AlreadyRevealed();
    error ClaimCountMismatch(uint256 expected, uint256 got);
    error CommitmentMismatch();
    error NotRevealedStation();
    error GlobalRoundOutOfRange(uint32 globalRound, uint32 globalRounds);
    error AlreadyReported(uint32 globalRound);
    error NotWinner();
    error AlreadyFinalized();
    error AlreadyObjected();
    error NotEligibleVoter();
    error WrongVoteDeposit(uint256 sent, uint256 required);
    error VoteAlreadyCommitted();
    error VoteNotCommitted();
    error VoteAlreadyRevealed();
    error NothingToClaim();
    error ProofRequired();
    error InvalidProof();
    error NothingToWithdraw();
    error TransferFailed();
    error NoSurplus();
    error InclusionAlreadyRecorded();
    error NoInclusionRoot();
    error InclusionAlreadyProven();
    error AlreadyContested();
}
