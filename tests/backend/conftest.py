"""A coordinator on the embedded chain, served by uvicorn on a loopback port in a background thread.

Participants reach the chain only through the coordinator's `POST /rpc` (the embedded chain lives in
the coordinator), signing with their own keys; the dev funder's key comes from the test process."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from coord_helpers import ThreadServer
from web3 import Web3

from backend.app import Coordinator, Settings, create_app
from hcfl.chain.v2.client import CoreClient


@dataclass
class Live:
    base: str
    coord: Coordinator
    client: CoreClient  # over POST /rpc
    chain_id: int
    contract: str

    @property
    def funder(self):
        return self.coord.gw.chain.funder


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coord")
    settings = Settings(chain="embedded", db=str(tmp / "coord.sqlite"), data_dir=str(tmp / "data"), poll=0.25,
                        round_timeout=60, static_dir=str(tmp / "no-static"))
    coord = Coordinator.from_settings(settings)
    with ThreadServer(create_app(settings, coordinator=coord)) as server:
        w3 = Web3(Web3.HTTPProvider(f"{server.base}/rpc", request_kwargs={"timeout": 60}))
        client = CoreClient(w3, coord.gw.address)
        yield Live(server.base, coord, client, coord.gw.chain_id, coord.gw.address)
