import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "geometry.md"


def test_user_guide_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    examples = [b for b in blocks if "import" in b]
    assert len(examples) >= 2
    for example in examples:
        exec(compile(example, str(DOC), "exec"), {})
