"""The chapter's models in Keras, on the chapter's data, for comparison with seqcast.

Trains the Keras form of each row with the chapter's settings (Adam, MSE, batch 32, Keras
initialisers) on the arrays ``seqcast.data.chapter15`` gives, for seeds 0..K-1, and reports
the validation figure after the last epoch and the seconds per epoch. This measures what
the book's figure is one draw of: how much the last epoch's validation error varies from
seed to seed in Keras itself, and how fast Keras trains the same model on the same machine.

Needs TensorFlow (not a seqcast dependency)::

    pip install tensorflow-cpu
    python benchmarks/keras_chapter.py --only seq2vec_10,seq2seq_layernorm --seeds 5 \
        --threads 1 --json keras.json

Compare with ``seqcast reproduce --seeds 5 --device cpu --only ...`` on the same machine.

``--start seqcast`` starts Keras from seqcast's initial weights for the same seed and feeds
it seqcast's batch order (the permutation ``fit`` draws each epoch), for the rows built
from SimpleRNN and layer-norm cells: the two then differ only in float rounding and in
their code, so a gap between them on one seed is the code's, not the seed's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from seqcast.data.datasets import chapter15  # noqa: E402  (pure numpy, no torch)


def _models(keras):
    layers = keras.layers

    class LNSimpleRNNCell(layers.Layer):
        """The chapter's cell: SimpleRNNCell without activation, LayerNormalization, tanh."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.state_size = units
            self.output_size = units
            self.simple_rnn_cell = layers.SimpleRNNCell(units, activation=None)
            self.layer_norm = layers.LayerNormalization()

        def build(self, input_shape):
            self.simple_rnn_cell.build(input_shape)
            self.layer_norm.build((input_shape[0], self.state_size))
            super().build(input_shape)

        def call(self, inputs, states):
            outputs, _ = self.simple_rnn_cell(inputs, states)
            outputs = keras.activations.tanh(self.layer_norm(outputs))
            return outputs, [outputs]

    def seq(*body):
        return keras.Sequential([keras.Input(shape=(None, 1)), *body])

    def td10():
        return layers.TimeDistributed(layers.Dense(10))

    rnn = layers.SimpleRNN
    return {
        "simple_rnn_1": (lambda: seq(rnn(1)), "one_step", 0.005),
        "deep_rnn": (lambda: seq(rnn(20, return_sequences=True), rnn(20, return_sequences=True),
                                 rnn(1)), "one_step", 1e-3),
        "deep_rnn_dense": (lambda: seq(rnn(20, return_sequences=True), rnn(20), layers.Dense(1)),
                           "one_step", 1e-3),
        "seq2vec_10": (lambda: seq(rnn(20, return_sequences=True), rnn(20), layers.Dense(10)),
                       "ten_step", 1e-3),
        "seq2seq_rnn": (lambda: seq(rnn(20, return_sequences=True),
                                    rnn(20, return_sequences=True), td10()), "seq2seq", 0.01),
        "seq2seq_batchnorm": (lambda: seq(
            rnn(20, return_sequences=True), layers.BatchNormalization(),
            rnn(20, return_sequences=True), layers.BatchNormalization(), td10()),
            "seq2seq", 1e-3),
        "seq2seq_layernorm": (lambda: seq(
            layers.RNN(LNSimpleRNNCell(20), return_sequences=True),
            layers.RNN(LNSimpleRNNCell(20), return_sequences=True), td10()), "seq2seq", 1e-3),
        "seq2seq_lstm": (lambda: seq(layers.LSTM(20, return_sequences=True),
                                     layers.LSTM(20, return_sequences=True), td10()),
                         "seq2seq", 1e-3),
        "seq2seq_gru": (lambda: seq(layers.GRU(20, return_sequences=True),
                                    layers.GRU(20, return_sequences=True), td10()),
                        "seq2seq", 1e-3),
    }


class _EpochTimer:
    def __init__(self, keras):
        class Timer(keras.callbacks.Callback):
            def on_train_begin(cb, logs=None):
                cb.seconds = []

            def on_epoch_begin(cb, epoch, logs=None):
                cb.start = time.perf_counter()

            def on_epoch_end(cb, epoch, logs=None):
                cb.seconds.append(time.perf_counter() - cb.start)

        self.callback = Timer()


def _start_from_seqcast(keras, model, row_id: str, seed: int) -> None:
    """Copy the initial weights seqcast draws for ``row_id`` and ``seed`` into ``model``."""
    import torch

    from seqcast.experiments.table import EXPERIMENTS
    from seqcast.models import build_model
    from seqcast.seeding import seeded

    with seeded(seed):
        ours = build_model(EXPERIMENTS[row_id].model)

    def numpy(t):
        return t.detach().numpy()

    cells = [layer.cell for layer in getattr(ours, "layers", [])]
    recurrent = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    if not cells or len(cells) != len(recurrent) or not all(
            type(c).__name__ in ("SimpleRNNCell", "LNSimpleRNNCell") for c in cells):
        raise SystemExit(f"--start seqcast covers SimpleRNN and layer-norm rows, not {row_id}")
    with torch.no_grad():
        for cell, layer in zip(cells, recurrent, strict=True):
            target = getattr(layer.cell, "simple_rnn_cell", layer.cell)
            target.kernel.assign(numpy(cell.weight_ih).T)
            target.recurrent_kernel.assign(numpy(cell.weight_hh).T)
            target.bias.assign(numpy(cell.bias_ih))
            if hasattr(layer.cell, "layer_norm"):
                layer.cell.layer_norm.gamma.assign(numpy(cell.norm.weight))
                layer.cell.layer_norm.beta.assign(numpy(cell.norm.bias))
        head = model.layers[-1]
        head = getattr(head, "layer", head)  # TimeDistributed(Dense) or Dense
        head.kernel.assign(numpy(ours.head.weight).T)
        head.bias.assign(numpy(ours.head.bias))


def _seqcast_orders(seed: int, n: int, epochs: int):
    """The permutations ``seqcast.fit`` draws, one per epoch, for ``TrainConfig(seed=seed)``."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return [torch.randperm(n, generator=generator).numpy() for _ in range(epochs)]


def run(ids, seeds: int, epochs: int, threads: int, start: str = "keras") -> dict:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    models = _models(keras)
    unknown = [i for i in ids if i not in models]
    if unknown:
        raise SystemExit(f"no Keras form for {', '.join(unknown)}; have: {', '.join(models)}")
    rows = []
    for row_id in ids:
        build, task_name, lr = models[row_id]
        task = chapter15(task_name)
        values, epoch_s = [], []
        for seed in range(seeds):
            keras.utils.set_random_seed(seed)
            model = build()
            model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=lr))
            timer = _EpochTimer(keras).callback
            if start == "seqcast":
                _start_from_seqcast(keras, model, row_id, seed)
                seconds = []
                for order in _seqcast_orders(seed, len(task.train.x), epochs):
                    model.fit(task.train.x[order], task.train.y[order], batch_size=32,
                              epochs=1, shuffle=False, verbose=0, callbacks=[timer])
                    seconds.extend(timer.seconds)
                timer.seconds = seconds
            else:
                model.fit(task.train.x, task.train.y, batch_size=32, epochs=epochs, verbose=0,
                          callbacks=[timer])
            pred = model.predict(task.valid.x, batch_size=256, verbose=0)
            err = (pred - task.valid.y) ** 2
            value = float(err[:, -1].mean() if task.valid.y.ndim == 3 else err.mean())
            values.append(value)
            epoch_s.append(statistics.median(timer.seconds[1:] or timer.seconds))
            print(f"{row_id} seed {seed}: {value:.6f}  ({epoch_s[-1]:.2f} s/epoch)", flush=True)
        rows.append({"id": row_id, "values": values, "value": statistics.median(values),
                     "seconds_per_epoch": statistics.median(epoch_s), "epochs": epochs})
    return {"rows": rows, "tensorflow": tf.__version__, "keras": keras.__version__,
            "threads": threads, "start": start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="seq2vec_10,seq2seq_layernorm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--start", choices=("keras", "seqcast"), default="keras",
                        help="initial weights and batch order: Keras' own, or seqcast's")
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.only.split(","), args.seeds, args.epochs, args.threads, args.start)
    for row in result["rows"]:
        print(f"{row['id']}: median {row['value']:.6f} over seeds "
              f"{', '.join(f'{v:.6f}' for v in row['values'])}; "
              f"{row['seconds_per_epoch']:.2f} s/epoch")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
