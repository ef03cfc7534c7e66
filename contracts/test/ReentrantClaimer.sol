// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IHCFLCorePayouts {
    function withdraw() external;
    function claimAndWithdraw(uint256 roundId) external;
    function credits(address) external view returns (uint256);
}

/// @title ReentrantClaimer
/// @notice Test-only attacker for HCFLCore (v2): joins rounds through `forward`; when paid it tries to enter
///         `withdraw` and `claimAndWithdraw` again from its receive hook, or (with `reject`) refuses the
///         payment so that the tests see TransferFailed roll everything back.
contract ReentrantClaimer {
    address public immutable target;
    bool public reject;
    uint256 public roundId;
    uint256 public reentryAttempts;
    bool public withdrawReentered;
    bool public claimReentered;
    bytes public lastRevert;

    constructor(address target_) {
        target = target_;
    }

    /// @notice Calls the target with arbitrary calldata and value (join, commit, reveal as a participant).
    function forward(bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// @notice Sets whether payments are refused and which round the receive hook re-claims.
    function configure(bool reject_, uint256 roundId_) external {
        reject = reject_;
        roundId = roundId_;
    }

    /// @notice Starts the attack through `withdraw`.
    function attack() external {
        IHCFLCorePayouts(target).withdraw();
    }

    /// @notice Starts the attack through `claimAndWithdraw`.
    function attackClaim(uint256 roundId_) external {
        IHCFLCorePayouts(target).claimAndWithdraw(roundId_);
    }

    receive() external payable {
        if (reject) revert("no ether, thanks");
        if (reentryAttempts == 0) {
            reentryAttempts = 1;
            (bool ok1, bytes memory ret1) = target.call(abi.encodeWithSignature("withdraw()"));
            withdrawReentered = ok1;
            (bool ok2, bytes memory ret2) = target.call(abi.encodeWithSignature("claimAndWithdraw(uint256)", roundId));
            claimReentered = ok2;
            lastRevert = ok1 ? ret2 : ret1;
        }
    }
}
