"""docs/training.md's optimizer comparison and run folder hold (tests/test_docs.py runs it)."""


def test_training_guide_writes_its_run_and_the_optimizers_rank_as_stated(run_doc):
    run = run_doc("docs/training.md")
    assert (run.workdir / "runs" / "sine" / "last.pt").is_file()
    printed = [line.split() for line in run.out.splitlines()]
    loss = {words[0]: float(words[2]) for words in printed if len(words) == 4}
    assert set(loss) == {"lbfgs", "ssbroyden", "gauss_newton"}
    assert loss["ssbroyden"] < 0.2 * loss["lbfgs"] and loss["gauss_newton"] < 1e-3 * loss["lbfgs"]
