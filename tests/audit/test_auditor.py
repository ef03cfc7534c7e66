"""The auditor verifies every round it replays, and flags a round whose events were tampered with."""
from __future__ import annotations

import json

import pytest

from backend.auditor import audit, format_report

pytestmark = [pytest.mark.anvil, pytest.mark.filterwarnings("ignore::UserWarning")]


def _tamper_first(name: str, round_id: int, edit):
    def hook(events):
        for e in events:
            if e["name"] == name and e["args"].get("roundId") == round_id:
                edit(e["args"])
                return
        raise AssertionError(f"no {name} event in round {round_id}")

    return hook


def test_every_round_verifies(world):
    session, rounds = world
    report = audit(session.client)
    text = format_report(report)
    assert report.ok, text
    statuses = {r.round_id: r.status for r in report.rounds}
    assert statuses[rounds["pending"]] == "pending"
    assert all(s == "verified" for rid, s in statuses.items() if rid != rounds["pending"]), text
    assert len(report.rounds) == 13 + 5
    assert "ALL VERIFIED" in text
    # the rounds are varied: both payment rules, selections, "none", unfunded, vote outcomes, failed winner
    settled = [r for r in report.rounds if r.settled]
    assert {r.payment_rule for r in settled} == {"paper-random", "posted"}
    assert any(r.selected is not None for r in settled)
    assert any(r.selected is None and not r.unfunded and r.proposals for r in settled)
    assert any(r.unfunded for r in settled)
    assert any(p.status == "committed" and p.penalty > 0 for r in settled for p in r.participants)
    by_id = {r.round_id: r for r in report.rounds}
    assert by_id[rounds["punished"]].punished is True and by_id[rounds["kept"]].punished is False
    assert by_id[rounds["winner_failed"]].punished is True
    assert "round_end_pools" in by_id[rounds["punished"]].checks
    assert "station_rewards" in by_id[rounds["winner_failed"]].checks
    # every settled round was recomputed field by field
    for r in settled:
        if r.proposals:
            assert {"surplus", "selected", "taxes", "payments", "pools_after", "credits.deposits"} <= set(r.checks)
    # books: locked deposits of the pending round, all accounts agree with the contract
    cons = report.conservation
    assert cons.ok and cons.complete
    assert cons.locked_deposits == 12 * 10**9 and cons.locked_bonds == 10**9
    assert cons.balance == cons.accounting_total
    assert cons.deposits_in + cons.bonds_in == (cons.outstanding_credits + cons.withdrawn + cons.pools + cons.escrow
                                                + cons.locked_deposits + cons.locked_bonds)
    assert all(a.ok for a in report.accounts)


def test_json_amounts_are_strings(world):
    session, _ = world
    data = json.loads(json.dumps(audit(session.client).model_dump(mode="json")))
    r = next(r for r in data["rounds"] if r["settled"] and r["selected"] is not None)
    assert isinstance(r["total_payment"], str) and isinstance(r["surplus"][0], str)
    assert isinstance(data["conservation"]["balance"], str)


def test_tampered_claim_is_flagged(world):
    session, rounds = world
    rid = rounds["punished"]

    def edit(args):
        args["cappedClaims"] = [args["cappedClaims"][0] + 10**9]

    report = audit(session.client, tamper=_tamper_first("ClaimsRevealed", rid, edit))
    bad = {r.round_id: r for r in report.rounds if r.status == "mismatched"}
    assert set(bad) == {rid}
    fields = {m.field for m in bad[rid].mismatches}
    assert "surplus" in fields
    assert not report.ok
    assert "MISMATCH" in format_report(report)


def test_tampered_tax_and_salt_are_flagged(world):
    session, rounds = world
    rid = rounds["winner_failed"]
    report = audit(session.client, tamper=_tamper_first("ParticipantSettled", rid, lambda a: a.update(tax=a["tax"] + 1)))
    r = next(r for r in report.rounds if r.round_id == rid)
    assert r.status == "mismatched" and [m.field for m in r.mismatches] == ["taxes"]
    m = r.mismatches[0]
    assert m.expected != m.actual

    report = audit(session.client, tamper=_tamper_first("ClaimsRevealed", rid, lambda a: a.update(salt="0x" + "11" * 32)))
    r = next(r for r in report.rounds if r.round_id == rid)
    assert r.status == "mismatched" and "seed" in {m.field for m in r.mismatches}


def test_tampered_pool_breaks_the_next_round(world):
    session, rounds = world
    first = rounds["settled"][0]["round_id"]

    def edit(args):
        args["ownerPool"] = args["ownerPool"] + 5

    report = audit(session.client, tamper=_tamper_first("PoolsUpdated", first, edit))
    bad = [r.round_id for r in report.rounds if r.status == "mismatched"]
    assert first in bad  # its own pools_after no longer matches the reference


def test_tampered_withdrawal_breaks_the_books(world):
    session, _ = world

    def hook(events):
        for e in events:
            if e["name"] == "Withdrawn":
                e["args"]["amount"] -= 1
                return
        raise AssertionError("no withdrawal")

    report = audit(session.client, tamper=hook)
    assert not report.ok
    assert any(not a.ok for a in report.accounts)
    assert not report.conservation.ok
    assert all(r.status != "mismatched" for r in report.rounds)
