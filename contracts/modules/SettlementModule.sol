// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "../interfaces/IHCFL.sol";
import {HCFLStorage} from "./HCFLStorage.sol";
import {SettlementMath} from "./SettlementMath.sol";
import {TrainingModule} from "./TrainingModule.sol";

/// @title SettlementModule
/// @notice `settle` (O(K): affordability, selection, C, pool draws, escrow, losing bonds) and the lazy
///         per-participant settlement (payment, Clarke tax, non-reveal penalty) computed when an account is
///         claimed for (linked library; HCFLCore's storage).
library SettlementModule {
    using HCFLStorage for HCFLStorage.Layout;

    /// @notice Settles a round after its reveal deadline; anyone may call it, once.
    function settle(HCFLStorage.Layout storage s, uint256 roundId) public {
        s.requirePhase(roundId, IHCFL.Phase.AwaitingSettlement);
        HCFLStorage.Round storage r = s.rounds[roundId];
        IHCFL.Campaign storage camp = s.campaigns[r.campaignId];
        IHCFL.Config storage cfg = camp.cfg;
        r.settled = true;
        r.trainEnd = uint64(block.timestamp) + cfg.trainDuration;
        uint256 seed = uint256(keccak256(abi.encode(r.saltXor)));
        r.seed = seed;
        uint256 drawO = (camp.ownerPool * cfg.poolDrawBps) / HCFLStorage.BPS;
        uint256 drawS = (camp.stationPool * cfg.poolDrawBps) / HCFLStorage.BPS;
        bool unbounded = r.ownerShareRule == IHCFL.ShareRule.Proportional;
        // A = floor(minRatio * W_O): what the revealed owners can afford together
        uint256 budget = type(uint256).max;
        if (!unbounded) budget = (r.ratioDen == 0 ? 0 : (uint256(r.wO) * r.ratioNum) / r.ratioDen) + drawO;
        uint256 k = r.k;
        bool posted = r.paymentRule == IHCFL.PaymentRule.Posted;
        uint32 mask;
        for (uint256 m; m < k; ++m) {
            if (posted) {
                uint256 price = r.proposals[m].price;
                if (price > budget) continue;
                if (r.ownerShareRule == IHCFL.ShareRule.Proportional && price > r.sums[m].sumB) continue;
                if (r.stationShareRule == IHCFL.ShareRule.Proportional && r.sums[m].sumK > price) continue;
            }
            mask |= uint32(1) << uint32(m);
        }
        r.affordMask = uint24(mask);
        (bool some, uint256 star) = SettlementMath.select(r, mask);
        bool unfunded = r.nO == 0 || r.nS == 0;
        uint256 payment;
        if (some && !unfunded) {
            if (posted) {
                payment = r.proposals[star].price;
            } else {
                uint256 sumK = r.sums[star].sumK;
                uint256 cMax = r.sums[star].sumB;
                if (cfg.maxPrice < cMax) cMax = cfg.maxPrice;
                if (budget < cMax) cMax = budget;
                if (cMax < sumK) unfunded = true;
                else payment = sumK + (seed % (cMax - sumK + 1));
            }
        }
        bool selected = some && !unfunded;
        r.star = uint8(star);
        r.unfunded = unfunded;
        r.selected = selected;
        uint256 dO;
        uint256 dS;
        if (selected) {
            dO = drawO < payment ? drawO : payment;
            dS = drawS < payment ? drawS : payment;
            r.payment = uint128(payment);
            r.ownerDiscount = uint128(dO);
            r.stationBonus = dS;
            r.escrow = uint128(payment + dS); // payment <= the owners' deposits, dS <= the pool: < 2^128
            // owners' part of C leaves their deposits in aggregate; the pools give the discount and bonus
            s.totalDeposits -= uint128(payment - dO);
            s.totalPools -= uint128(dO + dS);
            s.totalEscrow += uint128(payment + dS);
            if (dO != 0) {
                camp.ownerPool -= dO;
                emit IHCFL.PoolChanged(r.campaignId, roundId, IHCFL.PoolKind.Owner, -int256(dO), camp.ownerPool);
            }
            if (dS != 0) {
                camp.stationPool -= dS;
                emit IHCFL.PoolChanged(r.campaignId, roundId, IHCFL.PoolKind.Station, -int256(dS), camp.stationPool);
            }
        }
        uint256 returned;
        for (uint256 m; m < k; ++m) {
            if (selected && m == star) continue;
            HCFLStorage.Prop storage prop = r.proposals[m];
            returned += prop.bond;
            s.credit(roundId, prop.proposer, prop.bond, IHCFL.CreditReason.BondReturn);
        }
        s.totalBonds -= uint128(returned);
        emit IHCFL.RoundSettled(roundId, selected, star, unfunded, payment, dO, dS, seed, mask);
    }

    /// @notice True once an account's deposit part can be settled: after `settle`, or when no proposal came.
    function settlementOpen(HCFLStorage.Round storage r) internal view returns (bool) {
        return r.settled || (r.k == 0 && block.timestamp > r.proposeEnd);
    }

    /// @notice The lazily computed settlement of `account` (view; what `claim` will credit).
    function preview(HCFLStorage.Layout storage s, uint256 roundId, address account)
        public
        view
        returns (IHCFL.Settlement memory out)
    {
        HCFLStorage.Round storage r = s.round(roundId);
        HCFLStorage.Participant storage p = s.participants[roundId][account];
        IHCFL.Config storage cfg = s.cfgOf(r);
        uint256 d = p.deposit;
        if (!HCFLStorage.committed(p) || r.k == 0) {
            out.refund = d;
            return out;
        }
        if (!HCFLStorage.has(p, HCFLStorage.REVEALED)) {
            out.penalty = SettlementMath.penalty(d, cfg.nonRevealPenaltyBps, cfg.nonRevealPenaltyFloor);
            out.refund = d - out.penalty;
            return out;
        }
        if (r.unfunded) {
            out.refund = d;
            return out;
        }
        bool owner = p.role == IHCFL.Role.Owner;
        uint256 star = r.star;
        uint256 t = SettlementMath.tax(r, p, cfg, owner);
        if (owner) {
            IHCFL.ShareRule rule = r.ownerShareRule;
            if (r.selected) {
                out.payment = SettlementMath.share(r.payment - r.ownerDiscount, SettlementMath.line(r, p, rule, true, star));
            }
            uint256 cap = d - out.payment;
            if (rule == IHCFL.ShareRule.Proportional) {
                uint256 surplusCap = r.selected && HCFLStorage.claimOf(p, star) > out.payment ? HCFLStorage.claimOf(p, star) - out.payment : 0;
                if (surplusCap < cap) cap = surplusCap;
            }
            if (t > cap) t = cap;
        } else {
            uint256 cap = d;
            if (r.stationShareRule == IHCFL.ShareRule.Proportional) {
                uint256 sh = r.selected
                    ? SettlementMath.share(r.escrow, SettlementMath.line(r, p, IHCFL.ShareRule.Proportional, false, star))
                    : 0;
                uint256 surplusCap = r.selected && sh > HCFLStorage.claimOf(p, star) ? sh - HCFLStorage.claimOf(p, star) : 0;
                if (surplusCap < cap) cap = surplusCap;
            }
            if (t > cap) t = cap;
        }
        out.tax = t;
        out.refund = d - out.payment - t;
    }

    /// @notice Settles `account`'s deposit once (credits the refund, moves tax/penalty to the campaign's
    ///         pools); returns (false, 0) when not yet possible or already done, else (true, amount due).
    function claimSettlement(HCFLStorage.Layout storage s, uint256 roundId, address account)
        public
        returns (bool, uint256)
    {
        HCFLStorage.Round storage r = s.round(roundId);
        HCFLStorage.Participant storage p = s.participants[roundId][account];
        if (p.role == IHCFL.Role.None) revert IHCFL.NotJoined();
        if (HCFLStorage.has(p, HCFLStorage.SETTLED) || !settlementOpen(r)) return (false, 0);
        IHCFL.Settlement memory out = preview(s, roundId, account);
        p.flags |= HCFLStorage.SETTLED;
        // the payment already left totalDeposits (in aggregate, at settle)
        s.totalDeposits -= uint128(out.refund + out.tax + out.penalty);
        IHCFL.PoolKind side = p.role == IHCFL.Role.Owner ? IHCFL.PoolKind.Owner : IHCFL.PoolKind.Station;
        s.toPool(roundId, r, side, out.tax + out.penalty);
        emit IHCFL.ParticipantSettled(roundId, account, p.role, out.payment, out.tax, out.penalty, out.refund);
        // ParticipantSettled's refund is the credit (CreditReason.DepositReturn): no Credited event repeats it
        return (true, out.refund);
    }

    /// @notice A station's whole claim in one library call: its deposit part (once settled) and, once the
    ///         round is finished, its reward (TrainingModule.claimReward). Returns whether the deposit part was
    ///         settled now, the reward's code (DONE / NOTHING / NEEDS_PROOF) and the sum due.
    function claimStation(
        HCFLStorage.Layout storage s,
        uint256 roundId,
        address account,
        bool withProof,
        uint256 score,
        uint256 prefixBefore,
        bytes32[] memory proof
    ) public returns (bool did, uint8 code, uint256 amount) {
        (did, amount) = claimSettlement(s, roundId, account);
        if (s.state(roundId) == IHCFL.Phase.Finished) {
            uint256 more;
            (code, more) = TrainingModule.claimReward(s, roundId, account, withProof, score, prefixBefore, proof);
            amount += more;
        }
    }
}
