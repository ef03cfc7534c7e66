"""hcfl.protocol: the one definition of enums with display names, the signed messages (pinned texts, one address
normalisation, sign/recover round trip, malformed signatures) and ω."""
from __future__ import annotations

import pytest
from eth_account import Account

from hcfl.protocol import (
    PaymentRule,
    Phase,
    Role,
    ShareRule,
    SignatureError,
    download_message,
    edge_root_message,
    edge_update_message,
    model_commitment,
    phase_title,
    recover_signer,
    sign,
    update_message,
)
from hcfl.protocol.messages import render

C = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
CC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
S = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
SC = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_display_names():
    assert [p.title for p in Phase][5] == "AwaitingSettlement" and Phase.VOTE_REVEALING.label == "vote revealing"
    assert PaymentRule.PAPER_RANDOM.slug == "paper-random" and ShareRule.from_slug("stake") == ShareRule.STAKE
    assert Role.STATION.slug == "station" and phase_title(9) == "Finished" and phase_title(42) == "42"
    with pytest.raises(ValueError, match="unknown PaymentRule 'vickrey': use posted, paper-random"):
        PaymentRule.from_slug("vickrey")


def test_message_texts_are_pinned_and_normalised():
    h = "0x" + "AB" * 32
    assert download_message(31337, C, 7) == f"hcfl-download:31337:{CC}:7"
    assert download_message(31337, CC, 7) == download_message(31337, C, 7)  # one spelling of the contract
    assert update_message(1, C, 2, 3, h, 4, 5) == f"hcfl-update:1:{CC}:2:3:{h.lower()}:4:5"
    assert edge_update_message(1, C, S, 2, 3, 4, h[2:], 5) == f"hcfl-edge-update:1:{CC}:{SC}:2:3:4:{h.lower()}:5"
    assert edge_root_message(1, C, S, 2, 3, h, 5) == f"hcfl-edge-root:1:{CC}:{SC}:2:3:{h.lower()}:5"
    with pytest.raises(ValueError, match="contract is not a 20-byte hex address"):
        download_message(1, "0x1234", 0)
    with pytest.raises(TypeError, match="message download takes"):
        render("download", chainId=1, contract=C)


def test_sign_and_recover():
    a = Account.create()
    msg = download_message(1, C, 0)
    assert recover_signer(msg, sign(a, msg)) == a.address
    assert recover_signer(download_message(1, C, 1), sign(a, msg)) != a.address
    for bad, why in (("", "65 bytes"), ("0xzz", "not hex"), ("0x" + "00" * 65, "invalid signature")):
        with pytest.raises(SignatureError, match=why):
            recover_signer(msg, bad)


def test_model_commitment_covers_both_halves():
    spec, plan = {"arch": "mlp", "hidden": [32]}, {"lr": 0.1, "dataset": "digits"}
    w = model_commitment(spec, plan)
    assert w == model_commitment(dict(reversed(list(spec.items()))), dict(reversed(list(plan.items()))))  # key order
    assert w != model_commitment(spec, {**plan, "lr": 10.0}) and w != model_commitment({**spec, "hidden": [33]}, plan)
    with pytest.raises(ValueError):
        model_commitment(spec, {"lr": float("nan")})
