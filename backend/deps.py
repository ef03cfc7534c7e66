"""What the routers share: the coordinator's parts as dependencies, path parameters, the size-limited body
reader, and the one check of a signed download request (model downloads and audit artifacts)."""
# no `from __future__ import annotations`: download_signer builds its header annotations at run time

from dataclasses import dataclass
from typing import Annotated, Callable

from fastapi import Depends, Header, Request
from fastapi import Path as PathParam

from backend.auth import checksum, require_signature
from backend.coordinator import Coordinator
from backend.errors import ApiError
from backend.gateway import ChainGateway
from backend.services.training import TrainingManager
from backend.store import Store
from hcfl.protocol import download_message

OCTET = "application/octet-stream"
OMEGA_PATTERN = r"^0x[0-9a-fA-F]{64}$"


def get_coordinator(request: Request) -> Coordinator:
    return request.app.state.coordinator


def get_gateway(coord: Annotated[Coordinator, Depends(get_coordinator)]) -> ChainGateway:
    return coord.gw


def get_store(coord: Annotated[Coordinator, Depends(get_coordinator)]) -> Store:
    return coord.store


def get_training(coord: Annotated[Coordinator, Depends(get_coordinator)]) -> TrainingManager:
    return coord.training


Coord = Annotated[Coordinator, Depends(get_coordinator)]
Gateway = Annotated[ChainGateway, Depends(get_gateway)]
StoreDep = Annotated[Store, Depends(get_store)]
TrainingDep = Annotated[TrainingManager, Depends(get_training)]
RoundId = Annotated[int, PathParam(description="round id", ge=0, lt=2**64)]
GlobalRound = Annotated[int, PathParam(description="global round g", ge=0, lt=2**32)]


def known_round(gw: ChainGateway, rid: int) -> None:
    if not gw.has_round(rid):
        raise ApiError(404, f"unknown round {rid}")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it (or its declared length) passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class SignedDownload:
    """A download request's signer header and X-HCFL-Signature, checked by `signer` once the route's own
    parameters validated (so a malformed path is a 422 before any 403)."""

    header: str
    address: str
    signature: str

    def signer(self, gw: ChainGateway, rid: int) -> str:
        """The checksummed address in the signer header once X-HCFL-Signature, an EIP-191 signature over
        hcfl.protocol.download_message(chain id, contract, round), recovers to it; 404 for an unknown round,
        403 without the headers or for a signature by someone else, 400 for a malformed signature."""
        known_round(gw, rid)
        if not self.address or not self.signature:
            raise ApiError(403, f"send {self.header} and X-HCFL-Signature (EIP-191 over "
                                "hcfl-download:chainId:contract:round)")
        account = checksum(self.address, self.header)
        require_signature(download_message(gw.chain_id, gw.address, rid), self.signature, account,
                          f"signature does not recover to {self.header}")
        return account


def download_signature(header: str, required: bool = True) -> Callable[..., SignedDownload]:
    """The one dependency of every signed download (models, audit artifacts): reads the headers; with
    `required` False they are optional in the schema and their absence is a 403 that says what to send."""
    Address = Annotated[str, Header(alias=header, max_length=64)]
    Signature = Annotated[str, Header(alias="X-HCFL-Signature", max_length=200)]
    if required:
        def headers(address: Address, signature: Signature) -> SignedDownload:
            return SignedDownload(header, address, signature)
    else:
        def headers(address: Address = "", signature: Signature = "") -> SignedDownload:  # type: ignore[misc]
            return SignedDownload(header, address, signature)
    return headers


StationDownload = Annotated[SignedDownload, Depends(download_signature("X-HCFL-Station", required=False))]
OwnerDownload = Annotated[SignedDownload, Depends(download_signature("X-HCFL-Owner"))]
AccountDownload = Annotated[SignedDownload, Depends(download_signature("X-HCFL-Account"))]
