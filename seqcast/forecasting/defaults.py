"""Forecasting defaults in one place, for the CLI and the Python API alike.

Sizes and training that work on short real series (hundreds of steps) in about a minute on
2 CPU cores; anything the user passes overrides them. The input window follows the season
and the horizon, and shrinks to what the series' training part can hold.
"""

from __future__ import annotations

# One CPU thread: these models are small, and on a busy 2-core machine a second thread made
# an LSTM epoch ~70x slower (0.19 s vs 13.9 s, measured while other jobs ran).
TRAIN_DEFAULTS = {"epochs": 200, "lr": 3e-3, "patience": 20, "num_threads": 1}
_RECURRENT = ({"hidden_size": 32, "num_layers": 1}, TRAIN_DEFAULTS)
# Families not listed keep their ModelConfig defaults and get TRAIN_DEFAULTS.
MODEL_DEFAULTS: dict[str, tuple[dict, dict]] = {
    "naive": ({}, {"epochs": 1, "num_threads": 1}),
    "seasonal_naive": ({}, {"epochs": 1, "num_threads": 1}),
    "linear": ({}, TRAIN_DEFAULTS),
    **{n: _RECURRENT for n in ("rnn", "lstm", "gru", "ln_rnn", "peephole_lstm", "conv_gru")},
}
VALID_FRAC = 0.2
# Preferred input windows, (season, horizon) -> steps, where a family's differs from
# max(3 * season, 2 * horizon, 12); chosen on training parts only (benchmarks/defaults.py).
INPUT_RULES = {"linear": lambda s, h: max(2 * s, h, 8)}
MIN_TRAIN_WINDOWS = 16  # fewer windows than this cannot fit even a linear model honestly
# Validation origins (one step apart) early stopping wants where the series allows them.
MIN_VALID_WINDOWS = 24


def season_of(freq: str | None) -> int:
    """The usual seasonal period of a pandas frequency (1 when there is none)."""
    if not freq:
        return 1
    base = freq.split("-")[0].lstrip("0123456789").upper()
    periods = {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "W": 52, "D": 7, "B": 5,
               "H": 24}
    return periods.get(base, 1)


def default_horizon(panel, season: int, folds: int = 0, step: int | None = None) -> int:
    """One season ahead, but at most a sixth of the median series, so that the data
    holds validation origins for it (110 weeks: 18 steps, not 52); for a backtest of
    ``folds`` origins ``step`` apart (default: the horizon), a sixth of the median series
    before its first origin (110 weeks, 5 folds: 10 steps)."""
    lengths = sorted(len(s) for s in panel)
    median = lengths[len(lengths) // 2]
    h = max(1, min(max(season, 1), median // 6))
    while folds and h > 1 and (median - (folds - 1) * (step or h) - h) // 6 < h:
        h -= 1
    return h


def horizon_note(panel, data, folds: int = 0, step: int | None = None) -> str:
    """The line that says why the default horizon is shorter than a season (``folds``,
    ``step``: a backtest's, whose data before the first origin is what counts)."""
    median = sorted(len(s) for s in panel)[len(panel) // 2]
    cut = (folds - 1) * (step or data.horizon) + data.horizon if folds else 0
    where = f", {median - cut} before the first backtest origin" if folds else ""
    return (f"horizon: {data.horizon} steps, not a season ({data.season}): at most a sixth of"
            f" the median series ({median} steps{where}), for validation origins; --horizon"
            " sets it")


def default_input_len(season: int, horizon: int, length: int | None = None, span: int = 0,
                      valid_frac: float = VALID_FRAC, preferred: int | None = None) -> int:
    """``preferred`` (default ``max(3 * season, 2 * horizon, 12)``), shrunk so that a series
    of ``length`` steps (its shortest, before any backtest origin) keeps
    ``MIN_TRAIN_WINDOWS`` training windows; never below 2.
    """
    preferred = preferred or max(3 * season, 2 * horizon, 12)
    if length is None:
        return preferred
    n_train = length - int(round(length * valid_frac))
    room = n_train - span - horizon - MIN_TRAIN_WINDOWS + 1  # the largest window that fits
    return int(max(min(preferred, room), 2))


def panel_input_len(lengths, season: int, horizon: int, span: int = 0,
                    valid_frac: float = VALID_FRAC, preferred: int | None = None) -> int:
    """The default window of a panel whose series have ``lengths`` steps (before any backtest
    origin): ``default_input_len`` of its median series, so that a few short series do not
    shrink the window of all (they hold few training windows; the model learns mostly from
    the others and forecasts them too). ``guard.fitted_config`` still shortens it for a
    series too short to be validated and forecast at all; a backtest leaves such a series
    out (``guard.too_short_to_backtest``)."""
    lengths = sorted(lengths)
    return default_input_len(season, horizon, lengths[len(lengths) // 2], span, valid_frac,
                             preferred)


def resolve_diff(panel, season: int, valid_frac: float = VALID_FRAC,
                 holdout: int = 0, log: bool = False) -> tuple[int, ...]:
    """``diff="auto"``: the lags ARIMA's tests pick (KPSS for lag 1, variance for lag s), by
    majority over the first 20 series' training parts (their logarithms for ``log``), of
    those with two steps or more before the holdout (a backtest leaves the others out).

    ``holdout`` steps at the end of each series are never looked at: in a backtest they are
    ``(folds - 1) * step + horizon``, everything from the first origin on.
    """
    import numpy as np

    from ..data.transforms import split_points
    from ..models.arima import choose_differences

    votes: dict[tuple[int, ...], int] = {}
    usable = [s for s in panel if len(s) - holdout >= 2]  # the others are left out anyway
    if not usable:
        s = min(panel, key=len)
        raise ValueError(f"series {s.id!r}: {len(s)} steps leave nothing before the"
                         f" {holdout} held out")
    for s in usable[:20]:
        n = len(s) - holdout
        n_train = split_points(n, valid_frac)[0]
        x = s.values[:n_train]
        d, D = choose_differences(np.log(x) if log and (x > 0).all() else x, season)
        lags = (1,) * d + (season,) * D
        votes[lags] = votes.get(lags, 0) + 1
    return max(votes, key=votes.get)


def data_defaults(panel, data, season: int | None = None, horizon: int | None = None,
                  diff="auto", input_len: int | None = None, folds: int = 0,
                  step: int | None = None, model: str | None = None):
    """``data`` with the season, horizon and differencing filled in as the CLI fills them,
    and the input window: ``(DataConfig, input_len)``.

    ``None`` takes ``data``'s own season and horizon where they are set (not 1), else the
    bundled dataset's, else the frequency's season and ``default_horizon``; ``diff`` is lags,
    ``"none"`` or ``"auto"`` (the tests). ``folds`` > 0: for a backtest of that many folds
    ``step`` apart, whose choices may only look at the data before the first origin.
    ``model`` names the family whose preferred window (``INPUT_RULES``) the default takes.
    ``panel`` may be a DataFrame (``seqcast.data.load.as_panel``).

    Example:
        >>> data, input_len = data_defaults(panel, DataConfig(dataset="co2"))
        >>> make_config("gru", data, input_len)
    """
    import dataclasses

    from ..data.datasets import REAL_DATASETS
    from ..data.load import as_panel

    panel = as_panel(panel, data)  # a DataFrame is read as fit_forecaster will read it
    meta = REAL_DATASETS.get(data.dataset) if data.path is None else None
    given = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)
             if f.name in ("season", "horizon") and getattr(data, f.name) != f.default}
    season = season or given.get("season") or (meta.season if meta else season_of(panel.freq))
    horizon = horizon or given.get("horizon") or (meta.horizon if meta else
                                                   default_horizon(panel, season, folds, step))
    cut = (folds - 1) * (step or horizon) + horizon if folds else 0
    if diff == "auto":
        diff = resolve_diff(panel, season, data.valid_frac, cut, data.log)
    elif diff == "none":
        diff = ()
    rule = INPUT_RULES.get(model)
    input_len = input_len or panel_input_len([len(s) - cut for s in panel], season, horizon,
                                             sum(diff), data.valid_frac,
                                             rule and rule(season, horizon))
    data = dataclasses.replace(data, task="forecast", horizon=horizon, season=season,
                               diff=tuple(diff))
    return data, input_len
