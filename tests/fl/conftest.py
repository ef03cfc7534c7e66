from __future__ import annotations

import pytest
import torch

from fl_worker.data import Dataset, load_digits, make_synthetic


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    # Tiny models: intra-op threads only add contention on a 2-core machine.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load_digits(seed=0)


@pytest.fixture(scope="session")
def synthetic() -> Dataset:
    return make_synthetic(n_train=400, n_test=200, seed=3)
