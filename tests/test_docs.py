"""Every ```python block of README.md and docs/*.md runs as written (tests/doc_blocks.py)."""

import pytest
from doc_blocks import PAGES, ROOT, blocks

NAMES = [str(page.relative_to(ROOT)) for page in PAGES]


@pytest.mark.parametrize("page", NAMES)
def test_every_python_block_of_the_page_runs(page, run_doc):
    run_doc(page)


def test_every_no_run_marker_gives_its_reason_and_stands_before_a_python_block():
    marked = [b for page in PAGES for b in blocks(page) if b.no_run is not None]
    for block in marked:
        where = f"{block.page.name}:{block.line}"
        assert block.language == "python", f"{where}: no-run only applies to python blocks"
        assert len(block.no_run.split()) >= 3, f"{where}: say why the block does not run"
    assert len(marked) <= 4, "no-run is for blocks that cannot run here; run the rest"


def test_pages_hold_python_blocks_to_run():
    assert {"README.md", "docs/pde.md", "docs/training.md"} <= set(NAMES)
    assert sum(b.language == "python" for page in PAGES for b in blocks(page)) >= 20
