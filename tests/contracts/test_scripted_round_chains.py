"""The same scripted round passes on the embedded chain and on a spawned anvil node."""
import pytest

from hcfl.chain.provider import connect
from hcfl.chain.scripted_round import run_scripted_round


@pytest.mark.parametrize("chain_kind", ["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def test_scripted_round(chain_kind):
    with connect(chain_kind) as chain:
        r = run_scripted_round(chain)
    # S(0) = 240-145 = 95, S(1) = 250-155 = 95: a tie, so the lower index wins
    assert r.surplus == [95 * 10**9, 95 * 10**9]
    assert r.selected == 0
    assert r.punished  # promised 85%, achieved 82%, both other owners voted to punish
    assert r.solvent
    assert r.final_balance == r.pools["owner_pool"] + r.pools["station_pool"]
    assert sum(r.payments.values()) == r.total_payment
