"""The code blocks of README.md and docs/*.md, found and run as a reader would run them.

Every ```python block of a page runs, top to bottom, in one namespace (a later block may use
the names an earlier one defined), in a scratch working directory, with torch seeded and the
default dtype restored afterwards. A block that must not run is preceded by the line
``<!-- no-run: why -->``; the reason is required, and the marker is for blocks that cannot run
here (a GPU, a cluster) or repeat one that runs elsewhere, not for blocks that fail. Fences in
other languages (bash, text, yaml) are not Python and are not run; tests may read them through
:func:`blocks`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
_MARKER = re.compile(r"<!--\s*no-run\b:?\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its page, the line of its opening fence (1-based), language, code,
    and the reason given by a ``<!-- no-run: ... -->`` line right above it (None: it runs)."""

    page: Path
    line: int
    language: str
    code: str
    no_run: str | None


@dataclass(frozen=True)
class PageRun:
    """What running a page's Python blocks left: their namespace, what they printed, and the
    working directory they ran in (files they wrote are there)."""

    namespace: dict
    out: str
    workdir: Path


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, in order."""
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.match(before.strip())
        line = text.count("\n", 0, match.start()) + 1
        no_run = marker.group(1) if marker else None
        found.append(Block(page, line, match.group(1), match.group(2), no_run))
    return found


def python_blocks(page: Path) -> list[Block]:
    """The ```python blocks of ``page`` that run (no ``no-run`` marker)."""
    return [b for b in blocks(page) if b.language == "python" and b.no_run is None]


def run_page(page: Path, workdir: Path) -> PageRun:
    """Run the Python blocks of ``page`` in ``workdir``; tracebacks point at the page's lines."""
    namespace: dict = {"__name__": f"doc_{page.stem}"}
    out = io.StringIO()
    dtype, cwd = torch.get_default_dtype(), Path.cwd()
    os.chdir(workdir)
    torch.manual_seed(0)
    try:
        with contextlib.redirect_stdout(out):
            for block in python_blocks(page):
                code = "\n" * block.line + block.code  # line numbers of the page itself
                exec(compile(code, str(page), "exec"), namespace)  # noqa: S102 - our own docs
    finally:
        os.chdir(cwd)
        torch.set_default_dtype(dtype)
    return PageRun(namespace, out.getvalue(), workdir)
