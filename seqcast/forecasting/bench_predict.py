"""``seqcast bench --predict``: forecast latency and throughput of deployed models.

For each default recurrent model (its real-series defaults, on co2's settings: 36 inputs, 12
steps ahead, differenced by lags 1 and 12) three paths are timed in the same run, in
interleaved rounds so that a drifting load hits all alike:

- ``eager``: the reference, plain PyTorch: ``torch.nn.GRU``/``LSTM``/``RNN`` and
  ``torch.nn.Linear`` holding the same weights, the forward pass alone on a ready float32
  tensor under ``torch.no_grad`` (no scaling, no differencing, no inverse);
- ``predict``: ``Forecaster.predict``, history in the data's units to forecasts in them;
- ``onnxruntime``: the exported graph (``seqcast.forecasting.export``), the same.

Latency is for one series (p50 and p99 over 2,000 calls per path, in rounds of 100
consecutive calls per path); throughput for 10,000 series in one call (best of 3). Weights
are the untrained initial ones: speed does not depend on their values.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

MODELS = ("gru", "lstm", "rnn")
_TORCH = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}


class PlainRNN(nn.Module):
    """What a user writes in plain PyTorch: torch.nn's recurrent layers, then a linear head."""

    def __init__(self, name: str, ours: nn.Module):
        super().__init__()
        cells = [layer.cell for layer in ours.layers]
        self.rnn = _TORCH[name](cells[0].input_size, cells[0].hidden_size, len(cells),
                                batch_first=True)
        for k, cell in enumerate(cells):  # torch.nn's layout: w_ih, w_hh, b_ih, b_hh
            for attr, w in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                               cell.flat_weights(), strict=True):
                getattr(self.rnn, f"{attr}_l{k}").data.copy_(w)
        self.head = nn.Linear(ours.head.in_features, ours.head.out_features)
        self.head.load_state_dict(ours.head.state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1])  # (B, T, 1) -> (B, horizon)


def _forecaster(name: str):
    from ..config import DataConfig
    from ..data.datasets import load_dataset
    from ..data.transforms import SeriesTransform, split_points
    from ..pipeline import Forecaster, build_forecaster_model, make_config

    data = DataConfig(dataset="co2", task="forecast", freq="MS", horizon=12, season=12,
                      diff=(1, 12))
    config = make_config(name, data, 36)
    s = load_dataset("co2").series[0]
    tf = SeriesTransform.fit(s.values[: split_points(len(s), data.valid_frac)[0]], data.diff)
    model = build_forecaster_model(config).eval()
    return Forecaster(config, model, {s.id: tf}), s.values


def _time(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn()``: CPU time is what a busy shared machine distorts least."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _figures(lat: list, thr: list, batch: int) -> dict:
    wall, cpu = np.array(lat).T
    return {"p50_ms": 1e3 * float(np.percentile(wall, 50)),
            "p99_ms": 1e3 * float(np.percentile(wall, 99)),
            "cpu_p50_ms": 1e3 * float(np.percentile(cpu, 50)),
            "series_per_s": batch / min(t[0] for t in thr),
            "series_per_cpu_s": batch / min(t[1] for t in thr)}


@torch.no_grad()
def bench_model(name: str, calls: int = 2000, batch: int = 10_000, repeats: int = 3,
                block: int = 100) -> dict:
    """One model's figures: latency per path (ms), throughput (series/s) and the ratios.

    Latency: ``calls`` one-series calls per path, in rounds of ``block`` consecutive calls
    per path (a service calling one model repeatedly; ``block=1`` alternates every call, so
    each path finds the caches filled by the others)."""
    import onnxruntime as ort

    from .export import export_onnx

    forecaster, values = _forecaster(name)
    plain = PlainRNN(name, forecaster.model).eval()
    n = forecaster.min_history
    starts = np.random.default_rng(0).integers(0, len(values) - n, batch)
    many = values[starts[:, None] + np.arange(n)]  # (batch, history_len) windows of co2
    one = many[0]
    x_one = torch.randn(1, forecaster.config.model.input_len, 1)
    x_many = torch.randn(batch, forecaster.config.model.input_len, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(forecaster, Path(tmp) / f"{name}.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds_one = {"history": one[None], "series": np.zeros(1, np.int64)}
    feeds_many = {"history": many, "series": np.zeros(batch, np.int64)}
    # the three paths agree before they are timed
    got = session.run(["forecast"], feeds_many)[0][:64]
    np.testing.assert_allclose(got, forecaster.predict(many[:64], [0] * 64), rtol=1e-6)
    paths = {
        "eager": (lambda: plain(x_one), lambda: plain(x_many)),
        "predict": (lambda: forecaster.predict(one), lambda: forecaster.predict(many, [0] * batch)),
        "onnxruntime": (lambda: session.run(["forecast"], feeds_one),
                        lambda: session.run(["forecast"], feeds_many)),
    }
    lat: dict[str, list] = {k: [] for k in paths}
    thr: dict[str, list] = {k: [] for k in paths}
    for single, _ in paths.values():
        for _ in range(50):  # warm-up: caches, allocators, the predictor's arrays
            single()
    for _ in range(max(calls // block, 1)):  # rounds: a block of calls per path in turn
        for k, (single, _) in paths.items():
            lat[k] += [_time(single) for _ in range(block)]
    for _ in range(repeats):
        for k, (_, batched) in paths.items():
            thr[k].append(_time(batched))
    row = {"model": name, "history_len": n, "horizon": forecaster.config.data.horizon}
    for k in paths:
        row[k] = _figures(lat[k], thr[k], batch)
    for k in ("predict", "onnxruntime"):
        row[f"{k}_over_eager_p50"] = row[k]["p50_ms"] / row["eager"]["p50_ms"]
        row[f"{k}_over_eager_cpu_p50"] = row[k]["cpu_p50_ms"] / row["eager"]["cpu_p50_ms"]
    return row


def bench_predict(models=MODELS, calls: int = 2000, batch: int = 10_000, block: int = 100,
                  on_row=None) -> dict:
    """Every model's figures: ``{"rows": [...], "torch", "threads", "batch", "calls", "block"}``."""
    rows = []
    for name in models:
        rows.append(bench_model(name, calls, batch, block=block))
        if on_row is not None:
            on_row(rows[-1])
    return {"rows": rows, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "batch": batch, "calls": calls, "block": block}


def table(result: dict) -> str:
    """The figures as a plain-text table, one line per model and path."""
    lines = [f"forecast speed, one series and {result['batch']:,} series per call"
             f" (torch {result['torch']}, {result['threads']} thread(s))",
             f"{'model':<6} {'path':<12} {'p50 ms':>7} {'p99 ms':>7} {'x eager':>8}"
             f" {'CPU p50 ms':>10} {'x eager':>8} {'series/s':>10} {'per CPU s':>10}"]
    for row in result["rows"]:
        e = row["eager"]
        for k in ("eager", "predict", "onnxruntime"):
            r = row[k]
            lines.append(f"{row['model']:<6} {k:<12} {r['p50_ms']:>7.3f} {r['p99_ms']:>7.3f}"
                         f" {r['p50_ms'] / e['p50_ms']:>8.2f} {r['cpu_p50_ms']:>10.3f}"
                         f" {r['cpu_p50_ms'] / e['cpu_p50_ms']:>8.2f}"
                         f" {r['series_per_s']:>10,.0f} {r['series_per_cpu_s']:>10,.0f}")
    return "\n".join(lines)
