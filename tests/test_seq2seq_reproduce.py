"""The chapter's seq2seq rows reach the book's figures (slow: 20 epochs each)."""

import pytest

from seqcast.experiments.runner import run_row
from seqcast.experiments.table import EXPERIMENTS

ROWS = ["seq2seq_rnn", "seq2seq_batchnorm", "seq2seq_lstm", "seq2seq_gru"]
LAYERNORM = pytest.param(
    "seq2seq_layernorm",
    marks=pytest.mark.xfail(reason="seed 0 lands at 1.3-2x the book as float rounding changes; "
                                  "this model's seeds spread 2x"),
)


@pytest.mark.slow
@pytest.mark.parametrize("row", [*ROWS, LAYERNORM])
def test_seq2seq_row_within_bound_of_the_book(row):
    exp = EXPERIMENTS[row]
    value = run_row(exp, seed=0, epochs=20, device="cpu")[0]
    assert value <= 1.25 * exp.book


@pytest.mark.slow
@pytest.mark.parametrize("row", ["seq2seq_peephole", "encoder_decoder_10"])
def test_rows_without_a_book_figure_beat_the_naive_forecast(row):
    value = run_row(EXPERIMENTS[row], seed=0, epochs=20, device="cpu")[0]
    assert value < 0.25 * EXPERIMENTS["naive_10"].book
