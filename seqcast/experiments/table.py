"""The chapter's experiments: one row per model the chapter trains, with the book's figure.

``book`` is the validation figure the chapter's companion notebook printed after its last
epoch (``None`` where the book has no figure); it is shown beside ours, never used as ours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import ModelConfig


@dataclass(frozen=True)
class Experiment:
    """One row of ``seqcast reproduce``.

    task: the chapter15 task trained on. strategy: "direct" evaluates the model on the same
    task; "iterative" rolls the one-step model out ``horizon`` times on ``ten_step``.
    """

    id: str
    description: str
    task: str
    model: ModelConfig
    metric: str = "mse"
    lr: float = 1e-3
    strategy: str = "direct"
    book: float | None = None


SEQ2VEC = ModelConfig(name="rnn", hidden_size=20, num_layers=2)
SEQ2SEQ = ModelConfig(name="rnn", hidden_size=20, num_layers=2, horizon=10, output="sequence")

EXPERIMENTS: dict[str, Experiment] = {
    e.id: e
    for e in [
        Experiment("naive_1", "last value", "one_step", ModelConfig(name="naive"), book=0.020211),
        Experiment("linear_1", "Flatten + Dense(1)", "one_step", ModelConfig(name="linear"),
                   book=0.004168),
        Experiment("simple_rnn_1", "SimpleRNN(1), Adam lr 0.005", "one_step",
                   ModelConfig(name="rnn", num_layers=0, head="recurrent"), lr=0.005, book=0.010882),
        Experiment("deep_rnn", "SimpleRNN(20) x2 + SimpleRNN(1)", "one_step",
                   ModelConfig(name="rnn", head="recurrent"), book=0.002911),
        Experiment("deep_rnn_dense", "SimpleRNN(20) x2 + Dense(1)", "one_step", SEQ2VEC,
                   book=0.002624),
        Experiment("iterative_10", "deep_rnn_dense rolled out 10 times", "one_step", SEQ2VEC,
                   strategy="iterative", book=0.027511),
        Experiment("naive_10", "last value repeated", "ten_step",
                   ModelConfig(name="naive", horizon=10), book=0.256974),
        Experiment("linear_10", "Flatten + Dense(10)", "ten_step",
                   ModelConfig(name="linear", horizon=10), book=0.0187),
        Experiment("seq2vec_10", "SimpleRNN(20) x2 + Dense(10)", "ten_step",
                   ModelConfig(name="rnn", horizon=10), book=0.0085),
        Experiment("seq2seq_rnn", "SimpleRNN(20) x2 + TimeDistributed(Dense(10)), Adam lr 0.01",
                   "seq2seq", SEQ2SEQ, "last_time_step_mse", lr=0.01, book=0.0096),
        Experiment("seq2seq_batchnorm",
                   "SimpleRNN(20) + BatchNorm, x2, + TimeDistributed(Dense(10))", "seq2seq",
                   ModelConfig(name="rnn", horizon=10, output="sequence", norm="batch"),
                   "last_time_step_mse", book=0.0164),
        Experiment("seq2seq_layernorm", "LNSimpleRNNCell(20) x2 + TimeDistributed(Dense(10))",
                   "seq2seq", ModelConfig(name="ln_rnn", horizon=10, output="sequence"),
                   "last_time_step_mse", book=0.0121),
        Experiment("seq2seq_lstm", "LSTM(20) x2 + TimeDistributed(Dense(10))", "seq2seq",
                   ModelConfig(name="lstm", horizon=10, output="sequence"), "last_time_step_mse",
                   book=0.008561),
        Experiment("seq2seq_gru", "GRU(20) x2 + TimeDistributed(Dense(10))", "seq2seq",
                   ModelConfig(name="gru", horizon=10, output="sequence"), "last_time_step_mse",
                   book=0.010263),
        Experiment("seq2seq_peephole", "PeepholeLSTMCell(20) x2 + TimeDistributed(Dense(10))",
                   "seq2seq", ModelConfig(name="peephole_lstm", horizon=10, output="sequence"),
                   "last_time_step_mse"),
        Experiment("encoder_decoder_10", "LSTM(20) x2 encoder -> vector -> LSTM(20) x2 decoder"
                   " + Dense(1) per step", "ten_step",
                   ModelConfig(name="lstm", horizon=10, head="decoder")),
        Experiment("conv_gru", "Conv1D(20, kernel 4, stride 2, valid) + GRU(20) x2 + Dense(10)",
                   "seq2seq", dataclasses.replace(SEQ2SEQ, name="conv_gru", kernel_size=4, stride=2,
                                                  padding="valid"),
                   metric="last_time_step_mse", book=0.0080),
        Experiment("wavenet_simple",
                   "8 x causal Conv1D(20, kernel 2, relu), dilations 1-8 x2 + 1x1",
                   "seq2seq", dataclasses.replace(SEQ2SEQ, name="wavenet_simple"),
                   metric="last_time_step_mse", book=0.0072),
        # The book's figure is its broken demo (softmax under MSE, 2 epochs); ours must beat
        # wavenet_simple's 0.0072 instead.
        Experiment("wavenet_full", "gated residual/skip WaveNet, 32 channels, 2 x dilations 1-8",
                   "seq2seq", dataclasses.replace(SEQ2SEQ, name="wavenet", filters=32),
                   metric="last_time_step_mse", book=0.1189),
    ]
}


def select(ids: Sequence[str] | None) -> list[Experiment]:
    """Rows by id in table order; unknown ids raise ``ValueError`` listing the valid ones."""
    if not ids:
        return list(EXPERIMENTS.values())
    unknown = [i for i in ids if i not in EXPERIMENTS]
    if unknown:
        raise ValueError(
            f"unknown experiment id(s): {', '.join(unknown)}; valid ids: {', '.join(EXPERIMENTS)}"
        )
    return [EXPERIMENTS[i] for i in ids]
