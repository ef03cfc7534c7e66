// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "../interfaces/IHCFL.sol";
import {HCFLStorage} from "./HCFLStorage.sol";
import {SettlementMath} from "./SettlementMath.sol";
import {MerkleProof} from "../utils/MerkleProof.sol";
import {PunishmentVoteModule} from "./PunishmentVoteModule.sol";

/// @title TrainingModule
/// @notice Training records (reports with content-addressed updates and a clients root), the winner's
///         finalization (model, scores root and total, validation split hash), objections to the scores and
///         the stations' lazily claimed rewards (linked library; HCFLCore's storage).
library TrainingModule {
    /// @notice How long stations may claim their rewards after a round ends before `sweepEscrow` may run.
    uint256 internal constant ESCROW_CLAIM_WINDOW = 365 days;

    using HCFLStorage for HCFLStorage.Layout;

    uint8 internal constant DONE = 1;
    uint8 internal constant NOTHING = 0;
    uint8 internal constant NEEDS_PROOF = 2;

    function _maybeClose(HCFLStorage.Round storage r, uint256 roundId) private {
        if (r.finalized && r.reportsDone == uint256(r.nS) * r.proposals[r.star].globalRounds) {
            r.trainClosedAt = uint56(block.timestamp);
            emit IHCFL.TrainingClosed(roundId, uint64(block.timestamp));
        }
    }

    /// @notice A revealed station reports global round `g` (< t), once, while training is open.
    function reportTraining(
        HCFLStorage.Layout storage s,
        uint256 roundId,
        uint32 g,
        bytes32 updateHash,
        uint64 samples,
        uint16 accuracyBps,
        bytes32 clientsRoot
    ) public {
        s.requirePhase(roundId, IHCFL.Phase.Training);
        HCFLStorage.Round storage r = s.rounds[roundId];
        HCFLStorage.Participant storage p = s.participants[roundId][msg.sender];
        if (p.role != IHCFL.Role.Station || !HCFLStorage.has(p, HCFLStorage.REVEALED)) revert IHCFL.NotRevealedStation();
        uint32 t = r.proposals[r.star].globalRounds;
        if (g >= t) revert IHCFL.GlobalRoundOutOfRange(g, t);
        if (accuracyBps > HCFLStorage.BPS) revert IHCFL.AccuracyOutOfRange(accuracyBps);
        if (s.reported[roundId][msg.sender][g]) revert IHCFL.AlreadyReported(g);
        s.reported[roundId][msg.sender][g] = true;
        p.reported += 1;
        r.reportsDone += 1;
        emit IHCFL.TrainingReported(roundId, msg.sender, g, updateHash, samples, accuracyBps, clientsRoot);
        _maybeClose(r, roundId);
    }

    /// @notice The winner records the final model, its accuracy, the stations' scores root and total and
    ///         the validation split; reporting stays open until every station reported or trainEnd.
    function finalizeTraining(
        HCFLStorage.Layout storage s,
        uint256 roundId,
        bytes32 modelHash,
        uint16 achievedAccBps,
        bytes32 scoresRoot,
        uint256 scoresTotal,
        bytes32 validationHash
    ) public {
        s.requirePhase(roundId, IHCFL.Phase.Training);
        HCFLStorage.Round storage r = s.rounds[roundId];
        if (msg.sender != r.proposals[r.star].proposer) revert IHCFL.NotWinner();
        if (r.finalized) revert IHCFL.AlreadyFinalized();
        if (achievedAccBps > HCFLStorage.BPS) revert IHCFL.AccuracyOutOfRange(achievedAccBps);
        if (scoresTotal > type(uint128).max) revert IHCFL.AmountTooLarge(scoresTotal);
        r.finalized = true;
        r.modelHash = modelHash;
        r.achievedAccBps = achievedAccBps;
        r.scoresRoot = scoresRoot;
        r.scoresTotal = scoresTotal;
        r.validationHash = validationHash;
        emit IHCFL.TrainingFinalized(roundId, msg.sender, modelHash, achievedAccBps, scoresRoot, scoresTotal, validationHash);
        _maybeClose(r, roundId);
    }

    /// @notice A revealed station objects to the winner's scores (until the vote-commit deadline); the
    ///         stations' split then falls back to Equal.
    function objectScores(HCFLStorage.Layout storage s, uint256 roundId) public {
        IHCFL.Phase ph = s.state(roundId);
        HCFLStorage.Round storage r = s.rounds[roundId];
        if (!r.finalized || (ph != IHCFL.Phase.Training && ph != IHCFL.Phase.VoteCommitting)) {
            revert IHCFL.WrongPhase(IHCFL.Phase.VoteCommitting, ph);
        }
        HCFLStorage.Participant storage p = s.participants[roundId][msg.sender];
        if (p.role != IHCFL.Role.Station || !HCFLStorage.has(p, HCFLStorage.REVEALED)) revert IHCFL.NotRevealedStation();
        if (r.objected) revert IHCFL.AlreadyObjected();
        r.objected = true;
        emit IHCFL.ScoresObjected(roundId, msg.sender);
    }

    /// @notice True when the stations split by the winner's (unchallenged) contribution scores.
    function byContribution(HCFLStorage.Layout storage s, HCFLStorage.Round storage r) internal view returns (bool) {
        return r.stationShareRule == IHCFL.ShareRule.Contribution && r.finalized && !r.objected
            && r.scoresRoot != bytes32(0) && r.scoresTotal != 0;
    }

    /// @dev Internal: inlined into SettlementModule.claimStation (a station's whole claim in one library call),
    ///      which calls it only for an existing round in phase Finished.
    /// @notice Credits a revealed station's reward share * counted / t once the round is finished (counted:
    ///         see `countedRounds`); the
    ///         rest of its share goes to the station pool. Under valid contribution scores it needs a proof of
    ///         the leaf (station, score, prefixBefore). Returns (DONE, amount due), (NOTHING, 0) or (NEEDS_PROOF, 0).
    function claimReward(
        HCFLStorage.Layout storage s,
        uint256 roundId,
        address account,
        bool withProof,
        uint256 score,
        uint256 prefixBefore,
        bytes32[] memory proof
    ) internal returns (uint8, uint256) {
        // the caller (SettlementModule.claimStation) checked that the round exists and is Finished
        HCFLStorage.Round storage r = s.rounds[roundId];
        HCFLStorage.Participant storage p = s.participants[roundId][account];
        if (HCFLStorage.has(p, HCFLStorage.FINAL) || !HCFLStorage.has(p, HCFLStorage.REVEALED) || !r.selected) return (NOTHING, 0);
        bool contribution = byContribution(s, r);
        uint256 escrow = r.escrow;
        uint256 sh;
        if (contribution) {
            if (!withProof) return (NEEDS_PROOF, 0);
            if (score > type(uint128).max || prefixBefore > type(uint128).max) revert IHCFL.InvalidProof();
            bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, score, prefixBefore))));
            if (!MerkleProof.verifyMemory(proof, r.scoresRoot, leaf)) revert IHCFL.InvalidProof();
            if (prefixBefore + score > r.scoresTotal) revert IHCFL.InvalidProof();
            sh = HCFLStorage.cumfloor(escrow, prefixBefore, score, r.scoresTotal);
        } else {
            IHCFL.ShareRule rule = r.stationShareRule;
            sh = SettlementMath.share(escrow, SettlementMath.line(r, p, rule, false, r.star));
        }
        (bool known, uint256 counted) = countedRounds(s, r, roundId, account, p);
        if (!known) return (NEEDS_PROOF, 0);
        // guard: a round's escrow never pays out more than E
        uint256 left = escrow - r.escrowPaid;
        if (sh > left) sh = left;
        p.flags |= HCFLStorage.FINAL;
        uint256 reward = (sh * counted) / r.proposals[r.star].globalRounds;
        r.escrowPaid += uint128(sh);
        s.totalEscrow -= uint128(sh);
        emit IHCFL.StationRewarded(roundId, account, sh, reward, sh - reward, contribution);
        s.toPool(roundId, r, IHCFL.PoolKind.Station, sh - reward);
        // the last revealed station's claim returns what no share covers (contribution gaps) to the pool;
        // every other split is a cumfloor line over all revealed stations, whose shares add up to E exactly
        if (contribution && ++s.stationsRewarded[roundId] == r.nS) _returnEscrow(s, roundId, r);
        // StationRewarded's reward is the credit (CreditReason.StationReward): no Credited event repeats it
        if (reward != 0 && p.flags & HCFLStorage.KEEP_REWARD != 0) s.stationRewards[roundId][account] = reward; // what EdgePayouts pays out (HCFLCore.stationReward)
        return (DONE, reward);
    }

    /// @notice After ESCROW_CLAIM_WINDOW past the round's end, returns the escrow nobody claimed (rewards of
    ///         stations that never claimed, shares of stations a contribution tree left out) to the campaign's
    ///         station pool, so no escrow stays locked forever. Anyone may call it.
    function sweepEscrow(HCFLStorage.Layout storage s, uint256 roundId) public {
        HCFLStorage.Round storage r = s.round(roundId);
        if (!r.selected || r.escrowPaid >= r.escrow) revert IHCFL.NothingToSweep(roundId);
        uint256 end = s.finishedAt(r);
        if (end == type(uint256).max || block.timestamp <= end + ESCROW_CLAIM_WINDOW) {
            revert IHCFL.EscrowClaimWindowOpen(end == type(uint256).max ? end : end + ESCROW_CLAIM_WINDOW, block.timestamp);
        }
        _returnEscrow(s, roundId, r);
    }

    function _returnEscrow(HCFLStorage.Layout storage s, uint256 roundId, HCFLStorage.Round storage r) private {
        uint256 rest = r.escrow - r.escrowPaid;
        if (rest == 0) return;
        r.escrowPaid = r.escrow; // rest < 2^128 as escrow
        s.totalEscrow -= uint128(rest);
        emit IHCFL.EscrowReturned(roundId, rest);
        s.toPool(roundId, r, IHCFL.PoolKind.Station, rest);
    }

    // ------------------------------------------------------------------ inclusion (rewards for included work)
    uint256 internal constant PROVEN = 1;
    uint256 internal constant CONTESTED = 2;

    /// @notice The global rounds a station is paid for (docs/security.md, "Rewards only for included work"):
    ///         its reported rounds when the winner recorded no inclusion root or never finalized; else
    ///         min(includedRounds of its proven leaf, reported), unless it contested the root and the owners'
    ///         vote punished the winner (then its reported rounds). (false, 0) while its leaf is unproven.
    function countedRounds(
        HCFLStorage.Layout storage s,
        HCFLStorage.Round storage r,
        uint256 roundId,
        address account,
        HCFLStorage.Participant storage p
    ) internal view returns (bool, uint256) {
        if (!r.finalized || !r.inclusionRecorded) return (true, p.reported);
        uint256 rec = s.inclusion[roundId][account];
        if (rec & CONTESTED != 0) {
            (bool punished,) = PunishmentVoteModule.outcome(s, r);
            if (punished) return (true, p.reported);
        }
        if (rec & PROVEN == 0) return (false, 0);
        uint256 included = rec >> 2;
        return (true, included < p.reported ? included : p.reported);
    }

    /// @notice The winner records, once while training is open, the root of the leaves
    ///         (station, includedRounds): in how many global rounds' aggregates each station's update was.
    function recordInclusion(HCFLStorage.Layout storage s, uint256 roundId, bytes32 inclusionRoot, bytes32 manifestsRoot)
        public
    {
        s.requirePhase(roundId, IHCFL.Phase.Training);
        HCFLStorage.Round storage r = s.rounds[roundId];
        if (msg.sender != r.proposals[r.star].proposer) revert IHCFL.NotWinner();
        if (inclusionRoot == bytes32(0)) revert IHCFL.NoInclusionRoot();
        if (s.inclusionRoot[roundId] != bytes32(0)) revert IHCFL.InclusionAlreadyRecorded();
        s.inclusionRoot[roundId] = inclusionRoot;
        r.inclusionRecorded = true;
        emit IHCFL.InclusionRecorded(roundId, msg.sender, inclusionRoot, manifestsRoot);
    }

    /// @notice Proves `account`'s leaf (account, includedRounds) against the round's inclusion root, once;
    ///         anyone may call it (O(proof length), the caller's own calldata).
    function proveInclusion(
        HCFLStorage.Layout storage s,
        uint256 roundId,
        address account,
        uint256 includedRounds,
        bytes32[] calldata proof
    ) public {
        HCFLStorage.Round storage r = s.round(roundId);
        bytes32 root = s.inclusionRoot[roundId];
        if (root == bytes32(0)) revert IHCFL.NoInclusionRoot();
        uint256 rec = s.inclusion[roundId][account];
        if (rec & PROVEN != 0) revert IHCFL.InclusionAlreadyProven();
        if (includedRounds > r.proposals[r.star].globalRounds) revert IHCFL.InvalidProof();
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, includedRounds))));
        if (!MerkleProof.verify(proof, root, leaf)) revert IHCFL.InvalidProof();
        s.inclusion[roundId][account] = rec | PROVEN | (includedRounds << 2);
        emit IHCFL.InclusionProven(roundId, account, includedRounds);
    }

    /// @notice A revealed station contests the recorded inclusion root (while training is open or until the
    ///         vote-commit deadline). If the owners' vote punishes the winner, it is paid for its reported rounds.
    function contestInclusion(HCFLStorage.Layout storage s, uint256 roundId) public {
        IHCFL.Phase ph = s.state(roundId);
        if (ph != IHCFL.Phase.Training && ph != IHCFL.Phase.VoteCommitting) {
            revert IHCFL.WrongPhase(IHCFL.Phase.VoteCommitting, ph);
        }
        if (s.inclusionRoot[roundId] == bytes32(0)) revert IHCFL.NoInclusionRoot();
        HCFLStorage.Participant storage p = s.participants[roundId][msg.sender];
        if (p.role != IHCFL.Role.Station || !HCFLStorage.has(p, HCFLStorage.REVEALED)) revert IHCFL.NotRevealedStation();
        uint256 rec = s.inclusion[roundId][msg.sender];
        if (rec & CONTESTED != 0) revert IHCFL.AlreadyContested();
        s.inclusion[roundId][msg.sender] = rec | CONTESTED;
        emit IHCFL.InclusionContested(roundId, msg.sender);
    }
}
