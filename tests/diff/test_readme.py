"""The README's Networks and Derivatives examples compute what they say."""


def test_the_derivatives_example_gives_a_full_hessian(run_doc):
    scope = run_doc("README.md").namespace
    assert scope["j"].hess.shape == (128, 1, 2, 2)
    assert scope["lap"].shape == (128, 1)
