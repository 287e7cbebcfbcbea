"""Layout and process hygiene: conf/ and problems/ ship as kinn.conf and kinn.problems, an
installed kinn runs from anywhere, and importing kinn changes nothing in the process."""

import ctypes.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import kinn
import kinn.problems

ROOT = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")


def test_pyproject_lists_every_package_and_maps_conf_and_problems():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "kinn").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert set(tool["packages"]) == on_disk | {"kinn.conf", "kinn.problems"}
    assert tool["package-dir"] == {"kinn.conf": "conf", "kinn.problems": "problems"}
    assert not (ROOT / "kinn" / "conf").exists() and not (ROOT / "kinn" / "problems").exists()


def test_shipped_problem_configs_build_by_target_from_kinn_problems():
    import yaml

    for path in sorted((ROOT / "conf" / "problem").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        assert spec["_target_"] == f"kinn.problems.{path.stem}", path
        assert spec["name"] == path.stem
    assert not hasattr(kinn.problems, "REGISTRY")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from a copy of the source, installed into an empty target folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("kinn", "conf", "problems"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    wheel = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp / "dist"]
    subprocess.run([*map(str, wheel), str(src)], check=True, timeout=300)
    (whl,) = (tmp / "dist").glob("kinn-*.whl")
    site = tmp / "site"
    install = [*pip, "install", "--no-deps", "--no-index", "--target", site, whl]
    subprocess.run(list(map(str, install)), check=True, timeout=300)
    return whl, site


def test_wheel_installs_nothing_but_kinn(installed):
    whl, _ = installed
    names = zipfile.ZipFile(whl).namelist()
    assert {n.split("/")[0] for n in names} == {"kinn", "kinn-0.1.0.dist-info"}
    for shipped in (
        "kinn/conf/config.yaml",
        "kinn/conf/problem/poisson1d.yaml",
        "kinn/conf/trainer/quick.yaml",
        "kinn/conf/hydra/launcher/slurm.yaml",
        "kinn/problems/__init__.py",
        "kinn/problems/data/plate_hole_fem_grid.npz",
        "kinn/problems/data/beam_neohookean_fem.npz",
        "kinn/nn/_native_kan.c",
    ):
        assert shipped in names


def test_installed_kinn_runs_from_another_directory(installed, tmp_path):
    _, site = installed
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    where = subprocess.run(
        [sys.executable, "-c", "import kinn.problems, kinn.conf; print(kinn.problems.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(site / "kinn" / "problems" / "__init__.py")
    run = subprocess.run(
        [
            *(sys.executable, "-m", "kinn", "problem=poisson1d", "model=mlp"),
            *("model.hidden=[4]", "trainer=quick", "trainer.stages.0.steps=2"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "outputs" / "poisson1d").glob("*/*/metrics.json"))) == 1


MMAPPED_AFTER_MALLOC = """
import ctypes, sys
import kinn, kinn.app
libc = ctypes.CDLL("libc.so.6")
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in FIELDS.split()]
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "tune":
    assert kinn.tune_allocator()
before = libc.mallinfo2().hblks
block = libc.malloc(24 << 20)  # above glibc's default mmap threshold, below kinn's
print(libc.mallinfo2().hblks > before)
libc.free(block)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or "libc.so" not in str(ctypes.util.find_library("c")),
    reason="glibc only",
)
def test_importing_kinn_leaves_the_allocator_alone_until_asked():
    def mmapped(mode: str) -> bool:
        out = subprocess.run(
            [sys.executable, "-c", MMAPPED_AFTER_MALLOC, mode],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        return out.stdout.strip() == "True"

    assert mmapped("import")  # glibc's defaults: a 24 MiB block is its own mapping
    assert not mmapped("tune")  # kinn.tune_allocator(): served from the heap


def test_the_kinn_command_tunes_the_allocator_unless_told_not_to(monkeypatch):
    import kinn.__main__ as entry
    import kinn.app

    calls = []
    monkeypatch.setattr(kinn, "tune_allocator", lambda: calls.append("tuned"))
    monkeypatch.setattr(kinn.app, "main", lambda: 0)
    monkeypatch.delenv("KINN_TUNE_MALLOC", raising=False)
    assert entry.main() == 0 and calls == ["tuned"]
    monkeypatch.setenv("KINN_TUNE_MALLOC", "0")
    assert entry.main() == 0 and calls == ["tuned"]


def test_importing_kinn_sets_no_thread_or_openmp_settings():
    code = (
        "import os, torch; n = torch.get_num_threads(); "
        "import kinn, kinn.nn, kinn.train, kinn.pde, kinn.app; "
        "print(n == torch.get_num_threads(), 'OMP_WAIT_POLICY' in os.environ)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.split() == ["True", "False"]
