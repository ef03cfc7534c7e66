// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "../interfaces/IHCFL.sol";
import {HCFLStorage} from "./HCFLStorage.sol";

/// @title SealedClaimsModule
/// @notice Commit/reveal of claims (one per proposal) with running sums per proposal and each revealer's
///         prefix on its side's weight line, fixed at reveal (linked library; HCFLCore's storage).
library SealedClaimsModule {
    using HCFLStorage for HCFLStorage.Layout;

    /// @notice keccak256(abi.encode(uint256 roundId, address sender, uint256[] claims, bytes32 salt)).
    function claimCommitment(uint256 roundId, address sender, uint256[] calldata claims, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(roundId, sender, claims, salt));
    }

    /// @notice keccak256(abi.encode(uint256 roundId, address voter, bool punish, bytes32 salt)).
    function voteCommitment(uint256 roundId, address voter, bool punish, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(roundId, voter, punish, salt));
    }

    /// @notice Commits sealed claims (a joined account, once, in the commit phase).
    /// @dev Internal: inlined into HCFLCore (the hot per-participant path avoids a library call).
    function commit(HCFLStorage.Layout storage s, uint256 roundId, bytes32 commitment) internal {
        s.requirePhase(roundId, IHCFL.Phase.Committing);
        HCFLStorage.Participant storage p = s.participants[roundId][msg.sender];
        if (p.role == IHCFL.Role.None) revert IHCFL.NotJoined();
        if (HCFLStorage.committed(p)) revert IHCFL.AlreadyCommitted();
        if (commitment == bytes32(0)) revert IHCFL.ZeroCommitment();
        p.sealedWord = commitment;
        emit IHCFL.ClaimsCommitted(roundId, msg.sender, commitment);
    }

    /// @notice Reveals the committed claims; each is capped to deposit - 1 and added to the running sums.
    function reveal(HCFLStorage.Layout storage s, uint256 roundId, uint256[] calldata claims, bytes32 salt) internal {
        s.requirePhase(roundId, IHCFL.Phase.Revealing);
        HCFLStorage.Round storage r = s.rounds[roundId];
        HCFLStorage.Participant storage p = s.participants[roundId][msg.sender];
        if (!HCFLStorage.committed(p)) revert IHCFL.NotCommitted();
        if (HCFLStorage.has(p, HCFLStorage.REVEALED)) revert IHCFL.AlreadyRevealed();
        uint256 k = r.k;
        if (claims.length != k) revert IHCFL.ClaimCountMismatch(k, claims.length);
        if (claimCommitment(roundId, msg.sender, claims, salt) != p.sealedWord) revert IHCFL.CommitmentMismatch();
        bool owner = p.role == IHCFL.Role.Owner;
        IHCFL.ShareRule rule = owner ? r.ownerShareRule : r.stationShareRule;
        bool prop = rule == IHCFL.ShareRule.Proportional;
        uint256 deposit = p.deposit;
        uint256 limit = deposit - 1;
        uint256[] memory capped = new uint256[](k);
        uint256 firstTwo;
        for (uint256 m; m < k; ++m) {
            uint256 c = claims[m] > limit ? limit : claims[m];
            capped[m] = c;
            if (m < 2) firstTwo |= c << (128 * m);
            else if (c != 0) p.claimsTail[m - 2] = uint128(c);
            IHCFL.Sums storage sm = r.sums[m];
            if (owner) {
                if (prop) p.propPrefix[m] = sm.sumB;
                sm.sumB += uint128(c);
            } else {
                if (prop) p.propPrefix[m] = sm.sumK;
                sm.sumK += uint128(c);
            }
        }
        // the side's weight line: Stake weighs the deposit, every other rule counts 1 (the Equal fallback)
        uint256 w = rule == IHCFL.ShareRule.Stake ? deposit : 1;
        uint256 prefix;
        if (owner) {
            prefix = r.wO;
            p.revealIndex = r.nO;
            r.wO += uint96(w);
            r.nO += 1;
            // affordability ratio (deposit - 1) / w, kept as the smallest fraction (Proportional: unbounded)
            if (!prop && (r.ratioDen == 0 || limit * r.ratioDen < uint256(r.ratioNum) * w)) {
                r.ratioNum = uint96(limit);
                r.ratioDen = uint96(w);
            }
        } else {
            prefix = r.wS;
            p.revealIndex = r.nS;
            r.wS += uint96(w);
            r.nS += 1;
        }
        p.prefix = uint96(prefix);
        p.flags |= HCFLStorage.REVEALED;
        p.sealedWord = bytes32(firstTwo); // the commitment is spent: its slot now holds claims 0 and 1
        // the seed only matters under PaperRandom (Posted never draws C): skip the write there
        if (r.paymentRule == IHCFL.PaymentRule.PaperRandom) r.saltXor ^= salt;
        emit IHCFL.ClaimsRevealed(roundId, msg.sender, capped, salt, prefix);
    }
}
