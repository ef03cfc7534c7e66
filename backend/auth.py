"""Who sent a request: addresses as the API takes them, and EIP-191 signatures over hcfl.protocol's messages."""
from __future__ import annotations

from eth_utils import is_address, to_checksum_address

from backend.errors import ApiError
from hcfl.protocol import SignatureError, recover_signer


def checksum(address: str, what: str = "address") -> str:
    """`address` checksummed; ApiError(422) naming `what` when it is not a 20-byte hex address."""
    if not isinstance(address, str) or not is_address(address):
        raise ApiError(422, f"{what} is not a 20-byte hex address: {address!r}"[:200])
    return to_checksum_address(address)


def require_signature(message: str, signature: str, signer: str, refusal: str) -> None:
    """ApiError(400) for a malformed signature, ApiError(403, refusal) when it does not recover to `signer`."""
    try:
        recovered = recover_signer(message, signature)
    except SignatureError as exc:
        raise ApiError(400, str(exc)) from None
    if recovered != signer:
        raise ApiError(403, refusal)
