import pytest
import torch


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)  # torch seeds its generator from the OS at start: same draws each run
    yield


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory):
    """One cache folder for the C kernels built with other flags (narrower vectors): each
    build is keyed by its flags, so the tests that need one share it."""
    return tmp_path_factory.mktemp("native-builds")
