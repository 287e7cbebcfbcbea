"""docs/training.md's code runs as written, and its optimizer comparison holds."""

import re
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def test_training_guide_examples_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the guide writes runs/sine
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 4
    old = torch.get_default_dtype()
    try:
        namespace: dict = {}
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        torch.set_default_dtype(old)
    assert (tmp_path / "runs" / "sine" / "last.pt").is_file()
    printed = [line.split() for line in capsys.readouterr().out.splitlines()]
    loss = {words[0]: float(words[2]) for words in printed if len(words) == 4}
    assert set(loss) == {"lbfgs", "ssbroyden", "gauss_newton"}
    assert loss["ssbroyden"] < 0.2 * loss["lbfgs"] and loss["gauss_newton"] < 1e-3 * loss["lbfgs"]
