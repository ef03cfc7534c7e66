// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "../interfaces/IHCFL.sol";
import {HCFLStorage} from "./HCFLStorage.sol";
import {SettlementMath} from "./SettlementMath.sol";
import {SealedClaimsModule} from "./SealedClaimsModule.sol";

/// @title PunishmentVoteModule
/// @notice The punishment vote on the winner, as a dispute kit: sealed stake-weighted votes (weight = the
///         voter's nominal payment share s_p(m*)), a vote deposit that only a reveal returns, the tally and
///         the lazy split of a slashed bond (linked library; HCFLCore's storage).
library PunishmentVoteModule {
    using HCFLStorage for HCFLStorage.Layout;

    /// @notice The vote weight of `account`: its nominal payment share of C (0 = not eligible).
    function voteWeight(HCFLStorage.Layout storage s, uint256 roundId, address account) public view returns (uint256) {
        HCFLStorage.Round storage r = s.round(roundId);
        HCFLStorage.Participant storage p = s.participants[roundId][account];
        if (!r.selected || p.role != IHCFL.Role.Owner || !HCFLStorage.has(p, HCFLStorage.REVEALED)) return 0;
        if (account == r.proposals[r.star].proposer) return 0;
        return SettlementMath.share(r.payment, SettlementMath.line(r, p, r.ownerShareRule, true, r.star));
    }

    /// @notice Commits a sealed vote; `msg.value` must equal the campaign's voteDeposit.
    function commitVote(HCFLStorage.Layout storage s, uint256 roundId, bytes32 commitment) public {
        s.requirePhase(roundId, IHCFL.Phase.VoteCommitting);
        uint256 w = voteWeight(s, roundId, msg.sender);
        if (w == 0) revert IHCFL.NotEligibleVoter();
        uint256 vd = s.cfgOf(s.rounds[roundId]).voteDeposit;
        if (msg.value != vd) revert IHCFL.WrongVoteDeposit(msg.value, vd);
        IHCFL.VoteData storage v = s.votes[roundId][msg.sender];
        if (v.committed) revert IHCFL.VoteAlreadyCommitted();
        v.committed = true;
        v.commitment = commitment;
        v.weight = uint128(w);
        s.totalVoteDeposits += uint128(vd);
        emit IHCFL.VoteCommitted(roundId, msg.sender, commitment, w);
    }

    /// @notice Reveals a committed vote; the vote deposit is credited back.
    function revealVote(HCFLStorage.Layout storage s, uint256 roundId, bool punish, bytes32 salt) public {
        s.requirePhase(roundId, IHCFL.Phase.VoteRevealing);
        HCFLStorage.Round storage r = s.rounds[roundId];
        IHCFL.VoteData storage v = s.votes[roundId][msg.sender];
        if (!v.committed) revert IHCFL.VoteNotCommitted();
        if (v.revealed) revert IHCFL.VoteAlreadyRevealed();
        if (SealedClaimsModule.voteCommitment(roundId, msg.sender, punish, salt) != v.commitment) {
            revert IHCFL.CommitmentMismatch();
        }
        uint128 w = v.weight;
        uint128 prefix = r.punishW + r.keepW;
        v.revealed = true;
        v.punish = punish;
        v.prefix = prefix;
        if (punish) r.punishW += w;
        else r.keepW += w;
        emit IHCFL.VoteRevealed(roundId, msg.sender, punish, w, prefix);
        uint256 vd = s.cfgOf(r).voteDeposit;
        s.totalVoteDeposits -= uint128(vd);
        s.credit(roundId, msg.sender, vd, IHCFL.CreditReason.VoteDepositReturn);
    }

    /// @notice (punished, failed) once the round is finished: failed = the winner never finalized.
    function outcome(HCFLStorage.Layout storage s, HCFLStorage.Round storage r) internal view returns (bool, bool) {
        if (!r.finalized) return (true, true);
        uint256 total = uint256(r.punishW) + r.keepW;
        return (uint256(r.punishW) * HCFLStorage.BPS > uint256(s.cfgOf(r).punishThresholdBps) * total, false);
    }

    /// @notice An owner's part once the round is finished: unrevealed vote deposit to the owner pool, the
    ///         winner's bond back (not punished), or this account's slice of the slashed bond.
    function claimFinal(HCFLStorage.Layout storage s, uint256 roundId, address account)
        public
        returns (bool, uint256)
    {
        HCFLStorage.Round storage r = s.round(roundId);
        HCFLStorage.Participant storage p = s.participants[roundId][account];
        if (HCFLStorage.has(p, HCFLStorage.FINAL) || !r.selected || s.state(roundId) != IHCFL.Phase.Finished) return (false, 0);
        p.flags |= HCFLStorage.FINAL;
        IHCFL.VoteData storage v = s.votes[roundId][account];
        if (v.committed && !v.revealed) {
            uint256 vd = s.cfgOf(r).voteDeposit;
            s.totalVoteDeposits -= uint128(vd);
            emit IHCFL.VoteDepositForfeited(roundId, account, vd);
            s.toPool(roundId, r, IHCFL.PoolKind.Owner, vd);
        }
        (bool punished, bool failed) = outcome(s, r);
        HCFLStorage.Prop storage prop = r.proposals[r.star];
        bool isWinner = account == prop.proposer;
        uint256 bond = prop.bond;
        if (isWinner) emit IHCFL.BondReleased(roundId, account, punished, failed, punished ? 0 : bond);
        if (!punished) {
            if (!isWinner) return (true, 0);
            s.totalBonds -= uint128(bond);
            return (true, HCFLStorage.announce(roundId, account, bond, IHCFL.CreditReason.BondReturn));
        }
        uint256 slice;
        if (failed) {
            // split among revealed owners by owner weight; the winner's own slice goes to the owner pool
            if (HCFLStorage.has(p, HCFLStorage.REVEALED)) {
                slice = SettlementMath.share(bond, SettlementMath.line(r, p, r.ownerShareRule, true, r.star));
            }
        } else if (v.revealed) {
            slice = HCFLStorage.cumfloor(bond, v.prefix, v.weight, uint256(r.punishW) + r.keepW);
        }
        if (slice == 0) return (true, 0);
        s.totalBonds -= uint128(slice);
        emit IHCFL.BondSlashShare(roundId, account, slice);
        if (isWinner) {
            s.toPool(roundId, r, IHCFL.PoolKind.Owner, slice);
            return (true, 0);
        }
        return (true, HCFLStorage.announce(roundId, account, slice, IHCFL.CreditReason.BondSlashShare));
    }
}
