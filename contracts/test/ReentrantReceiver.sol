// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ReentrantReceiver
/// @notice Test-only attacker for pull payments: acts through `forward` (as an edge client claiming, or as a
///         station posting and reclaiming) and, when paid, replays `reentryData` against the target once from
///         its receive hook. Tests assert that the replay fails and that it is paid exactly once.
contract ReentrantReceiver {
    address public immutable target;
    bytes public reentryData;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;
    bytes public lastRevert;
    bool public rejecting;

    constructor(address target_) {
        target = target_;
    }

    /// @notice Sets the calldata replayed from the receive hook.
    function setReentry(bytes calldata data) external {
        reentryData = data;
    }

    /// @notice While set, every payment to this contract reverts (a client that cannot take ether).
    function setRejecting(bool on) external {
        rejecting = on;
    }

    /// @notice Calls the target with arbitrary calldata and value; bubbles up its revert.
    function forward(bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        require(!rejecting, "rejecting payments");
        if (reentryAttempts == 0 && reentryData.length != 0) {
            reentryAttempts = 1;
            (bool ok, bytes memory ret) = target.call(reentryData);
            reentrySucceeded = ok;
            lastRevert = ret;
        }
    }
}
