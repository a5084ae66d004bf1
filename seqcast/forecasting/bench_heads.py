"""``seqcast bench --heads``: the cost of training with a distribution head vs a point model.

For each family, the chapter's ten-step windows (7,000 series of 50 steps, 10 targets) train
the point model (MSE) and the
same family with a quantile head (pinball loss over 3 quantiles), a normal head and a
Student-t head (their NLL), from the same seed. CPU time (``time.process_time``) of whole
training epochs is compared, interleaved over repeats with the best kept, because shared
machines are noisy: each row's ``ratio`` is head / point, measured in the same run.
"""

from __future__ import annotations

import dataclasses
import time

HEADS = {
    "point": {},
    "quantile": {"quantiles": (0.1, 0.5, 0.9)},
    "normal": {"likelihood": "normal"},
    "studentt": {"likelihood": "studentt"},
}
FAMILIES = ("linear", "gru", "lstm", "wavenet")


def _seconds_per_epoch(config, windows) -> float:
    """CPU seconds per epoch of a fresh model trained for ``config.train.epochs`` epochs."""
    from ..pipeline import build_forecaster_model
    from ..train import cpu_threads, fit
    from .losses import loss_for

    model = build_forecaster_model(config)
    loss = loss_for(config.model)
    with cpu_threads(config.train.num_threads):
        start = time.process_time()
        fit(model, windows, None, config.train, progress=False, loss_sum=loss)
        return (time.process_time() - start) / config.train.epochs


def bench_heads(families=FAMILIES, epochs: int = 2, repeats: int = 3, on_row=None) -> dict:
    """CPU seconds per epoch of each head and its ratio to the point model, per family.

    Returns ``{"rows": [{"id", "family", "head", "s_per_epoch", "point_s_per_epoch",
    "ratio"}, ...], "dataset", "windows", "epochs", "repeats"}``.
    """
    from ..config import DataConfig
    from ..data.datasets import chapter15
    from ..pipeline import make_config

    task = chapter15("ten_step")
    windows, horizon, input_len = (task.train.x, task.train.y), task.horizon, task.input_len
    data = DataConfig(dataset="chapter15", task="forecast", horizon=horizon)
    rows = []
    for family in families:
        base = make_config(family, data, input_len, None, {"epochs": epochs})
        configs = {
            head: dataclasses.replace(base, model=dataclasses.replace(base.model, **extra))
            for head, extra in HEADS.items()
        }
        times: dict[str, list[float]] = {head: [] for head in HEADS}
        for _ in range(repeats):  # interleaved, so drifting load hits every head alike
            for head, config in configs.items():
                times[head].append(_seconds_per_epoch(config, windows))
        point = min(times["point"])
        for head in HEADS:
            row = {"id": f"{family}/{head}", "family": family, "head": head,
                   "s_per_epoch": min(times[head]), "point_s_per_epoch": point,
                   "ratio": min(times[head]) / point}
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return {"rows": rows, "dataset": "chapter15 ten_step", "windows": len(windows[0]), "epochs": epochs,
            "repeats": repeats}
