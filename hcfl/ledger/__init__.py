"""The v2 event ledger: HCFLCore's events folded incrementally into typed records (issue 8, issue 11 item 2).

- `records`: the frozen records (campaigns, rounds, participants, votes, account fund flows);
- `fold`: pure folding of decoded events into those records (no chain access);
- `fetch`: the one fetcher (block cursor, chunks, starts over when a dev chain reverts);
- `outcome`: a round's outcome as the v2 reference prints it, read from the records.
"""
from hcfl.ledger.fetch import LedgerFetcher, ledger_of
from hcfl.ledger.fold import LedgerError, LedgerState, apply, fold, snapshot
from hcfl.ledger.records import Ledger, ParticipantRecord, RoundRecord

__all__ = ["Ledger", "LedgerError", "LedgerFetcher", "LedgerState", "ParticipantRecord", "RoundRecord", "apply",
           "fold", "ledger_of", "snapshot"]
