// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title StationRewardsStub
/// @notice Test-only stand-in for HCFLCore's `stationReward` view, so that EdgePayouts' own mechanics (proofs,
///         deadlines, reentrancy, extreme amounts) can be tested with any reward. The tie to the real HCFLCore
///         is tested against HCFLCore itself (tests/edge_payouts/test_edge_payouts_core.py).
contract StationRewardsStub {
    struct Windows {
        uint64 commitEnd;
        uint64 revealEnd;
        bool set;
    }

    struct Reward {
        bool rewardFinal;
        bool notStation;
        uint256 reward;
    }

    mapping(uint256 => Windows) private _windows;
    mapping(uint256 => mapping(address => Reward)) private _rewards;
    mapping(uint256 => bool) public unknown;

    /// @notice Sets a round's commit and reveal deadlines (default: both open for ever).
    function setWindows(uint256 roundId, uint64 commitEnd, uint64 revealEnd) external {
        _windows[roundId] = Windows(commitEnd, revealEnd, true);
    }

    /// @notice Sets a station's record in a round.
    function setReward(uint256 roundId, address station, bool isStation, bool rewardFinal, uint256 reward) external {
        _rewards[roundId][station] = Reward(rewardFinal, !isStation, reward);
    }

    /// @notice Makes a round unknown (the view reverts, as HCFLCore's does).
    function setUnknown(uint256 roundId, bool on) external {
        unknown[roundId] = on;
    }

    /// @notice Same signature as HCFLCore.keepRewardRecord (the stub keeps every reward anyway).
    function keepRewardRecord(uint256 roundId) external {}

    /// @notice Same signature as HCFLCore.stationReward.
    function stationReward(uint256 roundId, address station)
        external
        view
        returns (uint64 commitEnd, uint64 revealEnd, bool isStation, bool rewardFinal, uint256 reward)
    {
        require(!unknown[roundId], "unknown round");
        Windows memory w = _windows[roundId];
        Reward memory r = _rewards[roundId][station];
        if (w.set) (commitEnd, revealEnd) = (w.commitEnd, w.revealEnd);
        else (commitEnd, revealEnd) = (type(uint64).max - 1, type(uint64).max - 1);
        return (commitEnd, revealEnd, !r.notStation, r.rewardFinal, r.reward);
    }
}
