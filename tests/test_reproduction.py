"""The chapter's figures, reproduced with the book's settings (slow: minutes on a CPU)."""

import pytest

from seqcast.experiments import EXPERIMENTS, reproduce

FOUNDATION = ["linear_1", "simple_rnn_1", "deep_rnn", "deep_rnn_dense", "iterative_10",
              "linear_10", "seq2vec_10"]


@pytest.mark.slow
@pytest.mark.parametrize("row", FOUNDATION)
def test_row_within_bound_of_the_book(row):
    (result,) = reproduce([row], epochs=20, seeds=1, device="cpu", progress=False)
    assert result.value <= 1.25 * EXPERIMENTS[row].book


@pytest.mark.parametrize("row", ["naive_1", "naive_10"])
def test_naive_rows_equal_the_book(row):
    (result,) = reproduce([row], epochs=1, seeds=1, device="cpu", progress=False)
    assert abs(result.value - EXPERIMENTS[row].book) < 1e-5
