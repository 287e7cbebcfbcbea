import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # small problems: one thread is fastest and does not fight other jobs for cores
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
