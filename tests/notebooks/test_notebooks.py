"""Every notebook in notebooks/ runs top to bottom (committed without outputs)."""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_six_notebooks_are_committed_without_outputs():
    names = [p.stem for p in NOTEBOOKS]
    assert names == [
        "01_quickstart",
        "02_plate_hole",
        "03_inverse",
        "04_symbolic_regression",
        "05_3d",
        "06_load_a_run",
    ]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    if path.stem == "05_3d":
        pytest.importorskip("pyvista")
    # The kernel (and the kinn command a notebook starts) import this checkout's kinn.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own inline backend
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    images = [
        output
        for cell in book.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{path.name} drew no figure"
    out = os.environ.get("KINN_NOTEBOOK_OUTPUTS")
    if out:  # keep the executed notebook to look at its figures
        Path(out).mkdir(parents=True, exist_ok=True)
        nbformat.write(book, Path(out) / path.name)
