"""`hcfl settle [FILE|-] [--rules v1|v2] [--on-chain] [--chain embedded|anvil|URL]`: settle one round
instance with the paper's mechanism (v1 rules, the default; off chain only) or one campaign (v2 rules, also
on chain: contract v2 is the only contract) given as JSON."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import ValidationError

from hcfl.mechanism.models import Instance, describe_validation_error
from hcfl.mechanism.settle import settle

PREFIX = "hcfl settle: error: "


class SettleInputError(Exception):
    pass


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "settle",
        help="settle a round instance (JSON) with the reference mechanism and print the settlement",
        description="Read a round instance as JSON (FILE, or stdin when FILE is '-' or missing) and print "
        "its settlement as JSON. See docs/mechanism.md.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="instance JSON (default: stdin)")
    parser.add_argument(
        "--rules", choices=("v1", "v2"), default="v1",
        help="mechanism rules: v1 (default; one round instance) or v2 (a campaign: config + rounds)",
    )
    parser.add_argument("--on-chain", action="store_true",
                        help="with --rules v2: run the campaign on a chain (contract v2) and report its outcome")
    parser.add_argument("--chain", default="embedded", metavar="embedded|anvil|URL", help="chain for --on-chain")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    sys.stderr.write(PREFIX + " ".join(message.split()) + "\n")
    return 2


def load_json_object(file: str) -> dict[str, Any]:
    try:
        if file == "-":
            text = sys.stdin.read()
        else:
            with open(file, encoding="utf-8") as fh:
                text = fh.read()
    except OSError as exc:
        raise SettleInputError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettleInputError(f"input is not JSON: {exc}") from exc
    except RecursionError:
        raise SettleInputError("input JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise SettleInputError("input must be a JSON object (a round instance, or a campaign with --rules v2)")
    return data


def load_instance(file: str) -> Instance:
    data = load_json_object(file)
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise SettleInputError(describe_validation_error(exc)) from exc


def run(args: argparse.Namespace) -> int:
    if getattr(args, "rules", "v1") == "v2":
        return run_v2(args)
    if args.on_chain:
        return _fail("--on-chain needs --rules v2: the contract runs the v2 rules (contract v1 was removed)")
    try:
        instance = load_instance(args.file)
    except SettleInputError as exc:
        return _fail(str(exc))
    result = settle(instance).to_json_dict()
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


def run_v2(args: argparse.Namespace) -> int:
    from hcfl.mechanism.v2 import Campaign, RoundEndError, run_campaign

    try:
        data = load_json_object(args.file)
        campaign = Campaign.model_validate(data)
        if args.on_chain:
            result = _v2_on_chain(campaign, args.chain)
        else:
            result = run_campaign(campaign).to_json_dict()
    except SettleInputError as exc:
        return _fail(str(exc))
    except ValidationError as exc:
        return _fail(describe_validation_error(exc))
    except RoundEndError as exc:
        return _fail(str(exc))
    except Exception as exc:  # on chain: OnChainError, a revert (ContractRevert), a failed transaction
        if not args.on_chain:
            raise
        return _fail(f"on chain: {type(exc).__name__}: {exc}")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


def _v2_on_chain(campaign: Any, chain: str) -> dict[str, Any]:
    """Run the campaign on a chain (hcfl.chain.onchain_settle_v2): the chain's outcome, read from the ledger."""
    from tqdm import tqdm

    from hcfl.chain.onchain_settle_v2 import expected_transactions, settle_campaign_on_chain

    with tqdm(total=expected_transactions(campaign), desc="transactions", unit="tx", file=sys.stderr) as bar:
        def progress(fn: str) -> None:
            bar.set_postfix_str(fn, refresh=False)
            bar.update(1)

        return settle_campaign_on_chain(campaign, chain, progress=progress)
