"""`hcfl audit --rpc URL --contract ADDR [--json] [--from-block N] [--coordinator URL]`: replay every event of an
HCFLCore (contract v2) deployment, recompute each round with the Python reference and check the books (and,
with --coordinator, recompute the published inclusion manifests against the chain's training reports).

The audit is backend.audit_v2 (over the event ledger). Exit status: 0 when every settled round is verified and
the books balance (a surplus of forced ether is reported, not a failure), 1 on any mismatch or when the
address is not an HCFLCore deployment on that node."""
from __future__ import annotations

import argparse
import json
import logging
import sys

log = logging.getLogger(__name__)


class AuditSetupError(Exception):
    """The node or the address cannot be audited (no node, no code, not HCFLCore)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="recompute every round of a deployment from its events and check the books")
    p.add_argument("--rpc", required=True, help="JSON-RPC URL of the node (e.g. http://127.0.0.1:8545)")
    p.add_argument("--contract", help="address of the HCFL deployment (optional with --edge-settlement only)")
    p.add_argument("--from-block", type=int, default=0,
                   help="first block to replay (default 0; the books are only fully checked from the deployment)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (amounts as decimal strings)")
    p.add_argument("--edge-payouts", metavar="ADDRESS", help="EdgePayouts contract of the stations' edge payouts")
    p.add_argument("--edge-settlement", nargs="+", metavar="FILE",
                   help="published edge settlements (JSON) to recompute and check against --edge-payouts")
    p.add_argument("--coordinator", metavar="URL",
                   help="also recompute the coordinator's inclusion manifests and hold them against the chain's "
                   "training reports (backend.manifest_audit)")
    p.add_argument("--key", metavar="FILE",
                   help="with --coordinator (v2): a file holding the hex private key of a revealed owner or station; "
                   "the contribution scores of the rounds it took part in are recomputed from the published "
                   "validation split and station updates (backend.audit_scores). Or set HCFL_AUDIT_KEY.")
    p.set_defaults(func=run)


def open_core(rpc: str, contract: str):
    """A v2 CoreClient for `contract` on `rpc` if it answers HCFLCore's `counts()` and `accounting()`, else None."""
    from eth_utils import is_address, to_checksum_address
    from web3 import Web3

    from hcfl.chain.v2.client import CoreClient

    if not is_address(contract):
        raise AuditSetupError(f"--contract {contract!r} is not an Ethereum address")
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 60}))
    try:
        int(w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001 - any transport failure means "no node there"
        raise AuditSetupError(f"no EVM node answers at {rpc}: {exc}") from exc
    core = CoreClient(w3, to_checksum_address(contract))
    if not bytes(w3.eth.get_code(core.address)):
        return None
    try:
        core.counts()
        core.accounting()
    except Exception:  # noqa: BLE001 - not an HCFLCore
        return None
    return core


def run_v2(args: argparse.Namespace, core) -> int:
    from backend.audit_v2 import audit_v2, format_report_v2

    report = audit_v2(core, from_block=args.from_block)
    findings = []
    if getattr(args, "coordinator", None):
        from backend.manifest_audit import audit_manifests

        findings = audit_manifests(core, args.coordinator)
    score_findings: list = []
    skipped: list[int] = []
    account = _audit_key(args) if getattr(args, "coordinator", None) else None
    if account is not None:
        from backend.audit_scores import audit_scores

        score_findings, skipped = audit_scores(core, args.coordinator, account)
    if args.json:
        out = report.as_json()
        if args.coordinator:
            out["manifest_findings"] = [f.model_dump() for f in findings]
            out["score_findings"] = [f.model_dump() for f in score_findings]
            out["scores_audited"] = account is not None
            out["scores_skipped_rounds"] = skipped
        print(json.dumps(out, indent=2, default=str))
    else:
        print(format_report_v2(report))
        if args.coordinator:
            print(f"inclusion manifests: {'ok' if not findings else f'{len(findings)} finding(s)'}")
            for f in findings:
                print(f"  round {f.round_id} g={f.global_round} {f.station or ''}: {f.problem}")
            if account is None:
                print("contribution scores: not recomputed (give --key of a revealed owner or station)")
            else:
                print(f"contribution scores: {'ok' if not score_findings else f'{len(score_findings)} finding(s)'}"
                      + (f" (rounds {skipped} skipped: {account.address} did not reveal in them)" if skipped else ""))
                for sf in score_findings:
                    print(f"  round {sf.round_id} {sf.station or ''}: {sf.problem}")
    return 0 if report.ok and not findings and not score_findings else 1


def _audit_key(args: argparse.Namespace):
    """The auditing account from --key FILE or HCFL_AUDIT_KEY (None when neither); never echoes the key."""
    import os
    from pathlib import Path

    from eth_account import Account

    text = Path(args.key).read_text().strip() if getattr(args, "key", None) else os.environ.get("HCFL_AUDIT_KEY", "").strip()
    if not text:
        return None
    try:
        return Account.from_key(text)
    except Exception:  # noqa: BLE001 - eth_keys raises several types
        raise AuditSetupError("--key / HCFL_AUDIT_KEY does not hold a valid hex private key") from None


def run(args: argparse.Namespace) -> int:
    """The deployment's audit, then (with --edge-settlement) the edge payouts' (backend.audit_edge)."""
    edge = getattr(args, "edge_settlement", None)
    if args.contract is None and not edge:
        print("hcfl audit: error: --contract is required", file=sys.stderr)
        return 2
    rc = _run_core(args) if args.contract is not None else 0
    if edge:
        from backend.audit_edge import run_edge

        rc = max(rc, run_edge(args))
    return rc


def _run_core(args: argparse.Namespace) -> int:
    try:
        core = open_core(args.rpc, args.contract)
        if core is None:
            raise AuditSetupError(f"{args.contract} is not an HCFLCore (v2) deployment on {args.rpc} "
                                  "(no code there, or it does not answer counts()/accounting())")
        return run_v2(args, core)
    except (AuditSetupError, OSError) as exc:
        print(f"hcfl audit: error: {exc}", file=sys.stderr)
        return 1
