// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ShareSplit
/// @notice Splits an amount of wei by weights so that the shares sum to exactly the amount.
/// @dev base_i = floor(total * w_i / W); the remainder r (< number of positive weights) goes one wei each
///      to the first r participants with a positive weight. All-zero weights mean an equal split.
///      Callers bound weights to 2^64 and totals to 2^128, so the products cannot overflow.
library ShareSplit {
    function split(uint256 total, uint256[] memory weights) internal pure returns (uint256[] memory shares) {
        uint256 n = weights.length;
        shares = new uint256[](n);
        if (n == 0) return shares;
        uint256 sum;
        for (uint256 i; i < n; ++i) sum += weights[i];
        bool equal = sum == 0;
        if (equal) sum = n;
        uint256 assigned;
        for (uint256 i; i < n; ++i) {
            uint256 w = equal ? 1 : weights[i];
            uint256 s = (total * w) / sum;
            shares[i] = s;
            assigned += s;
        }
        uint256 rest = total - assigned;
        for (uint256 i; i < n && rest > 0; ++i) {
            if (equal || weights[i] > 0) {
                shares[i] += 1;
                rest -= 1;
            }
        }
    }

    /// @notice The largest total X such that a participant with weight `w` (of `sum`) and capacity `a`
    ///         can pay its share of X: floor((a - 1) * sum / w) for a >= 1, and 0 for a == 0.
    function affordable(uint256 a, uint256 w, uint256 sum) internal pure returns (uint256) {
        if (a == 0) return 0;
        return ((a - 1) * sum) / w;
    }
}
