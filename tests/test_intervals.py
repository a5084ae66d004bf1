"""Heads, losses, scores and the calibration of every interval method on known noise."""

import numpy as np
import pandas as pd
import pytest
import torch

from seqcast.config import DataConfig, ModelConfig, RunConfig
from seqcast.data.io import Panel, Series
from seqcast.forecasting import losses, scores
from seqcast.forecasting.intervals import level_quantiles
from seqcast.models.heads import QuantileHead
from seqcast.pipeline import build_forecaster_model, fit_forecaster, make_config

FAMILIES = ["linear", "rnn", "lstm", "gru", "ln_rnn", "peephole_lstm", "conv_gru", "wavenet",
            "wavenet_simple", "gru_decoder"]


def ar1_panel(n_series=40, length=400, phi=0.6, seed=0, walk=False):
    """Series 10 + x_t, x_t = phi x_{t-1} + e_t (or a random walk), e_t ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_series):
        e = rng.standard_normal(length)
        x = np.zeros(length)
        for t in range(1, length):
            x[t] = (1.0 if walk else phi) * x[t - 1] + e[t]
        out.append(Series(f"s{i}", pd.RangeIndex(length), 10.0 + x))
    return Panel("ar1", None, tuple(out))


def _config(family, strategy, head):
    name, extra = (("gru", {"head": "decoder"}) if family == "gru_decoder" else (family, {}))
    data = DataConfig(dataset="", task="forecast", horizon=4, strategy=strategy)
    return make_config(name, data, 12, {**extra, **head, "hidden_size": 8, "filters": 8})


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("strategy", ["direct", "seq2seq", "iterative"])
def test_every_family_and_strategy_takes_a_head_with_k_outputs_per_step(family, strategy):
    cfg = _config(family, strategy, {"quantiles": (0.1, 0.5, 0.9)})
    try:
        model = build_forecaster_model(cfg)
    except ValueError as exc:  # a family without per-step outputs has no seq2seq
        assert strategy == "seq2seq" and "valid strategies" in str(exc)
        return
    out = model(torch.randn(5, 12, 1))
    h = 1 if strategy == "iterative" else 4
    assert out.shape == ((5, 12, h, 3) if strategy == "seq2seq" else (5, h, 3))
    assert (out.diff(dim=-1) > 0).all()  # quantiles increase without any sorting
    cfg = _config(family, strategy, {"likelihood": "studentt"})
    params = build_forecaster_model(cfg)(torch.randn(5, 12, 1))
    assert params.shape[-1] == 3 and (params[..., 1] > 0).all() and (params[..., 2] > 2).all()


def test_quantiles_cannot_cross_whatever_the_inner_outputs():
    inner = torch.nn.Identity()
    head = QuantileHead(inner, horizon=2, k=4)
    out = head(torch.randn(1000, 8) * 50)  # (B, K*H) -> (B, H, K)
    assert out.shape == (1000, 2, 4) and (out.diff(dim=-1) >= 0).all()


def test_losses_match_torch_distributions_and_the_pinball_definition():
    torch.manual_seed(0)
    mu, y = torch.randn(6, 3), torch.randn(6, 3)
    sigma, df = torch.rand(6, 3) + 0.5, torch.rand(6, 3) * 5 + 2.5
    normal = -torch.distributions.Normal(mu, sigma).log_prob(y).sum()
    assert torch.allclose(losses.normal_nll_sum(torch.stack([mu, sigma], -1), y), normal)
    student = -torch.distributions.StudentT(df, mu, sigma).log_prob(y).sum()
    got = losses.studentt_nll_sum(torch.stack([mu, sigma, df], -1), y)
    assert torch.allclose(got, student, rtol=1e-5)
    for fn, k in ((losses.normal_nll_sum, 2), (losses.studentt_nll_sum, 3),
                  (losses.pinball_sum((0.1, 0.5, 0.9)), 3)):
        # the written-out gradients equal autograd's of the plain formulas (float64)
        p = torch.stack([mu, sigma, df][:k], -1).double().requires_grad_()
        assert torch.autograd.gradcheck(lambda p, fn=fn: fn(p, y.double()), (p,))
    pred = torch.tensor([[[0.0, 1.0]]])  # one step, quantiles 0.1 and 0.9
    # y = 2: errors 2 and 1 above the 0.1 and 0.9 quantiles -> 0.1 * 2 + 0.9 * 1
    assert losses.pinball_sum((0.1, 0.9))(pred, torch.tensor([[2.0]])).item() == pytest.approx(1.1)


def test_crps_from_samples_quantiles_and_closed_form_agree():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((50, 2))
    mean, std = np.zeros((50, 2)), np.full((50, 2), 1.5)
    exact = scores.crps_normal(mean, std, y)
    samples = rng.normal(0, 1.5, size=(50, 4000, 2))
    assert scores.crps_samples(samples, y) == pytest.approx(exact, rel=0.02)
    grid = np.linspace(0.005, 0.995, 199)
    approx = scores.crps_quantiles(scores.normal_quantiles(mean, std, grid), grid, y)
    assert approx == pytest.approx(exact, rel=0.02)


def test_interval_scores_by_hand():
    lo, hi, y = np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]), np.array([[0.5, 2.0]])
    s = scores.interval_scores(lo, hi, y, 80, np.array([2.0]))
    # widths 1, 1; the miss adds (2 / 0.2) * 1 = 10; MSIS = mean(1, 11) / 2
    assert s == {"coverage": 0.5, "width": 1.0, "msis": pytest.approx(3.0)}
    assert level_quantiles([80, 95]) == [0.025, 0.1, 0.9, 0.975]


def _coverage(model, data_kw, epochs, walk=False, n_series=24):
    panel = ar1_panel(n_series=n_series, walk=walk)
    data = DataConfig(dataset="", task="forecast", horizon=3, valid_frac=0.25, test_frac=0.25,
                      **data_kw)
    cfg = make_config("linear", data, 10, model, {"epochs": epochs, "patience": 10,
                                                      "batch_size": 128, "lr": 1e-2})
    _, _, metrics = fit_forecaster(panel, cfg, progress=False)
    test = metrics["test"]
    return {lv: test["intervals"][lv]["coverage"] for lv in ("80", "95")}, test["origins"]


@pytest.mark.parametrize(
    "model, data_kw, epochs",
    [
        ({"quantiles": (0.025, 0.1, 0.5, 0.9, 0.975)}, {}, 40),
        ({"likelihood": "normal"}, {}, 60),
        ({}, {"intervals": "conformal"}, 20),
    ],
    ids=["quantile", "normal", "conformal"],
)
def test_intervals_cover_nominal_on_known_noise(model, data_kw, epochs):
    # AR(1) with N(0, 1) noise; scored on held-out test origins after the validation part
    covered, origins = _coverage(model, data_kw, epochs)
    assert origins >= 2000
    assert abs(covered["80"] - 0.80) <= 0.03 and abs(covered["95"] - 0.95) <= 0.03


@pytest.mark.slow  # ~18 s on a busy 2-core machine; benchmarks/intervals.py covers it too
def test_sample_paths_through_differencing_cover_nominal_on_a_random_walk():
    covered, origins = _coverage({"likelihood": "normal"}, {"diff": (1,)}, 60, walk=True)
    assert origins >= 2000
    assert abs(covered["80"] - 0.80) <= 0.03 and abs(covered["95"] - 0.95) <= 0.03


def test_point_models_say_how_to_get_intervals_and_quantile_heads_their_range():
    panel = ar1_panel(n_series=2, length=80)
    data = DataConfig(dataset="", task="forecast", horizon=2)
    fc, _, _ = fit_forecaster(panel, make_config("linear", data, 8, None, {"epochs": 1}), False)
    with pytest.raises(ValueError, match="point forecasts only.*--quantiles"):
        fc.forecast_quantiles([panel.series[0].values], ["s0"], [0.1, 0.9])
    cfg = make_config("linear", data, 8, {"quantiles": (0.1, 0.5, 0.9)}, {"epochs": 1})
    fc, _, metrics = fit_forecaster(panel, cfg, False)
    assert list(metrics["valid"]["intervals"]) == ["80"]  # 95 needs 0.025 and 0.975
    with pytest.raises(ValueError, match="outside the model's quantiles 0.1,0.5,0.9"):
        fc.forecast(panel, levels=(95,))
    frame = fc.forecast(panel, levels=(80,))
    assert list(frame.columns) == ["id", "time", "forecast", "lo-80", "hi-80"]
    assert (frame["lo-80"] <= frame["forecast"]).all() and (frame["forecast"] <= frame["hi-80"]).all()


def test_old_configs_load_without_the_new_fields():
    raw = RunConfig().to_dict()
    for key in ("quantiles", "likelihood"):
        raw["model"].pop(key)
    raw["data"].pop("intervals")
    cfg = RunConfig.from_dict(raw)
    assert cfg.model.quantiles == () and cfg.model.likelihood == "none"
    assert cfg.data.intervals == "none"
    assert RunConfig.from_dict(RunConfig(model=ModelConfig(quantiles=[0.1, 0.9])).to_dict()) \
        .model.quantiles == (0.1, 0.9)


@pytest.mark.parametrize("bad, match", [
    ({"quantiles": (0.9, 0.1)}, "must increase"),
    ({"quantiles": (0.0, 0.5)}, r"in \(0, 1\)"),
    ({"likelihood": "poisson"}, "unknown likelihood 'poisson'; valid: none, normal, studentt"),
    ({"quantiles": (0.1, 0.9), "likelihood": "normal"}, "not both"),
])
def test_bad_heads_are_one_line_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        make_config("gru", DataConfig(dataset="", task="forecast"), 8, bad)
    with pytest.raises(ValueError, match="unknown intervals 'bootstrap'; valid: none, conformal"):
        make_config("gru", DataConfig(dataset="", task="forecast", intervals="bootstrap"), 8)


def test_readme_interval_example_runs(capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
                if "levels=(80,)" in b and "nile" in b)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "lo-80" in out and "hi-80" in out


def test_conformal_backtest_with_few_calibration_windows_scores_the_levels_it_can_give():
    """Six calibration windows give an 80% interval but not the 0.05/0.95 quantiles of the
    CRPS grid: the backtest scores CRPS on the quantiles the calibration can give instead
    of failing."""
    from seqcast.backtest import backtest

    panel = ar1_panel(n_series=1, length=80)
    data = DataConfig(dataset="", task="forecast", horizon=12, intervals="conformal")
    cfg = make_config("linear", data, 12, None, {"epochs": 2})
    head = ar1_panel(n_series=1, length=56)  # the part before the first of 2 origins
    forecaster, _, _ = fit_forecaster(head, cfg, progress=False)
    assert forecaster.gives(80) and not forecaster.gives(90)
    result = backtest(panel, cfg, folds=2, baselines=("naive",), levels=(80,))
    row = result.models["linear"]
    assert 0 <= row["intervals"]["80"]["coverage"] <= 1 and np.isfinite(row["crps"])


@pytest.mark.parametrize("level, need", [(0.5, 1), (0.8, 4), (0.9, 9), (0.95, 19)])
def test_conformal_says_how_many_windows_a_level_needs_and_that_many_suffice(level, need):
    from seqcast.forecasting.conformal import ConformalForecaster

    assert ConformalForecaster(None, np.ones((need, 2)), {}).radius(level).shape == (2,)
    with pytest.raises(ValueError, match=f"at {100 * level:g}% need at least {need} validation"):
        ConformalForecaster(None, np.ones((need - 1, 2)), {}).radius(level)
    with pytest.raises(ValueError, match=r"there are 10 \(enough for 90% at most\)"):
        ConformalForecaster(None, np.ones((10, 2)), {}).radius(0.95)
