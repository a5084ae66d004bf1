"""Where the search scores its candidates: validation origins in panels of unequal series."""

import dataclasses

import numpy as np
from test_auto import CLASSICAL, data_cfg, seasonal_panel

from seqcast.data.io import Panel
from seqcast.forecasting.auto import fit_auto
from seqcast.forecasting.search_space import validation_origins
from seqcast.pipeline import make_config


def _panel(lengths):
    return Panel("p", "MS", tuple(
        dataclasses.replace(seasonal_panel(n=n, seed=k).series[0], id=f"s{k}")
        for k, n in enumerate(lengths)))


def test_each_series_keeps_its_own_origins_and_none_leaves_less_than_the_shortest():
    alone = validation_origins(_panel([90]), 6, 3, 12)["s0"]
    origins = validation_origins(_panel([240, 160, 90]), 6, 3, 12)
    assert origins["s2"] == alone  # the shortest: as if it were alone
    assert len(origins["s0"]) > len(origins["s1"]) > len(origins["s2"])
    floor = alone[0]  # steps before the shortest series' first origin
    for o in origins.values():
        assert o[0] >= floor
    lengths = dict(zip(["s0", "s1", "s2"], [240, 160, 90]))
    assert all(o[-1] == lengths[k] - 6 for k, o in origins.items())  # the last leaves one horizon
    equal = validation_origins(_panel([160, 160]), 6, 3, 12)
    assert equal["s0"] == equal["s1"] == validation_origins(_panel([160]), 6, 3, 12)["s0"]


def test_conformal_auto_calibrates_where_a_series_keeps_no_origin_apart():
    """The short series has too few origins to keep any apart from the choice; the others
    calibrate the intervals and it keeps its own scale."""
    cfg = make_config("auto", data_cfg(intervals="conformal"))
    ens, _, metrics = fit_auto(_panel([240, 200, 110]), cfg, CLASSICAL)
    assert metrics["search"]["calibration_origins"] >= 10
    assert set(ens.scales) == {"s0", "s1", "s2"} and min(ens.scales.values()) > 0
    short = _panel([240, 200, 110]).series[2]
    q = ens.forecast_quantiles([short.values], ["s2"], [0.1, 0.5, 0.9])
    assert np.isfinite(q).all() and (q[..., 0] < q[..., 2]).all()


def test_a_season_the_series_cannot_hold_twice_does_not_shrink_its_region_to_one_origin():
    # 80 weekly steps with a yearly season: two seasons (104 steps) never fit before the
    # region, so the region is the usual one instead of a single origin
    short = validation_origins(_panel([80]), 8, 3, 52)["s0"]
    assert len(short) == max(3 * 8, 16) - 8 + 1 and short[-1] == 80 - 8
    # a series that does hold two seasons before its region keeps room for them
    long = validation_origins(_panel([160]), 8, 3, 52)["s0"]
    assert long[0] >= 2 * 52 + 8 + 16


def test_the_region_shrinks_to_what_the_series_spares_not_by_whole_horizons():
    """Six years of monthly data, horizon 12: two seasons, a horizon and 16 training windows
    (52 steps) before the region leave 20 steps, 9 origins one step apart. Shrinking the
    region by whole horizons (36, 24, 12) left 1 origin per series, too few to calibrate
    even an 80% interval on three such series."""
    origins = validation_origins(_panel([72]), 12, 3, 12)["s0"]
    assert origins == list(range(52, 61))
    three = validation_origins(_panel([72, 72, 72]), 12, 3, 12)
    assert sum(map(len, three.values())) == 27
