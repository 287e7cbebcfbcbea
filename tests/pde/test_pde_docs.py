"""The user guide's code runs as written."""

import re
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parents[2] / "docs" / "pde.md"


def test_pde_guide_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 3
    old = torch.get_default_dtype()
    try:
        namespace: dict = {}
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        torch.set_default_dtype(old)
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    errors = {form: float(value) for form, value in lines if form in ("strong", "energy")}
    assert set(errors) == {"strong", "energy"}
    assert errors["strong"] < 5e-2 and errors["energy"] < 1e-3, errors


def test_readme_shows_the_same_user_example():
    readme = (DOC.parents[1] / "README.md").read_text()
    example = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[1]
    assert "def bar() -> Problem:" in example and example in readme
