"""HCFL: smart-contract crowdfunding for hierarchical federated learning.

``hcfl.mechanism`` is the pure-integer reference of the mechanism, ``hcfl.chain`` the contract
bindings; both are shared by the coordinator (``backend``) and the FL workers (``fl_worker``).
"""
__version__ = "0.1.0"
