"""`.ci/run` runs exactly the README's test command, type check included."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "ruff check . && ruff format --check . && mypy kinn && pytest -q" in ci
    assert f"```bash\n{ci}\n```" in (ROOT / "README.md").read_text()
