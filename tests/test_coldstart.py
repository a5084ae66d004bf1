"""A series the run was not trained on is forecast from its own history."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from test_auto import CLASSICAL, data_cfg, seasonal_panel

from seqcast.cli import main
from seqcast.data.io import Panel
from seqcast.forecasting.auto import fit_auto
from seqcast.forecasting.coldstart import known_ids, with_series
from seqcast.pipeline import make_config


def panel_file(path, ids, scale=None):
    frames = []
    for k, name in enumerate(ids):
        t = np.arange(120)
        y = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + 5 * k
        frames.append(pd.DataFrame({"store": name, "date": pd.date_range(
            "2000-01-01", periods=120, freq="MS"), "units": y * (scale or {}).get(name, 1)}))
    pd.concat(frames).to_csv(path, index=False)
    return str(path)


def test_a_new_series_in_newer_data_is_forecast_on_its_own_scale(tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "--data", panel_file(tmp_path / "old.csv", ["a", "b"]), "--model",
                 "linear", "--diff", "1", "--epochs", "30", "--intervals", "conformal",
                 "--out", run]) == 0
    new = panel_file(tmp_path / "new.csv", ["a", "b", "c"], {"c": 10.0})  # c: b's shape x 10
    out = tmp_path / "f.csv"
    assert main(["forecast", run, "--data", new, "--level", "80", "--output", str(out)]) == 0
    assert "series 'c' not in" in capsys.readouterr().err
    f = pd.read_csv(out).groupby("id").mean(numeric_only=True)
    assert 5 < f.loc["c", "forecast"] / f.loc["b", "forecast"] < 15
    assert (f["hi-80"] > f["lo-80"]).all()
    width = f["hi-80"] - f["lo-80"]
    assert width["c"] > 3 * width["b"]  # its conformal scale is its own


def test_classical_members_are_fitted_on_a_new_series_alone():
    long = [dataclasses.replace(seasonal_panel(n=150, seed=k).series[0], id=f"s{k}")
            for k in range(2)]
    cfg = make_config("auto", data_cfg(intervals="conformal"))
    ens = fit_auto(Panel("p", "MS", tuple(long)), cfg, CLASSICAL)[0]
    fresh = dataclasses.replace(seasonal_panel(n=150, seed=5).series[0], id="fresh")
    extended = with_series(ens, Panel("p", "MS", (*long, fresh)))
    assert "fresh" in known_ids(extended) and "fresh" not in known_ids(ens)
    q = extended.forecast_quantiles([fresh.values], ["fresh"], [0.1, 0.5, 0.9])
    assert np.isfinite(q).all() and (q[..., 0] < q[..., 2]).all()
    with pytest.raises(ValueError, match="too short"):
        with_series(ens, Panel("p", "MS", (dataclasses.replace(fresh, values=fresh.values[:3],
                                                               index=fresh.index[:3]),)))


def test_a_run_reading_covariates_still_refuses_a_new_series():
    from types import SimpleNamespace

    run = SimpleNamespace(transforms={"a": None}, covariate_scaler=object(), min_history=2)
    panel = Panel("p", "MS", (dataclasses.replace(seasonal_panel(n=30).series[0], id="z"),))
    with pytest.raises(ValueError, match="'z' was not in the training data, and the run reads"
                       " covariates"):
        with_series(run, panel)
