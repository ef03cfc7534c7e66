"""Every message a participant signs (EIP-191 personal_sign), with the one sign and the one recover.

A message is a template over named fields; `render` normalises every field the same way for every signer and
verifier: addresses (contract, station) checksummed, hashes and roots lower-case 0x-hex, integers in decimal.
The web UI gets the templates from the generated module (hcfl.protocol.ui), never from a hand copy.

- `update`: a station's upload of its update of global round g (PUT /api/rounds/{rid}/updates/{g});
- `download`: a request for a model or an audit artifact of a round (intermediate global models, the final
  model, audit artifacts; X-HCFL-Signature);
- `edge_update`: an edge client's update of one edge round, sent to its station;
- `edge_root`: a station's root over its edge clients' inclusion leaves of one global round.
"""
from __future__ import annotations

import string
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

TEMPLATES: dict[str, str] = {
    "update": "hcfl-update:{chainId}:{contract}:{roundId}:{globalRound}:{updateHash}:{samples}:{accuracyBps}",
    "download": "hcfl-download:{chainId}:{contract}:{roundId}",
    "edge_update": "hcfl-edge-update:{chainId}:{contract}:{station}:{roundId}:{globalRound}:{edgeRound}:{updateHash}:{samples}",
    "edge_root": "hcfl-edge-root:{chainId}:{contract}:{station}:{roundId}:{globalRound}:{root}:{samples}",
}
ADDRESS_FIELDS = frozenset({"contract", "station"})
HEX_FIELDS = frozenset({"updateHash", "root"})


class SignatureError(ValueError):
    """A signature that is not 65 bytes of hex, or does not recover to any address."""


def fields_of(name: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(TEMPLATES[name]) if f]


def _norm(field: str, value: Any) -> str:
    if field in ADDRESS_FIELDS:
        if not isinstance(value, str) or not is_address(value):
            raise ValueError(f"{field} is not a 20-byte hex address: {value!r}"[:200])
        return to_checksum_address(value)
    if field in HEX_FIELDS:
        text = str(value).lower()
        return text if text.startswith("0x") else "0x" + text
    return str(int(value))


def render(name: str, **values: Any) -> str:
    """The text of message `name` with every field normalised (a missing or extra field is a TypeError)."""
    wanted = fields_of(name)
    if set(values) != set(wanted):
        raise TypeError(f"message {name} takes {wanted}, got {sorted(values)}")
    return TEMPLATES[name].format(**{f: _norm(f, values[f]) for f in wanted})


def update_message(chain_id: int, contract: str, round_id: int, global_round: int, update_hash: str, samples: int,
                   accuracy_bps: int) -> str:
    return render("update", chainId=chain_id, contract=contract, roundId=round_id, globalRound=global_round,
                  updateHash=update_hash, samples=samples, accuracyBps=accuracy_bps)


def download_message(chain_id: int, contract: str, round_id: int) -> str:
    return render("download", chainId=chain_id, contract=contract, roundId=round_id)


def edge_update_message(chain_id: int, contract: str, station: str, round_id: int, global_round: int,
                        edge_round: int, update_hash: str, samples: int) -> str:
    return render("edge_update", chainId=chain_id, contract=contract, station=station, roundId=round_id,
                  globalRound=global_round, edgeRound=edge_round, updateHash=update_hash, samples=samples)


def edge_root_message(chain_id: int, contract: str, station: str, round_id: int, global_round: int, root: str,
                      samples: int) -> str:
    return render("edge_root", chainId=chain_id, contract=contract, station=station, roundId=round_id,
                  globalRound=global_round, root=root, samples=samples)


def sign(account: LocalAccount, message: str) -> str:
    """EIP-191 personal_sign of `message`: 0x-hex of the 65-byte signature."""
    return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


def recover_signer(message: str, signature: str) -> str:
    """The checksummed address that personal_sign'ed `message`; SignatureError for a malformed signature."""
    text = str(signature).strip()
    if text.startswith(("0x", "0X")):
        text = text[2:]
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise SignatureError("signature is not hex") from None
    if len(raw) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(raw)}")
    try:
        return to_checksum_address(Account.recover_message(encode_defunct(text=message), signature=raw))
    except Exception as exc:  # noqa: BLE001 - eth_keys raises several types for bad (r, s, v)
        raise SignatureError(f"invalid signature: {type(exc).__name__}") from None
