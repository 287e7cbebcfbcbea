"""The README's Networks and Derivatives examples run as written."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _blocks(section: str) -> list[str]:
    body = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def test_the_networks_and_derivatives_examples_run():
    scope: dict = {}
    blocks = _blocks("Networks (`kinn.nn`)") + _blocks("Derivatives (`kinn.diff`)")
    assert len(blocks) == 3
    for code in blocks:
        exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own docs
    assert scope["j"].hess.shape == (128, 1, 2, 2)
