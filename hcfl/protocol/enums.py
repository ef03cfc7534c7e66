"""IHCFL's enums (contract v2) with their display names: one definition for Python, the API and the UI.

Every member has three spellings: `title` ("AwaitingSettlement", the API's and the UI's name), `label`
("awaiting settlement", for prose) and `slug` ("paper-random", the API's value for rules and roles).
"""
from __future__ import annotations

from enum import IntEnum


class ProtocolEnum(IntEnum):
    @property
    def title(self) -> str:
        return "".join(part.capitalize() for part in self.name.lower().split("_"))

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_slug(cls, slug: str) -> "ProtocolEnum":
        for m in cls:
            if m.slug == slug:
                return m
        raise ValueError(f"unknown {cls.__name__} {slug!r}: use {', '.join(m.slug for m in cls)}")


class Role(ProtocolEnum):
    NONE = 0
    OWNER = 1
    STATION = 2


class Phase(ProtocolEnum):
    NONE = 0
    JOINING = 1
    PROPOSING = 2
    COMMITTING = 3
    REVEALING = 4
    AWAITING_SETTLEMENT = 5
    TRAINING = 6
    VOTE_COMMITTING = 7
    VOTE_REVEALING = 8
    FINISHED = 9


class PaymentRule(ProtocolEnum):
    POSTED = 0
    PAPER_RANDOM = 1


class ShareRule(ProtocolEnum):
    EQUAL = 0
    STAKE = 1
    PROPORTIONAL = 2
    CONTRIBUTION = 3


class CreditReason(ProtocolEnum):
    DEPOSIT_RETURN = 0
    BOND_RETURN = 1
    STATION_REWARD = 2
    BOND_SLASH_SHARE = 3
    VOTE_DEPOSIT_RETURN = 4


class PoolKind(ProtocolEnum):
    OWNER = 0
    STATION = 1


def phase_title(phase: int) -> str:
    """A phase id's display name; the number itself for an id the contract does not define."""
    try:
        return Phase(int(phase)).title
    except ValueError:
        return str(int(phase))
