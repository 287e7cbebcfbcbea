"""What docs/pde.md's examples print holds (tests/test_docs.py runs every page)."""

from doc_blocks import ROOT, python_blocks


def test_pde_guide_reaches_the_errors_it_states(run_doc):
    lines = [line.split() for line in run_doc("docs/pde.md").out.splitlines()]
    errors = {form: float(value) for form, value in lines if form in ("strong", "energy")}
    assert set(errors) == {"strong", "energy"}
    assert errors["strong"] < 5e-2 and errors["energy"] < 1e-3, errors


def test_readme_shows_the_same_user_example():
    example = python_blocks(ROOT / "docs" / "pde.md")[1].code
    assert "def bar() -> Problem:" in example and example in (ROOT / "README.md").read_text()
