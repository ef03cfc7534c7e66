// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "../interfaces/IHCFL.sol";

/// @title HCFLStorage
/// @notice The one storage layout of HCFL v2 (held by HCFLCore, reached by the module libraries through a
///         storage pointer) and the internal helpers every module shares: phases derived from timestamps,
///         credits, pool transfers and the accounting totals.
library HCFLStorage {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_DURATION = 365 days;
    uint256 internal constant MAX_PROPOSALS = 20;
    uint256 internal constant MAX_GLOBAL_ROUNDS = 10_000;
    uint256 internal constant MAX_AMOUNT = type(uint96).max;

    uint8 internal constant REVEALED = 2;
    uint8 internal constant SETTLED = 4; // the deposit part was claimed
    uint8 internal constant FINAL = 8; // the reward (station) / bond-and-vote part (owner) was claimed
    // a station asked that its credited reward be kept (stationRewards) for EdgePayouts: opt-in, so that a
    // station that pays no edge clients does not pay for the storage write
    uint8 internal constant KEEP_REWARD = 16;

    /// @dev One account in one round, packed: slot 0 holds role, flags, reports, reveal index, deposit and
    ///      prefix (amounts are capped at 2^96 - 1; sums of real deposits stay far below 2^96); slot 1
    ///      (`sealedWord`) holds the commitment until the reveal and then the first two capped claims
    ///      (claim0 | claim1 << 128), so a reveal at K <= 2 writes no new slot; further claims two per slot.
    struct Participant {
        IHCFL.Role role;
        uint8 flags;
        uint16 reported;
        uint32 revealIndex;
        uint96 deposit;
        uint96 prefix;
        bytes32 sealedWord;
        uint128[18] claimsTail;
        uint128[20] propPrefix;
    }

    /// @dev Storage form of a proposal (IHCFL.Proposal is its view): price and t share a slot, which is
    ///      all a claim reads of it.
    struct Prop {
        address proposer;
        uint96 bond;
        uint128 price;
        uint32 globalRounds;
        uint16 promisedAccBps;
        bytes32 specHash;
    }

    /// @dev Storage form of a round (IHCFL.RoundData is its view, built by HCFLCore.getRound). Slot 1 holds
    ///      everything a reveal or a claim reads besides the sums, the participant and the escrow: the phase
    ///      deadlines, the settlement flags and the campaign's payment and share rules, copied at openRound.
    struct Round {
        uint32 campaignId;
        uint8 k;
        uint24 affordMask;
        uint64 joinEnd;
        uint64 proposeEnd;
        uint64 commitEnd;
        // slot 1
        uint64 revealEnd;
        uint64 trainEnd; // settlement time + trainDuration (0 before settle)
        uint56 trainClosedAt; // uint56: room in this slot for `inclusionRecorded`
        uint8 star;
        bool settled;
        bool selected;
        bool unfunded;
        bool finalized;
        bool inclusionRecorded; // the winner recorded an inclusion root (inclusionRoot); read by every reward claim
        IHCFL.PaymentRule paymentRule;
        IHCFL.ShareRule ownerShareRule;
        IHCFL.ShareRule stationShareRule;
        // slot 2
        uint32 nO;
        uint32 nS;
        uint96 wO;
        uint96 wS;
        // slot 3
        uint96 ratioNum;
        uint96 ratioDen;
        uint16 achievedAccBps;
        bool objected;
        bytes32 saltXor;
        uint256 seed;
        uint128 payment;
        uint128 ownerDiscount;
        uint256 stationBonus;
        uint128 escrow; // one slot with escrowPaid (read together by every reward claim)
        uint128 escrowPaid;
        uint256 reportsDone;
        bytes32 modelHash;
        bytes32 scoresRoot;
        uint256 scoresTotal;
        bytes32 validationHash;
        uint128 punishW;
        uint128 keepW;
        IHCFL.Sums[20] sums;
        Prop[20] proposals;
    }

    struct Layout {
        uint256 campaignCount;
        uint256 roundCount;
        mapping(uint256 => IHCFL.Campaign) campaigns;
        mapping(uint256 => Round) rounds;
        mapping(uint256 => mapping(address => Participant)) participants;
        mapping(uint256 => mapping(address => IHCFL.VoteData)) votes;
        mapping(uint256 => mapping(address => uint256)) proposalsBy;
        mapping(uint256 => mapping(address => mapping(uint256 => bool))) reported;
        mapping(address => uint256) credits;
        // deposits and escrow share a slot: a station's final claim moves both (one storage write)
        uint128 totalDeposits;
        uint128 totalEscrow;
        uint128 totalCredits;
        uint128 totalBonds;
        uint128 totalPools;
        uint128 totalVoteDeposits;
        // per round: revealed stations whose reward was claimed (counted only under contribution scores,
        // the one split whose shares need not add up to the escrow)
        mapping(uint256 => uint256) stationsRewarded;
        mapping(uint256 => mapping(address => uint256)) stationRewards; // per round and station: the credited reward
        mapping(uint256 => bytes32) inclusionRoot; // per round: the winner's root of (station, includedRounds)
        // per round and station: includedRounds << 2 | CONTESTED (2) | PROVEN (1)
        mapping(uint256 => mapping(address => uint256)) inclusion;
    }

    // ------------------------------------------------------------------ lookups
    /// @dev A round exists iff its joinEnd is set (>= 1: durations are >= 1): one slot, no count read.
    function round(Layout storage s, uint256 roundId) internal view returns (Round storage r) {
        r = s.rounds[roundId];
        if (r.joinEnd == 0) revert IHCFL.UnknownRound(roundId);
    }

    function has(Participant storage p, uint8 flag) internal view returns (bool) {
        return p.flags & flag != 0;
    }

    /// @dev Committed: a (non-zero) commitment is sealed, or it was revealed.
    function committed(Participant storage p) internal view returns (bool) {
        return p.flags & REVEALED != 0 || p.sealedWord != bytes32(0);
    }

    /// @dev The capped claim of a revealed participant for proposal m.
    function claimOf(Participant storage p, uint256 m) internal view returns (uint256) {
        if (m == 0) return uint128(uint256(p.sealedWord));
        if (m == 1) return uint256(p.sealedWord) >> 128;
        return p.claimsTail[m - 2];
    }

    function cfgOf(Layout storage s, Round storage r) internal view returns (IHCFL.Config storage) {
        return s.campaigns[r.campaignId].cfg;
    }

    // ------------------------------------------------------------------ phases
    /// @dev When training closed: the recorded completion time, else trainEnd once it has passed, else 0.
    function trainingClosedAt(Layout storage s, Round storage r) internal view returns (uint256) {
        if (r.trainClosedAt != 0) return r.trainClosedAt;
        uint256 trainEnd = r.trainEnd;
        return block.timestamp > trainEnd ? trainEnd : 0;
    }

    /// @dev The vote-commit deadline (0 while training is open).
    function voteCommitEnd(Layout storage s, Round storage r) internal view returns (uint256) {
        uint256 closed = trainingClosedAt(s, r);
        return closed == 0 ? 0 : closed + cfgOf(s, r).voteCommitDuration;
    }

    /// @dev When a selected round becomes Finished (type(uint256).max while it is not yet known).
    function finishedAt(Layout storage s, Round storage r) internal view returns (uint256) {
        uint256 closed = trainingClosedAt(s, r);
        if (closed == 0) return type(uint256).max;
        if (!r.finalized) return closed;
        IHCFL.Config storage c = cfgOf(s, r);
        return closed + c.voteCommitDuration + c.voteRevealDuration;
    }

    /// @notice The phase of a round, derived from its deadlines and the settle transaction.
    function state(Layout storage s, uint256 roundId) internal view returns (IHCFL.Phase) {
        Round storage r = round(s, roundId);
        uint256 t = block.timestamp;
        if (t <= r.joinEnd) return IHCFL.Phase.Joining;
        if (t <= r.proposeEnd) return IHCFL.Phase.Proposing;
        if (r.k == 0) return IHCFL.Phase.Finished;
        if (t <= r.commitEnd) return IHCFL.Phase.Committing;
        if (t <= r.revealEnd) return IHCFL.Phase.Revealing;
        if (!r.settled) return IHCFL.Phase.AwaitingSettlement;
        if (!r.selected) return IHCFL.Phase.Finished;
        uint256 closed = trainingClosedAt(s, r);
        if (closed == 0) return IHCFL.Phase.Training;
        if (!r.finalized) return IHCFL.Phase.Finished; // the winner failed: punished without a vote
        IHCFL.Config storage c = cfgOf(s, r);
        uint256 vce = closed + c.voteCommitDuration;
        if (t <= vce) return IHCFL.Phase.VoteCommitting;
        if (t <= vce + c.voteRevealDuration) return IHCFL.Phase.VoteRevealing;
        return IHCFL.Phase.Finished;
    }

    function requirePhase(Layout storage s, uint256 roundId, IHCFL.Phase expected) internal view {
        IHCFL.Phase actual = state(s, roundId);
        if (actual != expected) revert IHCFL.WrongPhase(expected, actual);
    }

    // ------------------------------------------------------------------ money
    function credit(Layout storage s, uint256 roundId, address account, uint256 amount, IHCFL.CreditReason reason)
        internal
    {
        if (amount == 0) return;
        s.credits[account] += amount;
        s.totalCredits += uint128(amount);
        emit IHCFL.Credited(roundId, account, amount, reason);
    }

    /// @dev Emits the credit of a lazily claimed part without writing it: the caller (HCFLCore) sums the
    ///      parts and either credits them or, in claimAndWithdraw, pays them at once.
    function announce(uint256 roundId, address account, uint256 amount, IHCFL.CreditReason reason)
        internal
        returns (uint256)
    {
        if (amount != 0) emit IHCFL.Credited(roundId, account, amount, reason);
        return amount;
    }

    /// @dev Adds `amount` (already counted elsewhere in the totals, which the caller decreases) to a pool.
    function toPool(Layout storage s, uint256 roundId, Round storage r, IHCFL.PoolKind kind, uint256 amount)
        internal
    {
        if (amount == 0) return;
        IHCFL.Campaign storage c = s.campaigns[r.campaignId];
        uint256 balance;
        if (kind == IHCFL.PoolKind.Owner) balance = c.ownerPool += amount;
        else balance = c.stationPool += amount;
        s.totalPools += uint128(amount);
        emit IHCFL.PoolChanged(r.campaignId, roundId, kind, int256(amount), balance);
    }

    // ------------------------------------------------------------------ shares
    /// @notice cumfloor(T, Pb, Pb + w, W) = floor(T*(Pb+w)/W) - floor(T*Pb/W); sums to T over a prefix line.
    /// @dev T < 2^129, prefixes < 2^128: products stay below 2^257 only if T*W fits; amounts are capped to
    ///      2^96 per deposit and 2^128 per price, sums of deposits below 2^128, so T*P < 2^256.
    function cumfloor(uint256 total, uint256 pb, uint256 w, uint256 wTotal) internal pure returns (uint256) {
        return (total * (pb + w)) / wTotal - (total * pb) / wTotal;
    }
}
