"""Calendar features from timestamps: sine/cosine pairs of hour of day, day of week, ...

Each feature is a position in a cycle (hour 0..23 of 24, weekday 0..6 of 7, ...), encoded as
``sin(2 pi p / n)`` and ``cos(2 pi p / n)`` so that the end of a cycle sits next to its start.
They are known for any future timestamp, so they are future covariates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

# name -> (position in the cycle, cycle length), both (T,) arrays of a DatetimeIndex
FEATURES = {
    "minute_of_hour": lambda t: (t.minute.to_numpy(), 60),
    "hour_of_day": lambda t: (t.hour.to_numpy() + t.minute.to_numpy() / 60, 24),
    "day_of_week": lambda t: (t.day_of_week.to_numpy(), 7),
    "day_of_month": lambda t: (t.day.to_numpy() - 1, t.days_in_month.to_numpy()),
    "day_of_year": lambda t: (t.day_of_year.to_numpy() - 1, 365.25),
    "week_of_year": lambda t: (t.isocalendar().week.to_numpy(dtype=float) - 1, 52.18),
    "month_of_year": lambda t: (t.month.to_numpy() - 1, 12),
    "quarter_of_year": lambda t: (t.quarter.to_numpy() - 1, 4),
}

# The same positions and cycle lengths in words, for callers that compute the features
# elsewhere (an exported graph's metadata): each gives sin(2*pi*p/n), cos(2*pi*p/n).
FORMULAS = {
    "minute_of_hour": "p = minute (0-59), n = 60",
    "hour_of_day": "p = hour + minute / 60, n = 24",
    "day_of_week": "p = weekday (Monday 0 .. Sunday 6), n = 7",
    "day_of_month": "p = day of the month - 1, n = number of days in that month",
    "day_of_year": "p = day of the year - 1 (1 January: 0), n = 365.25",
    "week_of_year": "p = ISO 8601 week number - 1, n = 52.18",
    "month_of_year": "p = month - 1 (January: 0), n = 12",
    "quarter_of_year": "p = quarter - 1 (January-March: 0), n = 4",
}

# What ``auto`` picks per frequency: the cycles a step of that size can resolve and that
# usually carry a pattern (daily and weekly cycles of hourly data, the year of daily data).
AUTO = {
    "min": ("minute_of_hour", "hour_of_day", "day_of_week"),
    "h": ("hour_of_day", "day_of_week"),
    "D": ("day_of_week", "day_of_year"),
    "B": ("day_of_week", "day_of_year"),
    "W": ("week_of_year",),
    "M": ("month_of_year",),
    "Q": ("quarter_of_year",),
}


def resolve(spec: str | tuple[str, ...] | list[str], freq: str | None) -> tuple[str, ...]:
    """Feature names for ``auto``, ``none`` or a list of names, at frequency ``freq``."""
    if isinstance(spec, str):
        spec = (spec,) if spec in ("auto", "none") else tuple(s for s in spec.split(",") if s)
    spec = tuple(spec)
    if spec in ((), ("none",)):
        return ()
    if freq is None:  # step numbers, or rows without a time column: asked for, not to be had
        raise ValueError("calendar features need timestamps; the data's steps are numbers"
                         " (a step column or the rows), not times")
    if spec == ("auto",):
        names = AUTO.get(_unit(freq), ())
        if "minute_of_hour" in names and pd.Timedelta(to_offset(freq)) > pd.Timedelta("20min"):
            names = names[1:]  # two or fewer positions in the hour: no cycle to encode
        return names
    for name in spec:
        if name not in FEATURES:
            raise ValueError(f"unknown calendar feature {name!r}; valid: auto, none, {', '.join(FEATURES)}")
    return spec


def _unit(freq: str) -> str:
    """The base unit of a pandas frequency: "min", "h", "D", "B", "W", "M", "Q" or "Y"."""
    name = to_offset(freq).rule_code.split("-")[0].rstrip("SE") or "M"
    return {"T": "min", "min": "min", "s": "min", "S": "min", "H": "h", "h": "h", "C": "B",
            "SM": "M", "BM": "M", "BQ": "Q", "A": "Y", "Y": "Y", "BY": "Y"}.get(name, name)


def calendar_features(times: pd.DatetimeIndex, names: tuple[str, ...]) -> np.ndarray:
    """(T, 2 * len(names)) float64: ``[sin, cos]`` of each feature in ``names`` order."""
    cols = []
    for name in names:
        pos, n = FEATURES[name](pd.DatetimeIndex(times))
        angle = 2 * np.pi * np.asarray(pos, dtype=np.float64) / n
        cols += [np.sin(angle), np.cos(angle)]
    return np.stack(cols, axis=1) if cols else np.zeros((len(times), 0))


def column_names(names: tuple[str, ...]) -> list[str]:
    return [f"{n}_{part}" for n in names for part in ("sin", "cos")]


def extend_index(index: pd.DatetimeIndex, freq: str, steps: int) -> pd.DatetimeIndex:
    """``index`` followed by the ``steps`` timestamps after it, continuing ``freq`` (step
    numbers, continuing them, when ``freq`` is None)."""
    if freq is None:
        return pd.Index(np.asarray(index)).append(pd.RangeIndex(index[-1] + 1, index[-1] + 1 + steps))
    after = pd.date_range(index[-1], periods=steps + 1, freq=freq)[1:]
    return pd.DatetimeIndex(index.append(after))
