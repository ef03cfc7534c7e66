// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHCFL} from "./interfaces/IHCFL.sol";
import {HCFLStorage} from "./modules/HCFLStorage.sol";
import {RoundsModule} from "./modules/RoundsModule.sol";
import {SealedClaimsModule} from "./modules/SealedClaimsModule.sol";
import {SettlementModule} from "./modules/SettlementModule.sol";
import {TrainingModule} from "./modules/TrainingModule.sol";
import {PunishmentVoteModule} from "./modules/PunishmentVoteModule.sol";
import {ReentrancyGuard} from "./utils/ReentrancyGuard.sol";

/// @title HCFLCore
/// @notice HCFL contract v2: campaigns of crowdfunding rounds for hierarchical federated learning. Holds all
///         ether and all state; the concerns live in linked module libraries (rounds, sealed claims,
///         settlement, training, punishment vote) that run in this contract's storage. Phases are derived
///         from timestamps (`state`); only `settle` moves a round by a transaction. Every participant is
///         settled lazily, in O(K), when someone calls `claim` for it; money leaves only by `withdraw`.
contract HCFLCore is IHCFL, ReentrancyGuard {
    HCFLStorage.Layout internal _s;

    // ================================================================== campaigns and rounds

    /// @notice Creates a campaign (a series of rounds with one creator, one config and its own pools).
    /// @param cfg the configuration; every field is validated with a named error
    /// @return campaignId the new campaign's id
    function createCampaign(Config calldata cfg) external returns (uint256 campaignId) {
        return RoundsModule.createCampaign(_s, cfg);
    }

    /// @notice Opens a round of a campaign; only the campaign's creator may.
    /// @param campaignId the campaign
    /// @return roundId the new round's id (joining starts now)
    function openRound(uint256 campaignId) external returns (uint256 roundId) {
        return RoundsModule.openRound(_s, campaignId);
    }

    /// @notice Joins a round as owner or station; `msg.value` is the deposit (>= the role's minimum).
    /// @param roundId the round
    /// @param role Owner or Station
    function join(uint256 roundId, Role role) external payable {
        RoundsModule.join(_s, roundId, role);
    }

    /// @notice Posts a model proposal (a joined owner); `msg.value` is the bond (>= minBond).
    /// @param roundId the round
    /// @param specHash content hash of the model spec and initial parameters
    /// @param uri where the spec can be fetched (informational, only in the event)
    /// @param archId architecture id
    /// @param promisedAccBps promised accuracy (basis points)
    /// @param globalRounds number of global training rounds t (1..10000)
    /// @param labelMask target label set as a bitmask (non-zero)
    /// @param price the posted total payment C_m (<= the campaign's maxPrice)
    /// @return proposalId the proposal's index in the round
    function propose(
        uint256 roundId,
        bytes32 specHash,
        string calldata uri,
        uint32 archId,
        uint16 promisedAccBps,
        uint32 globalRounds,
        uint256 labelMask,
        uint256 price
    ) external payable returns (uint256 proposalId) {
        return RoundsModule.propose(_s, roundId, specHash, uri, archId, promisedAccBps, globalRounds, labelMask, price);
    }

    /// @notice The phase of a round, derived from timestamps (and the settle transaction).
    /// @param roundId the round
    function state(uint256 roundId) external view returns (Phase) {
        return HCFLStorage.state(_s, roundId);
    }

    // ================================================================== sealed claims

    /// @notice Commits sealed claims: `claimCommitment(roundId, msg.sender, claims, salt)`.
    /// @param roundId the round
    /// @param commitment the commitment
    function commit(uint256 roundId, bytes32 commitment) external {
        SealedClaimsModule.commit(_s, roundId, commitment);
    }

    /// @notice Reveals the committed claims (one per proposal, wei) and the salt; claims are capped to
    ///         deposit - 1.
    /// @param roundId the round
    /// @param claims one claim per proposal
    /// @param salt the 32-byte salt of the commitment
    function reveal(uint256 roundId, uint256[] calldata claims, bytes32 salt) external {
        SealedClaimsModule.reveal(_s, roundId, claims, salt);
    }

    /// @notice keccak256(abi.encode(roundId, sender, claims, salt)): the claim commitment (as ENS's shaBid).
    /// @param roundId the round
    /// @param sender the committing account
    /// @param claims one claim per proposal
    /// @param salt a secret 32-byte salt
    function claimCommitment(uint256 roundId, address sender, uint256[] calldata claims, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return SealedClaimsModule.claimCommitment(roundId, sender, claims, salt);
    }

    /// @notice keccak256(abi.encode(roundId, voter, punish, salt)): the vote commitment.
    /// @param roundId the round
    /// @param voter the voting account
    /// @param punish the vote
    /// @param salt a secret 32-byte salt
    function voteCommitment(uint256 roundId, address voter, bool punish, bytes32 salt) external pure returns (bytes32) {
        return SealedClaimsModule.voteCommitment(roundId, voter, punish, salt);
    }

    // ================================================================== settlement

    /// @notice Settles a round after its reveal deadline (O(K)); anyone may call it, once.
    /// @param roundId the round
    function settle(uint256 roundId) external {
        SettlementModule.settle(_s, roundId);
    }

    /// @notice Settles what is due to `account` so far (anyone may call; credits `account`): its deposit
    ///         (payment, tax, penalty) after settlement; its reward (station) or bond/vote part (owner) once
    ///         the round is finished. Reverts with NothingToClaim when nothing is due.
    /// @param roundId the round
    /// @param account the participant
    function claim(uint256 roundId, address account) external {
        uint256 amount = _claim(roundId, account, false, 0, 0, new bytes32[](0));
        if (amount != 0) {
            _s.credits[account] += amount;
            _s.totalCredits += uint128(amount);
        }
    }

    /// @notice `claim` for a station under valid contribution scores: proves its leaf
    ///         (station, score, prefixBefore) in the winner's scores root.
    /// @param roundId the round
    /// @param account the station
    /// @param score its score
    /// @param prefixBefore the sum of the scores before it in the tree's order
    /// @param proof the Merkle proof (hcfl/merkle.py)
    function claimWithScore(
        uint256 roundId,
        address account,
        uint256 score,
        uint256 prefixBefore,
        bytes32[] calldata proof
    ) external {
        uint256 amount = _claim(roundId, account, true, score, prefixBefore, proof);
        if (amount != 0) {
            _s.credits[account] += amount;
            _s.totalCredits += uint128(amount);
        }
    }

    /// @notice Claims for the caller and pays what this claim made due in the same transaction (earlier
    ///         credits stay for `withdraw`).
    /// @param roundId the round
    function claimAndWithdraw(uint256 roundId) external nonReentrant {
        _pay(_claim(roundId, msg.sender, false, 0, 0, new bytes32[](0)));
    }

    /// @dev Settles the parts of `account` that are due and returns their sum (credited or paid by the caller).
    function _claim(
        uint256 roundId,
        address account,
        bool withProof,
        uint256 score,
        uint256 prefixBefore,
        bytes32[] memory proof
    ) private returns (uint256 amount) {
        bool did;
        uint8 code;
        if (_s.participants[roundId][account].role == Role.Station) {
            // deposit part and (once the round is finished) reward in one library call
            (did, code, amount) = SettlementModule.claimStation(_s, roundId, account, withProof, score, prefixBefore, proof);
        } else {
            (did, amount) = SettlementModule.claimSettlement(_s, roundId, account);
            // the final part (bond and vote) exists only once the round is finished
            if (HCFLStorage.state(_s, roundId) == Phase.Finished) {
                (bool fin, uint256 more) = PunishmentVoteModule.claimFinal(_s, roundId, account);
                if (fin) code = 1;
                amount += more;
            }
        }
        if (code == 1) did = true;
        if (!did) {
            if (code == 2) revert ProofRequired();
            revert NothingToClaim();
        }
    }

    /// @notice The settlement `claim` would credit to `account` now (payment, tax, penalty, refund).
    /// @param roundId the round
    /// @param account the participant
    function previewSettlement(uint256 roundId, address account) external view returns (Settlement memory) {
        return SettlementModule.preview(_s, roundId, account);
    }

    // ================================================================== training

    /// @notice A revealed station reports one global round (once per g < t) while training is open.
    /// @param roundId the round
    /// @param globalRound 0-based global round g
    /// @param updateHash content hash of the station update it uploaded
    /// @param samples training samples behind the update
    /// @param accuracyBps local accuracy (basis points)
    /// @param clientsRoot Merkle root of the edge clients that contributed
    function reportTraining(
        uint256 roundId,
        uint32 globalRound,
        bytes32 updateHash,
        uint64 samples,
        uint16 accuracyBps,
        bytes32 clientsRoot
    ) external {
        TrainingModule.reportTraining(_s, roundId, globalRound, updateHash, samples, accuracyBps, clientsRoot);
    }

    /// @notice The winner finalizes the training once (before trainEnd); reporting stays open.
    /// @param roundId the round
    /// @param modelHash content hash of the final global model
    /// @param achievedAccBps achieved accuracy (basis points)
    /// @param scoresRoot Merkle root of the leaves (station, score, prefixBefore)
    /// @param scoresTotal the sum of the scores
    /// @param validationHash content hash of the published validation split
    function finalizeTraining(
        uint256 roundId,
        bytes32 modelHash,
        uint16 achievedAccBps,
        bytes32 scoresRoot,
        uint256 scoresTotal,
        bytes32 validationHash
    ) external {
        TrainingModule.finalizeTraining(_s, roundId, modelHash, achievedAccBps, scoresRoot, scoresTotal, validationHash);
    }

    /// @notice A revealed station objects to the scores (until the vote-commit deadline): stations then
    ///         split equally.
    /// @param roundId the round
    function objectScores(uint256 roundId) external {
        TrainingModule.objectScores(_s, roundId);
    }

    // ================================================================== vote

    /// @notice Commits a sealed punishment vote (a revealed owner other than the winner); pay voteDeposit.
    /// @param roundId the round
    /// @param commitment `voteCommitment(roundId, msg.sender, punish, salt)`
    function commitVote(uint256 roundId, bytes32 commitment) external payable {
        PunishmentVoteModule.commitVote(_s, roundId, commitment);
    }

    /// @notice Reveals a vote; the vote deposit is credited back.
    /// @param roundId the round
    /// @param punish the vote
    /// @param salt the salt of the commitment
    function revealVote(uint256 roundId, bool punish, bytes32 salt) external {
        PunishmentVoteModule.revealVote(_s, roundId, punish, salt);
    }

    /// @notice The vote weight of `account` (its nominal payment share; 0 = may not vote).
    /// @param roundId the round
    /// @param account the owner
    function voteWeight(uint256 roundId, address account) external view returns (uint256) {
        return PunishmentVoteModule.voteWeight(_s, roundId, account);
    }

    // ================================================================== money

    /// @notice Pays the caller its whole credit (pull payment).
    function withdraw() external nonReentrant {
        _withdraw();
    }

    function _withdraw() private {
        uint256 amount = _s.credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        _s.credits[msg.sender] = 0;
        _s.totalCredits -= uint128(amount);
        _pay(amount);
    }

    function _pay(uint256 amount) private {
        if (amount == 0) revert NothingToWithdraw();
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// @notice The credit `account` may withdraw.
    /// @param account the account
    function credits(address account) external view returns (uint256) {
        return _s.credits[account];
    }

    /// @notice Balance and what it must cover; surplus = balance - the sum (forced ether).
    function accounting()
        public
        view
        returns (
            uint256 balance,
            uint256 deposits,
            uint256 credited,
            uint256 bonds,
            uint256 escrow,
            uint256 pools,
            uint256 voteDeposits,
            uint256 surplus
        )
    {
        balance = address(this).balance;
        deposits = _s.totalDeposits;
        credited = _s.totalCredits;
        bonds = _s.totalBonds;
        escrow = _s.totalEscrow;
        pools = _s.totalPools;
        voteDeposits = _s.totalVoteDeposits;
        uint256 owed = deposits + credited + bonds + escrow + pools + voteDeposits;
        surplus = balance > owed ? balance - owed : 0;
    }

    /// @notice Moves ether nobody is owed (e.g. forced in by SELFDESTRUCT) into a campaign's owner pool.
    /// @param campaignId the campaign that receives it
    function sweepSurplus(uint256 campaignId) external {
        if (campaignId >= _s.campaignCount) revert UnknownCampaign(campaignId);
        (,,,,,,, uint256 surplus) = accounting();
        if (surplus == 0) revert NoSurplus();
        Campaign storage c = _s.campaigns[campaignId];
        c.ownerPool += surplus;
        _s.totalPools += uint128(surplus);
        emit SurplusSwept(campaignId, surplus);
        emit PoolChanged(campaignId, type(uint256).max, PoolKind.Owner, int256(surplus), c.ownerPool);
    }

    /// @notice Returns a finished round's unclaimed escrow to its campaign's station pool, once
    ///         365 days have passed since the round ended (see TrainingModule.sweepEscrow).
    /// @param roundId the round
    function sweepEscrow(uint256 roundId) external {
        TrainingModule.sweepEscrow(_s, roundId);
    }

    // ================================================================== raw views (HCFLLens composes them)

    /// @notice Number of campaigns and rounds.
    function counts() external view returns (uint256 campaigns, uint256 rounds) {
        return (_s.campaignCount, _s.roundCount);
    }

    /// @notice A campaign: creator, round count, pools and config.
    /// @param campaignId the campaign
    function getCampaign(uint256 campaignId) external view returns (Campaign memory) {
        if (campaignId >= _s.campaignCount) revert UnknownCampaign(campaignId);
        return _s.campaigns[campaignId];
    }

    /// @notice A round's whole record (sums and proposals for its first `k` entries).
    /// @param roundId the round
    function getRound(uint256 roundId) external view returns (RoundData memory v) {
        HCFLStorage.Round storage r = HCFLStorage.round(_s, roundId);
        (v.campaignId, v.k, v.affordMask, v.joinEnd, v.proposeEnd, v.commitEnd) =
            (r.campaignId, r.k, r.affordMask, r.joinEnd, r.proposeEnd, r.commitEnd);
        (v.revealEnd, v.trainEnd, v.trainClosedAt, v.star) = (r.revealEnd, r.trainEnd, r.trainClosedAt, r.star);
        (v.settled, v.selected, v.unfunded, v.finalized, v.objected) = (r.settled, r.selected, r.unfunded, r.finalized, r.objected);
        (v.nO, v.nS, v.wO, v.wS, v.ratioNum, v.ratioDen) = (r.nO, r.nS, r.wO, r.wS, r.ratioNum, r.ratioDen);
        (v.achievedAccBps, v.saltXor, v.seed, v.payment, v.ownerDiscount) =
            (r.achievedAccBps, r.saltXor, r.seed, r.payment, r.ownerDiscount);
        (v.stationBonus, v.escrow, v.escrowPaid, v.reportsDone) = (r.stationBonus, r.escrow, r.escrowPaid, r.reportsDone);
        (v.modelHash, v.scoresRoot, v.scoresTotal, v.validationHash) = (r.modelHash, r.scoresRoot, r.scoresTotal, r.validationHash);
        (v.punishW, v.keepW) = (r.punishW, r.keepW);
        v.sums = r.sums;
        for (uint256 m; m < r.k; ++m) {
            HCFLStorage.Prop storage q = r.proposals[m];
            v.proposals[m] = Proposal(q.proposer, q.globalRounds, q.promisedAccBps, q.price, q.bond, q.specHash);
        }
    }

    /// @notice One account's record in a round.
    /// @param roundId the round
    /// @param account the account
    function getParticipant(uint256 roundId, address account) external view returns (ParticipantData memory v) {
        HCFLStorage.Participant storage p = _s.participants[roundId][account];
        v.role = p.role;
        v.committed = HCFLStorage.committed(p);
        v.revealed = HCFLStorage.has(p, HCFLStorage.REVEALED);
        v.settledClaimed = HCFLStorage.has(p, HCFLStorage.SETTLED);
        v.finalClaimed = HCFLStorage.has(p, HCFLStorage.FINAL);
        v.reported = p.reported;
        v.revealIndex = p.revealIndex;
        v.deposit = p.deposit;
        v.prefix = p.prefix;
        bool revealed = HCFLStorage.has(p, HCFLStorage.REVEALED);
        if (!revealed) v.commitment = p.sealedWord;
        for (uint256 m; m < 20; ++m) {
            if (revealed) v.claims[m] = HCFLStorage.claimOf(p, m);
            v.propPrefix[m] = p.propPrefix[m];
        }
    }

    /// @notice One account's vote in a round.
    /// @param roundId the round
    /// @param account the voter
    function getVote(uint256 roundId, address account) external view returns (VoteData memory) {
        return _s.votes[roundId][account];
    }

    /// @notice Whether `station` reported global round `g`.
    /// @param roundId the round
    /// @param station the station
    /// @param g the global round
    function hasReported(uint256 roundId, address station, uint256 g) external view returns (bool) {
        return _s.reported[roundId][station][g];
    }

    /// @notice A station of the round asks that the reward its claim credits be kept on chain, for
    ///         `stationReward` (EdgePayouts splits exactly that amount among its edge clients). Call it before
    ///         the reward claim; calling it again changes nothing. Without it `stationReward` reads 0.
    /// @param roundId the round
    function keepRewardRecord(uint256 roundId) external {
        HCFLStorage.round(_s, roundId);
        HCFLStorage.Participant storage p = _s.participants[roundId][msg.sender];
        if (p.role != Role.Station) revert WrongRole(Role.Station, p.role);
        if (HCFLStorage.has(p, HCFLStorage.FINAL)) revert NothingToClaim();
        p.flags |= HCFLStorage.KEEP_REWARD;
    }

    /// @notice What EdgePayouts (contracts/EdgePayouts.sol) reads of a station in a round: the round's commit
    ///         and reveal deadlines, whether `station` joined it as a station, whether its reward part is final
    ///         (claimed) and the reward credited by that claim, exactly as credited (0 before, and 0 unless the station
    ///         called `keepRewardRecord` before its claim).
    /// @param roundId the round
    /// @param station the account
    function stationReward(uint256 roundId, address station)
        external
        view
        returns (uint64 commitEnd, uint64 revealEnd, bool isStation, bool rewardFinal, uint256 reward)
    {
        HCFLStorage.Round storage r = HCFLStorage.round(_s, roundId);
        HCFLStorage.Participant storage p = _s.participants[roundId][station];
        return (r.commitEnd, r.revealEnd, p.role == Role.Station, HCFLStorage.has(p, HCFLStorage.FINAL),
            _s.stationRewards[roundId][station]);
    }

    // ================================================================== inclusion (rewards for included work)

    /// @notice The winner records, once while training is open, the Merkle root of the leaves
    ///         (station, includedRounds): in how many global rounds' aggregates each revealed station's update
    ///         was. Once the round is finalized, a station is paid for min(includedRounds, reported) rounds.
    /// @param roundId the round
    /// @param inclusionRoot root of the leaves (station, includedRounds) (hcfl/merkle.py)
    /// @param manifestsRoot root of the per-round manifest roots (globalRound, manifestRoot), for auditors
    function recordInclusion(uint256 roundId, bytes32 inclusionRoot, bytes32 manifestsRoot) external {
        TrainingModule.recordInclusion(_s, roundId, inclusionRoot, manifestsRoot);
    }

    /// @notice Proves a station's leaf (station, includedRounds) in the round's inclusion root (once; anyone
    ///         may call it); the station's reward claim needs it when a root was recorded.
    /// @param roundId the round
    /// @param account the station
    /// @param includedRounds the global rounds whose aggregate included its update
    /// @param proof the Merkle proof (hcfl/merkle.py)
    function proveInclusion(uint256 roundId, address account, uint256 includedRounds, bytes32[] calldata proof)
        external
    {
        TrainingModule.proveInclusion(_s, roundId, account, includedRounds, proof);
    }

    /// @notice A revealed station contests the inclusion root (until the vote-commit deadline): if the owners'
    ///         punishment vote punishes the winner, the station is paid for its reported rounds.
    /// @param roundId the round
    function contestInclusion(uint256 roundId) external {
        TrainingModule.contestInclusion(_s, roundId);
    }

    /// @notice A round's inclusion root and one station's proven leaf and contest.
    /// @param roundId the round
    /// @param account the station
    function inclusionOf(uint256 roundId, address account)
        external
        view
        returns (bytes32 root, bool proven, uint256 includedRounds, bool contested)
    {
        uint256 rec = _s.inclusion[roundId][account];
        return (_s.inclusionRoot[roundId], rec & 1 != 0, rec >> 2, rec & 2 != 0);
    }
}
