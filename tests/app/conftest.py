import sys
from pathlib import Path

import pytest

from kinn.app import main

HERE = Path(__file__).resolve().parent


@pytest.fixture
def toy_conf(tmp_path):
    """A user config directory with the toy problem (1-D and 2-D) reached by `_target_`."""
    conf = tmp_path / "conf"
    (conf / "problem").mkdir(parents=True)
    (conf / "problem" / "toy1d.yaml").write_text(
        "_target_: app_toy_problem.ToyPoisson\nname: toy1d\ndim: 1\n"
    )
    (conf / "problem" / "toy2d.yaml").write_text(
        "_target_: app_toy_problem.ToyPoisson\nname: toy2d\ndim: 2\n"
    )
    (conf / "model").mkdir()
    (conf / "model" / "tiny_kan.yaml").write_text(
        "defaults:\n  - kan_schema\n  - _self_\n\nname: tiny_kan\nhidden: [6]\ngrid: 5\n"
    )
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return conf


@pytest.fixture
def run_kinn(capsys):
    """``kinn ARGV`` in-process: ``run_kinn(*argv) -> (exit status, stdout, stderr)``."""

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
