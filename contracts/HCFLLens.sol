// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "./interfaces/IHCFL.sol";

interface IHCFLCoreViews {
    function state(uint256 roundId) external view returns (IHCFL.Phase);
    function getCampaign(uint256 campaignId) external view returns (IHCFL.Campaign memory);
    function getRound(uint256 roundId) external view returns (IHCFL.RoundData memory);
    function getParticipant(uint256 roundId, address account) external view returns (IHCFL.ParticipantData memory);
    function previewSettlement(uint256 roundId, address account) external view returns (IHCFL.Settlement memory);
    function voteWeight(uint256 roundId, address account) external view returns (uint256);
    function credits(address account) external view returns (uint256);
}

/// @title HCFLLens
/// @notice Read-only views over an HCFLCore for UIs and auditors (nothing here holds state or ether).
contract HCFLLens {
    /// @notice A round's headline numbers.
    struct RoundSummary {
        uint256 campaignId;
        IHCFL.Phase phase;
        uint256 k;
        uint256 revealedOwners;
        uint256 revealedStations;
        bool settled;
        bool selected;
        bool unfunded;
        uint256 star;
        uint256 payment;
        uint256 escrow;
        uint256 escrowPaid;
        uint256 ownerPool;
        uint256 stationPool;
    }

    /// @notice One account's position in a round.
    struct AccountSummary {
        IHCFL.Role role;
        bool committed;
        bool revealed;
        bool settledClaimed;
        bool finalClaimed;
        uint256 deposit;
        uint256 reported;
        uint256 voteWeight;
        uint256 credit;
        IHCFL.Settlement settlement;
    }

    IHCFLCoreViews public immutable core;

    /// @param core_ the HCFLCore to read
    constructor(address core_) {
        core = IHCFLCoreViews(core_);
    }

    /// @notice Headline numbers of a round (phase, selection, money in escrow, the campaign's pools).
    /// @param roundId the round
    function roundSummary(uint256 roundId) external view returns (RoundSummary memory v) {
        IHCFL.RoundData memory r = core.getRound(roundId);
        IHCFL.Campaign memory c = core.getCampaign(r.campaignId);
        v.campaignId = r.campaignId;
        v.phase = core.state(roundId);
        v.k = r.k;
        v.revealedOwners = r.nO;
        v.revealedStations = r.nS;
        v.settled = r.settled;
        v.selected = r.selected;
        v.unfunded = r.unfunded;
        v.star = r.star;
        v.payment = r.payment;
        v.escrow = r.escrow;
        v.escrowPaid = r.escrowPaid;
        v.ownerPool = c.ownerPool;
        v.stationPool = c.stationPool;
    }

    /// @notice The proposals of a round (only the first k).
    /// @param roundId the round
    function proposals(uint256 roundId) external view returns (IHCFL.Proposal[] memory out) {
        IHCFL.RoundData memory r = core.getRound(roundId);
        out = new IHCFL.Proposal[](r.k);
        for (uint256 m; m < r.k; ++m) out[m] = r.proposals[m];
    }

    /// @notice The running sums (sumB, sumK) and surplus S(m) = sumB - sumK of every proposal.
    /// @param roundId the round
    function sums(uint256 roundId) external view returns (IHCFL.Sums[] memory out, int256[] memory surplus) {
        IHCFL.RoundData memory r = core.getRound(roundId);
        out = new IHCFL.Sums[](r.k);
        surplus = new int256[](r.k);
        for (uint256 m; m < r.k; ++m) {
            out[m] = r.sums[m];
            surplus[m] = int256(uint256(r.sums[m].sumB)) - int256(uint256(r.sums[m].sumK));
        }
    }

    /// @notice An account's position: flags, deposit, vote weight, credit and its (previewed) settlement.
    /// @param roundId the round
    /// @param account_ the account
    function account(uint256 roundId, address account_) external view returns (AccountSummary memory v) {
        IHCFL.ParticipantData memory p = core.getParticipant(roundId, account_);
        v.role = p.role;
        v.committed = p.committed;
        v.revealed = p.revealed;
        v.settledClaimed = p.settledClaimed;
        v.finalClaimed = p.finalClaimed;
        v.deposit = p.deposit;
        v.reported = p.reported;
        v.voteWeight = core.voteWeight(roundId, account_);
        v.credit = core.credits(account_);
        IHCFL.RoundData memory r = core.getRound(roundId);
        if (p.role != IHCFL.Role.None && (r.settled || r.k == 0)) v.settlement = core.previewSettlement(roundId, account_);
    }
}
