// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ClarkeTax
/// @notice Pure integer math of the selection rule and the Clarke (pivot) tax of docs/mechanism.md.
/// @dev Options are ordered (0, 1, ..., K-1, none) with S(none) = 0; the FIRST maximal option wins, so a
///      proposal beats "none" on a tie and a lower index beats a higher one.
library ClarkeTax {
    /// @notice The selected option for surpluses `s`.
    /// @return some true when a proposal is selected, false for "none"
    /// @return index the selected proposal (0 when `some` is false)
    function select(int256[] memory s) internal pure returns (bool some, uint256 index) {
        uint256 k = s.length;
        if (k == 0) return (false, 0);
        int256 best = s[0];
        for (uint256 m = 1; m < k; ++m) {
            if (s[m] > best) {
                best = s[m];
                index = m;
            }
        }
        some = best >= 0;
        if (!some) index = 0;
    }

    /// @notice Clarke tax of a participant with net values `xp`:
    ///         max(0, max_m (S(m) - xp(m))) - (S(m*) - xp(m*)), with S_-p(none) = 0.
    /// @dev Only the maximal value of S_-p matters, not which option attains it. Never negative because
    ///      m* maximises S = S_-p + xp.
    function tax(int256[] memory s, int256[] memory xp, bool someStar, uint256 star)
        internal
        pure
        returns (uint256)
    {
        int256 best = 0;
        for (uint256 m; m < s.length; ++m) {
            int256 without = s[m] - xp[m];
            if (without > best) best = without;
        }
        int256 atStar = someStar ? s[star] - xp[star] : int256(0);
        return uint256(best - atStar);
    }
}
