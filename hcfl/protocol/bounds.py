"""The numeric bounds of the protocol (the contract's limits and the coordinator's storage limits)."""
from __future__ import annotations

UINT256_MAX = 2**256 - 1
BPS = 10_000  # basis points: 100 %
MAX_DURATION = 365 * 24 * 3600  # the longest phase a campaign config may set (seconds)
MAX_PROPOSALS = 20  # proposals per round (and per owner at most)
MAX_PRICE = 2**128 - 1  # the largest price a proposal may ask (wei)
SQLITE_INT_LIMIT = 2**63  # sample counts and seeds are stored in SQLite's signed 64-bit integers: values < this
