"""One definition of every protocol fact (issue 11): enums with display names, bounds, the contract's structs,
the claim and vote commitment encoders, and every signed message with its EIP-191 sign and recover.

The backend, the daemons, the edge clients, the auditor and the tests import from here; the web UI gets the
same tables from the module `python -m hcfl.protocol.ui` generates (backend/ui/generated/protocol.js).
"""
from hcfl.protocol.bounds import BPS, MAX_DURATION, MAX_PRICE, MAX_PROPOSALS, SQLITE_INT_LIMIT, UINT256_MAX
from hcfl.protocol.commitments import (
    canonical_json,
    claims_commitment,
    model_commitment,
    new_salt,
    salt_seed,
    vote_commitment,
)
from hcfl.protocol.enums import CreditReason, PaymentRule, Phase, PoolKind, Role, ShareRule, phase_title
from hcfl.protocol.messages import (
    SignatureError,
    download_message,
    edge_root_message,
    edge_update_message,
    recover_signer,
    sign,
    update_message,
)
from hcfl.protocol.structs import (
    Accounting,
    Campaign,
    CampaignConfig,
    ParticipantView,
    Proposal,
    ProposalSpec,
    RoundView,
    Settlement,
    Sums,
    VoteView,
)

__all__ = [
    "BPS", "MAX_DURATION", "MAX_PRICE", "MAX_PROPOSALS", "SQLITE_INT_LIMIT", "UINT256_MAX",
    "canonical_json", "claims_commitment", "model_commitment", "new_salt", "salt_seed", "vote_commitment",
    "CreditReason", "PaymentRule", "Phase", "PoolKind", "Role", "ShareRule", "phase_title",
    "SignatureError", "download_message", "edge_root_message", "edge_update_message", "recover_signer", "sign", "update_message",
    "Accounting", "Campaign", "CampaignConfig", "ParticipantView", "Proposal", "ProposalSpec", "RoundView",
    "Settlement", "Sums", "VoteView",
]
