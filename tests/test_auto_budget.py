"""How ``--model auto`` spends its budget on many or uneven series."""

import dataclasses

import numpy as np
import pytest
from test_auto import CLASSICAL, data_cfg, seasonal_panel

from seqcast.data.io import Panel
from seqcast.forecasting import choice
from seqcast.forecasting.auto import AutoConfig, fit_auto
from seqcast.forecasting.candidates import Candidate
from seqcast.pipeline import make_config


def entry(name, seconds):
    return {"candidate": Candidate("ridge", {"input_len": 2, "diff": [], "scale": True}),
            "mase": 1.0, "seconds": seconds, "fitted": f"searched {name}", "name": name}


@pytest.mark.parametrize("must", [False, True])
def test_a_member_with_no_time_to_refit_is_kept_as_searched(monkeypatch, must):
    monkeypatch.setattr(choice, "_refit_one", lambda full, data, c, seed, *stop: "refitted")
    members = [entry("quick", 0.0), entry("slow", 1e6), entry("quick too", 0.0)]
    deadline = choice.time.perf_counter() + 100
    fitted, weights, kept, used = choice.refit(members, None, None, AutoConfig(), deadline, must)
    if must:  # series left out of the search: only a refit forecasts them
        assert fitted == ["refitted", "refitted"] and kept == []
    else:
        assert fitted == ["refitted", "searched slow", "refitted"] and len(kept) == 1
    assert len(weights) == len(fitted)


def test_uneven_series_leave_the_median_series_its_window():
    """Series of 60 to 150 steps: the window is set by the median series' training part (a
    few short ones train on fewer windows), not the shortest; each series still forecasts."""
    lengths = [90, 100, 110, 150, 150, 150, 150]
    series = tuple(dataclasses.replace(seasonal_panel(n=n, seed=k).series[0], id=f"s{k}")
                   for k, n in enumerate(lengths))
    _, _, metrics = fit_auto(Panel("p", "MS", series), make_config("auto", data_cfg()),
                             CLASSICAL)
    lens = {c["name"].split()[1] for c in metrics["search"]["candidates"]
            if c["kind"] == "ridge" and c["valid_mase"] is not None}
    assert "L=24" in lens and "L=36" in lens  # the shortest alone would leave 12 at most
    assert np.isfinite(metrics["valid"]["mase_mean"])


def test_on_epoch_returning_true_ends_training_with_the_kept_weights():
    from seqcast.forecasting.candidates import fit_candidate

    panel = seasonal_panel()
    c = Candidate("network", {"family": "gru", "input_len": 12, "diff": [1], "scale": True,
                              "train": {"epochs": 50, "patience": 50}})
    seen = []

    def stop_after_third(epoch, record):
        seen.append(epoch)
        return epoch >= 2  # a refit out of time: no exception, a usable model

    f = fit_candidate(panel, data_cfg(), c, 42, stop_after_third)
    assert seen == [0, 1, 2]
    assert np.isfinite(f.forecast_arrays([panel.series[0].values], ["y"])).all()


@pytest.mark.parametrize("must", [False, True])
def test_a_classical_refit_stopped_at_the_deadline_keeps_the_searched_fit(monkeypatch, must):
    """An exact ARIMA fit with the search's orders can outlast the search's estimate (60 days
    of hourly data: 15 s against 2.6 s expected); it stops at the deadline and the member
    stays as the search fitted it, within the budget."""
    deadline = choice.time.perf_counter() + 0.2

    def refit_one(full, data, c, seed, on_epoch, until):
        if c.params.get("input_len") == 3:  # the slow one
            while choice.time.perf_counter() <= until:
                pass
            raise ValueError("out of time")
        return "refitted"

    monkeypatch.setattr(choice, "_refit_one", refit_one)
    slow = {**entry("slow", 0.0), "candidate": Candidate("ridge", {"input_len": 3, "diff": [],
                                                                   "scale": True})}
    fitted, weights, kept, used = choice.refit([entry("quick", 0.0), slow], None, None,
                                               AutoConfig(), deadline, must)
    assert fitted == ["refitted"] if must else ["refitted", "searched slow"]
    assert len(weights) == len(fitted) and choice.time.perf_counter() < deadline + 0.1
    with pytest.raises(ValueError, match="a real error"):  # before the deadline: raised
        monkeypatch.setattr(choice, "_refit_one", lambda *a: (_ for _ in ()).throw(
            ValueError("a real error")))
        choice.refit([entry("any", 0.0)], None, None, AutoConfig(), deadline + 100, must)
