// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "../interfaces/IHCFL.sol";
import {HCFLStorage} from "./HCFLStorage.sol";

/// @title RoundsModule
/// @notice Campaigns, rounds, joining and proposals (linked library; runs in HCFLCore's storage).
library RoundsModule {
    using HCFLStorage for HCFLStorage.Layout;

    /// @notice Validates `cfg` (named errors, nothing stored on failure) and creates a campaign.
    function createCampaign(HCFLStorage.Layout storage s, IHCFL.Config calldata cfg) public returns (uint256 id) {
        uint64[7] memory d = [
            cfg.joinDuration,
            cfg.proposeDuration,
            cfg.commitDuration,
            cfg.revealDuration,
            cfg.trainDuration,
            cfg.voteCommitDuration,
            cfg.voteRevealDuration
        ];
        for (uint256 i; i < 7; ++i) {
            if (d[i] == 0 || d[i] > HCFLStorage.MAX_DURATION) revert IHCFL.DurationOutOfRange(i, d[i]);
        }
        if (cfg.nonRevealPenaltyBps > HCFLStorage.BPS) revert IHCFL.BpsOutOfRange(cfg.nonRevealPenaltyBps);
        if (cfg.punishThresholdBps > HCFLStorage.BPS) revert IHCFL.BpsOutOfRange(cfg.punishThresholdBps);
        if (cfg.poolDrawBps > HCFLStorage.BPS) revert IHCFL.BpsOutOfRange(cfg.poolDrawBps);
        if (cfg.nonRevealPenaltyFloor == 0) revert IHCFL.PenaltyFloorZero();
        if (cfg.minOwnerDeposit == 0 || cfg.minStationDeposit == 0) revert IHCFL.MinDepositZero();
        if (cfg.minBond == 0) revert IHCFL.MinBondZero();
        if (cfg.maxPrice == 0 || cfg.maxPrice > type(uint128).max) revert IHCFL.MaxPriceOutOfRange(cfg.maxPrice);
        if (cfg.maxProposalsPerOwner == 0 || cfg.maxProposalsPerOwner > HCFLStorage.MAX_PROPOSALS) {
            revert IHCFL.MaxProposalsPerOwnerOutOfRange(cfg.maxProposalsPerOwner);
        }
        if (cfg.ownerShareRule == IHCFL.ShareRule.Contribution) revert IHCFL.OwnersCannotShareByContribution();
        // amounts above 2^96 can never be met by a deposit/bond (which are capped there): refuse them early
        if (cfg.minOwnerDeposit > HCFLStorage.MAX_AMOUNT) revert IHCFL.AmountTooLarge(cfg.minOwnerDeposit);
        if (cfg.minStationDeposit > HCFLStorage.MAX_AMOUNT) revert IHCFL.AmountTooLarge(cfg.minStationDeposit);
        if (cfg.minBond > HCFLStorage.MAX_AMOUNT) revert IHCFL.AmountTooLarge(cfg.minBond);
        if (cfg.voteDeposit > HCFLStorage.MAX_AMOUNT) revert IHCFL.AmountTooLarge(cfg.voteDeposit);
        if (cfg.nonRevealPenaltyFloor > HCFLStorage.MAX_AMOUNT) revert IHCFL.AmountTooLarge(cfg.nonRevealPenaltyFloor);
        id = s.campaignCount++;
        if (id > type(uint32).max) revert IHCFL.UnknownCampaign(id); // ids are stored in 32 bits
        IHCFL.Campaign storage c = s.campaigns[id];
        c.creator = msg.sender;
        c.cfg = cfg;
        emit IHCFL.CampaignCreated(id, msg.sender, cfg);
    }

    /// @notice Opens a round of a campaign (creator only); all four pre-settlement deadlines are fixed now.
    function openRound(HCFLStorage.Layout storage s, uint256 campaignId) public returns (uint256 roundId) {
        if (campaignId >= s.campaignCount) revert IHCFL.UnknownCampaign(campaignId);
        IHCFL.Campaign storage c = s.campaigns[campaignId];
        if (msg.sender != c.creator) revert IHCFL.NotCampaignCreator(msg.sender, c.creator);
        roundId = s.roundCount++;
        c.roundCount += 1;
        HCFLStorage.Round storage r = s.rounds[roundId];
        r.campaignId = uint32(campaignId);
        uint64 t = uint64(block.timestamp) + c.cfg.joinDuration;
        r.joinEnd = t;
        t += c.cfg.proposeDuration;
        r.proposeEnd = t;
        t += c.cfg.commitDuration;
        r.commitEnd = t;
        t += c.cfg.revealDuration;
        r.revealEnd = t;
        r.paymentRule = c.cfg.paymentRule;
        r.ownerShareRule = c.cfg.ownerShareRule;
        r.stationShareRule = c.cfg.stationShareRule;
        emit IHCFL.RoundOpened(roundId, campaignId, r.joinEnd, r.proposeEnd, r.commitEnd, r.revealEnd);
    }

    /// @dev Internal: inlined into HCFLCore (hot per-participant path).
    /// @notice Joins as owner or station; `msg.value` is the deposit (>= the role's minimum, <= 2^96-1).
    function join(HCFLStorage.Layout storage s, uint256 roundId, IHCFL.Role role) internal {
        s.requirePhase(roundId, IHCFL.Phase.Joining);
        IHCFL.Config storage cfg = s.cfgOf(s.rounds[roundId]);
        uint256 minimum;
        if (role == IHCFL.Role.Owner) minimum = cfg.minOwnerDeposit;
        else if (role == IHCFL.Role.Station) minimum = cfg.minStationDeposit;
        else revert IHCFL.InvalidRole();
        if (msg.value < minimum) revert IHCFL.DepositTooSmall(msg.value, minimum);
        if (msg.value > HCFLStorage.MAX_AMOUNT) revert IHCFL.AmountTooLarge(msg.value);
        HCFLStorage.Participant storage p = s.participants[roundId][msg.sender];
        if (p.role != IHCFL.Role.None) revert IHCFL.AlreadyJoined();
        p.role = role;
        p.deposit = uint96(msg.value);
        s.totalDeposits += uint128(msg.value);
        emit IHCFL.Joined(roundId, msg.sender, role, msg.value);
    }

    /// @notice Posts a model proposal; `msg.value` is the responsibility bond.
    function propose(
        HCFLStorage.Layout storage s,
        uint256 roundId,
        bytes32 specHash,
        string calldata uri,
        uint32 archId,
        uint16 promisedAccBps,
        uint32 globalRounds,
        uint256 labelMask,
        uint256 price
    ) public returns (uint256 proposalId) {
        s.requirePhase(roundId, IHCFL.Phase.Proposing);
        HCFLStorage.Round storage r = s.rounds[roundId];
        IHCFL.Config storage cfg = s.cfgOf(r);
        HCFLStorage.Participant storage p = s.participants[roundId][msg.sender];
        if (p.role != IHCFL.Role.Owner) revert IHCFL.WrongRole(IHCFL.Role.Owner, p.role);
        if (msg.value < cfg.minBond) revert IHCFL.BondTooSmall(msg.value, cfg.minBond);
        if (msg.value > HCFLStorage.MAX_AMOUNT) revert IHCFL.AmountTooLarge(msg.value);
        if (price > cfg.maxPrice) revert IHCFL.PriceTooLarge(price, cfg.maxPrice);
        if (r.k >= HCFLStorage.MAX_PROPOSALS) revert IHCFL.TooManyProposals();
        if (s.proposalsBy[roundId][msg.sender] >= cfg.maxProposalsPerOwner) {
            revert IHCFL.TooManyProposalsByOwner(cfg.maxProposalsPerOwner);
        }
        if (globalRounds == 0 || globalRounds > HCFLStorage.MAX_GLOBAL_ROUNDS) {
            revert IHCFL.GlobalRoundsOutOfRange(globalRounds);
        }
        if (promisedAccBps > HCFLStorage.BPS) revert IHCFL.AccuracyOutOfRange(promisedAccBps);
        if (labelMask == 0) revert IHCFL.EmptyLabelSet();
        proposalId = r.k;
        r.k += 1;
        s.proposalsBy[roundId][msg.sender] += 1;
        r.proposals[proposalId] =
            HCFLStorage.Prop(msg.sender, uint96(msg.value), uint128(price), globalRounds, promisedAccBps, specHash);
        s.totalBonds += uint128(msg.value);
        emit IHCFL.Proposed(
            roundId, proposalId, msg.sender, specHash, uri, archId, promisedAccBps, globalRounds, labelMask, msg.value, price
        );
    }
}
