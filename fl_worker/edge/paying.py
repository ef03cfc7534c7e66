"""The edge client's payout thread (`hcfl edge-client --rpc URL`) and `hcfl edge-client claim`.

For every round its station announces: verify the served rule against EdgePayouts, seal and reveal the
cost claim when the rule takes one (--costs), show the announced rule and the expected payout before
training, then the realised payout once the station posted, and claim it with the client's own key.
The logic is hcfl.edge.client_side; this module only drives it and records it in the client's report.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from web3 import Web3

from hcfl.chain.client import ContractRevert
from hcfl.chain.edge_payouts import EdgePayoutsClient
from hcfl.edge.client_side import PayError, PayInfo, claim_payout, cost_params, expected_payout, fetch_proof, seal_and_reveal, verify_rule

log = logging.getLogger("hcfl.edge_client.pay")


def _w3(rpc: str) -> Web3:
    from hcfl.chain.provider import http_web3

    return http_web3(rpc, 60)


def pay_loop(process: Any) -> None:
    """Runs beside training until the process stops; every round of the station once."""
    w3 = _w3(process.rpc)
    done: set[int] = set()
    stop = process.stop
    while not stop.wait(0.5):
        try:
            r = process.http.get("/edge/pay/current")
        except httpx.TransportError:
            continue
        if r.status_code == 404 and "pays no edge rewards" in r.text:
            process.state.paying = False  # training need not wait for terms that never come
            stop.wait(1)  # a station that pays attaches its paymaster once it reached the coordinator, after its cell opened
            continue
        if r.status_code != 200:
            continue
        process.state.paying = True
        try:
            info = PayInfo.model_validate(r.json())
        except ValueError as exc:
            log.error("the station's payout announcement is malformed: %s", str(exc)[:300])
            stop.wait(5)
            continue
        if info.round_id in done:
            continue
        done.add(info.round_id)
        record: dict[str, Any] = {"station": info.station, "rule": info.rule.name, "rule_hash": info.rule_hash}
        process.state.payouts[str(info.round_id)] = record
        try:
            _one_round(process, w3, info, record)
        except PayError as exc:
            record["error"] = str(exc)
            log.error("round %d payout: %s", info.round_id, exc)
        except Exception as exc:  # noqa: BLE001 - a payout failure never stops training
            record["error"] = f"{type(exc).__name__}: {exc}"[:300]
            log.exception("round %d payout failed", info.round_id)
        process._write_report()


def _one_round(process: Any, w3: Web3, info: PayInfo, record: dict[str, Any]) -> None:
    account: LocalAccount = process.account
    contract = EdgePayoutsClient(w3, info.contract)
    rule = verify_rule(contract, info)
    log.info("round %d: station %s announced the %s rule %s (hash %s verified on chain); it splits the station's "
             "HCFLCore reward for the round", info.round_id, info.station, rule.name, rule.model_dump_json(),
             info.rule_hash[:12])
    params = cost_params(rule, process.costs)
    if params is not None:
        folder = process.report.parent if process.report else Path.cwd()
        secret = folder / f"edge-claim-{account.address}-{info.round_id}.json"  # the salt, until revealed
        claim = seal_and_reveal(contract, account, info, params, secret, process.stop)
        record.update(committed_tx=claim.committed_tx, revealed_tx=claim.revealed_tx)
    while info.status == "announced" and not process.stop.wait(0.5):  # until training starts: the terms
        try:
            info = PayInfo.model_validate(process.http.get(f"/edge/pay/{info.round_id}").json())
        except (httpx.TransportError, ValueError) as exc:
            log.debug("terms of round %d not fetched yet: %s", info.round_id, exc)
    wei, how = expected_payout(info, account.address, params, len(info.claims) or 2)
    record.update(expected_wei=wei, expected_how=how)
    log.info("round %d: expected payout %d wei (%s)", info.round_id, wei, how)
    process._write_report()
    got = None
    while not process.stop.wait(0.5):
        try:
            got = fetch_proof(process.http, info.round_id, account.address)
        except httpx.TransportError as exc:  # a busy or restarting station: ask again
            log.debug("proof of round %d not fetched yet: %s", info.round_id, exc)
            continue
        if got is not None:
            break
    if got is None:
        return
    amount = int(got["amount"])
    record.update(amount_wei=amount, root=got.get("root", ""))
    log.info("round %d: realised payout %d wei", info.round_id, amount)
    if amount > 0 and not getattr(process, "auto_claim", True):
        log.info("round %d: not claiming (--no-claim): hcfl edge-client claim --round %d", info.round_id, info.round_id)
    elif amount > 0:
        for attempt in range(5):  # a transient node error must not lose the claim; a revert is final
            try:
                tx = claim_payout(contract, account, info.station, info.key, amount, list(got["proof"]))
                break
            except (PayError, ContractRevert):
                raise
            except Exception as exc:  # noqa: BLE001 - transport errors of web3 come in many kinds
                if attempt == 4:
                    raise
                log.warning("round %d: claim failed (%s); retrying", info.round_id, type(exc).__name__)
                process.stop.wait(2.0 * (attempt + 1))
        record["claim_tx"] = tx
        log.info("round %d: claimed %d wei from EdgePayouts, tx %s", info.round_id, amount, tx)


def claim_once(station_url: str, account: LocalAccount, round_id: int, rpc: str) -> dict[str, Any]:
    """`hcfl edge-client claim`: fetch this client's amount and proof, check it on chain, claim it."""
    with httpx.Client(base_url=station_url.rstrip("/"), timeout=30) as http:
        r = http.get(f"/edge/pay/{round_id}")
        if r.status_code != 200:
            raise PayError(f"GET /edge/pay/{round_id}: HTTP {r.status_code}: {r.text[:200]}")
        info = PayInfo.model_validate(r.json())
        contract = EdgePayoutsClient(_w3(rpc), info.contract)
        verify_rule(contract, info)
        got = fetch_proof(http, round_id, account.address)
    if got is None:
        raise PayError(f"round {round_id} is not settled yet")
    amount = int(got["amount"])
    if amount == 0:
        return {"round_id": round_id, "amount_wei": 0, "claim_tx": None}
    tx = claim_payout(contract, account, info.station, info.key, amount, list(got["proof"]))
    return {"round_id": round_id, "amount_wei": amount, "claim_tx": tx}
