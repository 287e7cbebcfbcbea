import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "geometry.md"


def test_user_guide_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    example = next(b for b in blocks if "import" in b)
    exec(compile(example, str(DOC), "exec"), {})
