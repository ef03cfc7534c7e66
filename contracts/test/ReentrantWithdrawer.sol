// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IHCFLCrowdfund {
    function withdraw() external;
    function credits(address) external view returns (uint256);
}

/// @title ReentrantWithdrawer
/// @notice Test-only attacker: joins rounds through `forward` and, when paid by `withdraw`, tries to
///         call `withdraw` again from its receive hook. The tests assert that the second call fails and
///         that the attacker never receives more than its credit.
contract ReentrantWithdrawer {
    address public immutable target;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;
    bytes public lastRevert;

    constructor(address target_) {
        target = target_;
    }

    /// @notice Calls the target with arbitrary calldata and value (to join, commit, reveal as a participant).
    function forward(bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// @notice Starts the attack.
    function attack() external {
        IHCFLCrowdfund(target).withdraw();
    }

    receive() external payable {
        if (reentryAttempts == 0) {
            reentryAttempts = 1;
            (bool ok, bytes memory ret) = target.call(abi.encodeWithSignature("withdraw()"));
            reentrySucceeded = ok;
            lastRevert = ret;
        }
    }
}
