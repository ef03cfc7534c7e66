// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "../interfaces/IHCFL.sol";
import {HCFLStorage} from "./HCFLStorage.sol";

/// @title SettlementMath
/// @notice O(K) settlement math of the v2 rules: weights on the prefix line, nominal shares, net values,
///         selection among affordable proposals and the lazy per-participant Clarke tax.
/// @dev Pure/view internal functions, inlined into SettlementModule (and nothing else loops over people).
library SettlementMath {
    /// @notice A participant's place on a weight line: share = cumfloor(T, pb, w, total).
    struct Line {
        uint256 pb;
        uint256 w;
        uint256 total;
    }

    /// @dev The line of `p` on its side for proposal `m` (Proportional), or the side's Equal/Stake line.
    ///      Contribution counts as Equal here; an empty Proportional line falls back to Equal.
    function line(HCFLStorage.Round storage r, HCFLStorage.Participant storage p, IHCFL.ShareRule rule, bool owner, uint256 m)
        internal
        view
        returns (Line memory l)
    {
        if (rule == IHCFL.ShareRule.Proportional) {
            uint256 total = owner ? r.sums[m].sumB : r.sums[m].sumK;
            if (total != 0) return Line(p.propPrefix[m], HCFLStorage.claimOf(p, m), total);
            return Line(p.revealIndex, 1, owner ? r.nO : r.nS);
        }
        if (rule == IHCFL.ShareRule.Stake) return Line(p.prefix, p.deposit, owner ? r.wO : r.wS);
        return Line(p.revealIndex, 1, owner ? r.nO : r.nS);
    }

    function share(uint256 total, Line memory l) internal pure returns (uint256) {
        return HCFLStorage.cumfloor(total, l.pb, l.w, l.total);
    }

    /// @dev S(m) = sumB(m) - sumK(m) (under Posted the nominal shares of C_m cancel between the sides).
    function surplus(HCFLStorage.Round storage r, uint256 m) internal view returns (int256) {
        return int256(uint256(r.sums[m].sumB)) - int256(uint256(r.sums[m].sumK));
    }

    /// @dev The first maximal eligible proposal (mask bit set and sumB > 0), then "none" with S = 0.
    function select(HCFLStorage.Round storage r, uint32 mask) internal view returns (bool some, uint256 star) {
        int256 best;
        for (uint256 m; m < r.k; ++m) {
            if (mask & (uint32(1) << uint32(m)) == 0 || r.sums[m].sumB == 0) continue;
            int256 v = surplus(r, m);
            if (!some ? v >= 0 : v > best) {
                some = true;
                best = v;
                star = m;
            }
        }
    }

    /// @dev x_p(m): owner b - [Posted] s_p(m); station [Posted] r_p(m) - k.
    function netValue(
        HCFLStorage.Round storage r,
        HCFLStorage.Participant storage p,
        IHCFL.Config storage cfg,
        bool owner,
        uint256 m
    ) internal view returns (int256) {
        int256 c = int256(uint256(HCFLStorage.claimOf(p, m)));
        bool posted = r.paymentRule == IHCFL.PaymentRule.Posted;
        if (owner) {
            if (!posted) return c;
            return c - int256(share(r.proposals[m].price, line(r, p, r.ownerShareRule, true, m)));
        }
        if (!posted) return -c;
        return int256(share(r.proposals[m].price, line(r, p, r.stationShareRule, false, m))) - c;
    }

    /// @notice Clarke tax max(0, max over eligible_-p of S_-p, 0 for none) - S_-p(m*)) in O(K).
    function tax(HCFLStorage.Round storage r, HCFLStorage.Participant storage p, IHCFL.Config storage cfg, bool owner)
        internal
        view
        returns (uint256)
    {
        int256 best; // S_-p(none) = 0
        int256 atStar;
        uint32 mask = r.affordMask;
        for (uint256 m; m < r.k; ++m) {
            int256 without = surplus(r, m) - netValue(r, p, cfg, owner, m);
            if (r.selected && m == r.star) atStar = without;
            if (mask & (uint32(1) << uint32(m)) == 0) continue;
            uint256 sumB = r.sums[m].sumB;
            if (owner) sumB -= HCFLStorage.claimOf(p, m);
            if (sumB == 0) continue;
            if (without > best) best = without;
        }
        return best > atStar ? uint256(best - atStar) : 0;
    }

    /// @notice min(deposit, max(ceil(deposit * bps / BPS), floor)).
    function penalty(uint256 deposit, uint256 bps, uint256 floor) internal pure returns (uint256 pen) {
        pen = (deposit * bps + HCFLStorage.BPS - 1) / HCFLStorage.BPS;
        if (pen < floor) pen = floor;
        if (pen > deposit) pen = deposit;
    }
}
