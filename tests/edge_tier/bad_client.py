"""A misbehaving edge device, as its own process: a plain Flower client (a few lines, as any device would
write one) that joins a station's cell and answers every fit with a bad update.

    python bad_client.py MODE STATION_FLOWER_ADDRESS KEYFILE
MODE: nan (NaN weights), shape (a layer of the wrong shape), signature (signed by another key).
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

import torch  # noqa: E402
from eth_account import Account  # noqa: E402
from flwr.client import Client  # noqa: E402
from flwr.common import Code, FitIns, FitRes, Parameters, Status  # noqa: E402
from flwr.compat.client.app import start_client  # noqa: E402

from fl_worker.models import ModelSpec  # noqa: E402
from fl_worker.wire import decode_state, encode_state, state_hash  # noqa: E402
from hcfl.protocol import edge_update_message, sign  # noqa: E402

mode, address, keyfile = sys.argv[1:4]
account = Account.from_key(open(keyfile).read().strip())
other = Account.create()


class Bad(Client):
    def fit(self, ins: FitIns) -> FitRes:
        c = ins.config
        spec = ModelSpec.model_validate_json(str(c["spec"]))
        state = decode_state(bytes(ins.parameters.tensors[0]), spec)
        key = next(iter(state))
        if mode == "nan":
            state[key] = torch.full_like(state[key], float("nan"))
        elif mode == "shape":
            state[key] = torch.zeros(3, 3)
        body = encode_state(state)
        samples = 50
        message = edge_update_message(int(c["chain_id"]), str(c["contract"]), str(c["station"]), int(c["round_id"]),
                                      int(c["global_round"]), int(c["edge_round"]), state_hash(body), samples)
        signer = other if mode == "signature" else account
        return FitRes(Status(Code.OK, "ok"), Parameters([body], "safetensors"), samples,
                      {"address": account.address, "signature": sign(signer, message)})


try:
    start_client(server_address=address, client=Bad(), insecure=True, max_wait_time=30)
except Exception:  # noqa: BLE001 - the station went away
    pass
