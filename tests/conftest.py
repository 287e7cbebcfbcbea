import os

import pytest
import torch
from doc_blocks import ROOT, PageRun, run_page

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def f64():
    """Run a test in float64 and restore the default dtype afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture(scope="session")
def run_doc(tmp_path_factory):
    """``run_doc("docs/pde.md") -> PageRun``: a page's Python blocks run once per session
    (tests/doc_blocks.py), shared by the test that every page runs and those that check what
    a page prints."""
    runs: dict = {}

    def run(page: str) -> PageRun:
        if page not in runs:
            workdir = tmp_path_factory.mktemp(page.replace("/", "_").removesuffix(".md"))
            runs[page] = run_page(ROOT / page, workdir)
        return runs[page]

    return run
