"""Named datasets. ``chapter15(task)`` gives the chapter's train/valid/test splits."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .io import from_frame
from .synthetic import chapter_series
from .windows import seq2seq_targets, split_input_target

CHAPTER15_TASKS = ("one_step", "ten_step", "seq2seq")
N_SERIES, INPUT_LEN, SEED = 10000, 50, 42
SPLITS = {"train": slice(0, 7000), "valid": slice(7000, 9000), "test": slice(9000, 10000)}


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (B, T, C) and targets ``y`` (B, H) or (B, T', H)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Task:
    """A supervised task: three time-ordered splits plus its shape."""

    name: str
    train: Split
    valid: Split
    test: Split
    input_len: int
    horizon: int


@lru_cache(maxsize=4)
def _series(n_steps: int) -> np.ndarray:
    series = chapter_series(N_SERIES, n_steps, SEED)
    series.flags.writeable = False  # shared by every caller of the cache
    return series


def chapter15(task: str) -> Task:
    """The chapter's data for ``task`` in ``one_step``, ``ten_step``, ``seq2seq``.

    one_step: x (B, 50, 1), y (B, 1); ten_step: y (B, 10); seq2seq: y (B, 50, 10) with
    ``y[:, t, k-1] = series[t+k]``. Train/valid/test are series 0-7000/7000-9000/9000-10000.

    Example:
        >>> chapter15("one_step").train.x.shape
        (7000, 50, 1)
    """
    if task not in CHAPTER15_TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(CHAPTER15_TASKS)}")
    horizon = 1 if task == "one_step" else 10
    series = _series(INPUT_LEN + horizon)
    if task == "seq2seq":
        x, y = series[:, :INPUT_LEN], seq2seq_targets(series, INPUT_LEN, horizon)
    else:
        x, y = split_input_target(series, INPUT_LEN, horizon)
    parts = {k: Split(np.ascontiguousarray(x[s]), np.ascontiguousarray(y[s])) for k, s in SPLITS.items()}
    return Task(task, parts["train"], parts["valid"], parts["test"], INPUT_LEN, horizon)


# --- Real series that installed packages ship (no download) ---------------------------


@dataclass(frozen=True)
class RealDataset:
    """A bundled real series with the settings it is usually forecast with."""

    name: str
    freq: str
    season: int
    horizon: int
    source: str
    description: str


def _yearly(years, values):
    import pandas as pd

    return pd.DataFrame({"time": pd.to_datetime(years.astype(int).astype(str)), "value": values})


def _load_frame(name: str):
    """DataFrame with columns ``time`` and ``value`` (the raw statsmodels data, reshaped)."""
    import pandas as pd
    from statsmodels import datasets as sm

    if name == "sunspots":
        d = sm.sunspots.load_pandas().data
        return _yearly(d["YEAR"], d["SUNACTIVITY"])
    if name == "nile":
        d = sm.nile.load_pandas().data
        return _yearly(d["year"], d["volume"])
    if name == "co2":
        # Weekly with missing weeks: monthly means, the 0-2 empty months interpolated.
        d = sm.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
        return pd.DataFrame({"time": d.index, "value": d.to_numpy()})
    if name == "elnino":
        d = sm.elnino.load_pandas().data  # one row per year, one column per month
        months = d.columns[1:]
        values = d[months].to_numpy().ravel()
        start = f"{int(d['YEAR'].iloc[0])}-01-01"
        time = pd.date_range(start, periods=len(values), freq="MS")
        return pd.DataFrame({"time": time, "value": values})
    if name == "elec_equip":
        from statsmodels.datasets import elec_equip

        d = elec_equip.load().data.iloc[:, 0]
        return pd.DataFrame({"time": d.index, "value": d.to_numpy()})
    if name == "us_gdp":
        d = sm.macrodata.load_pandas().data
        year, quarter = d["year"].astype(int), d["quarter"].astype(int)
        time = pd.PeriodIndex.from_fields(year=year, quarter=quarter, freq="Q").to_timestamp()
        return pd.DataFrame({"time": time, "value": d["realgdp"].to_numpy()})
    raise AssertionError(name)


REAL_DATASETS = {
    d.name: d
    for d in (
        RealDataset("sunspots", "YS-JAN", 11, 11, "statsmodels.datasets.sunspots",
                    "yearly sunspot numbers 1700-2008 (~11-year cycle)"),
        RealDataset("co2", "MS", 12, 12, "statsmodels.datasets.co2",
                    "Mauna Loa CO2 ppm, monthly means of weekly data 1958-2001"),
        RealDataset("nile", "YS-JAN", 1, 5, "statsmodels.datasets.nile",
                    "yearly Nile flow at Aswan 1871-1970"),
        RealDataset("elnino", "MS", 12, 12, "statsmodels.datasets.elnino",
                    "monthly Pacific sea surface temperature 1950-2010"),
        RealDataset("elec_equip", "MS", 12, 12, "statsmodels.datasets.elec_equip",
                    "monthly euro-area electrical equipment orders index 1995-2016"),
        RealDataset("us_gdp", "QS-JAN", 4, 8, "statsmodels.datasets.macrodata",
                    "quarterly US real GDP 1959-2009"),
    )
}


def load_dataset(name: str):
    """The named real series as a validated ``seqcast.data.io.Panel`` (one series, id = name).

    Example:
        >>> panel = load_dataset("co2"); len(panel.series[0])
        526
    """
    if name not in REAL_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid datasets: {', '.join(REAL_DATASETS)}")
    frame = _load_frame(name).rename(columns={"value": name})
    return from_frame(frame, f"dataset {name}", time_col="time", targets=[name])
