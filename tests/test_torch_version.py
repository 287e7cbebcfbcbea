"""`import kinn` refuses a torch older than the one it needs, and pyproject promises the same."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import kinn

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("version", ["2.2.0", "2.3.1+cpu", "1.13.1"])
def test_an_older_torch_is_refused_with_both_versions_named(version):
    with pytest.raises(ImportError, match=rf"kinn needs torch >= 2\.4, got {re.escape(version)}"):
        kinn._check_torch(version)


@pytest.mark.parametrize("version", ["2.4.0", "2.4.0a0+git1234", "2.10.1", "2.13.0+cpu", "3.0.0"])
def test_a_recent_torch_passes(version):
    kinn._check_torch(version)


def test_import_kinn_under_an_old_torch_fails_with_one_clear_line():
    code = "import torch; torch.__version__ = '2.2.2'; import kinn"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "ImportError: kinn needs torch >= 2.4, got 2.2.2; pip install 'torch>=2.4'"
    )


def test_pyproject_promises_the_floor_that_import_checks():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (torch_dep,) = [d for d in deps if d.startswith("torch")]
    floor = re.search(r">=([\d.]+)", torch_dep).group(1)
    assert tuple(int(p) for p in floor.split(".")) == kinn._TORCH_MIN
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"torch from {floor} to" in readme
