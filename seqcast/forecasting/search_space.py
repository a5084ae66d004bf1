"""Where ``--model auto`` searches: which series score the candidates, the validation
origins inside them, and the windows and differencing the candidates may take.
"""

from __future__ import annotations

from ..data.io import Panel
from .defaults import MIN_TRAIN_WINDOWS, resolve_diff

MAX_ORIGINS = 120  # validation origins per series, spread evenly when there are more


def searched(panel: Panel) -> tuple[Panel, list]:
    """The series a search scores candidates on, and the ones it leaves out: a series shorter
    than half the median series would shrink every candidate's window and the validation
    region of all (one origin per series, with a 30-step series among 200-step ones). The
    chosen models are still refitted on every series, and forecast it."""
    lengths = sorted(len(s) for s in panel)
    half = lengths[len(lengths) // 2] / 2
    young = [s for s in panel if len(s) < half]
    return Panel(panel.source, panel.freq, tuple(s for s in panel if len(s) >= half)), young


def validation_origins(panel: Panel, horizon: int, folds: int, season: int,
                       valid_frac: float = 0.2):
    """Origins one step apart over the last ``valid_frac`` of each series, and at least its
    last ``folds`` horizons (the last origin leaves exactly one horizon); fewer horizons when
    a series is too short to fit anything before them (at least one; room for two seasons
    before them is kept only where the series could give it); at most
    ``MAX_ORIGINS``, evenly spread. Many overlapping origins score more steadily than a few.
    Each series takes its own region, but none leaves less before it than the shortest
    series does: a short series among long ones no longer cuts every series to one origin,
    and the candidates' windows keep the room they had."""
    def region(n: int) -> int:
        # Room for windows of two seasons before the region, where even a region of one
        # horizon leaves it; a series shorter than that has shorter windows anyway.
        seasons = 2 * season if n - horizon >= 2 * season + horizon + MIN_TRAIN_WINDOWS else 0
        need = max(seasons, 8) + horizon + MIN_TRAIN_WINDOWS
        r = max(folds * horizon, int(valid_frac * n))
        return max(min(r, n - need), horizon)  # one step apart: any length will do

    shortest = min(len(s) for s in panel)
    floor = shortest - region(shortest)  # the training part of the shortest series
    out = {}
    for s in panel:
        span = min(region(len(s)), len(s) - floor) - horizon
        stride = -(-(span + 1) // MAX_ORIGINS)  # ARIMA and ETS forecast origin by origin
        out[s.id] = list(range(len(s) - horizon - span, len(s) - horizon + 1))[::-1][::stride][::-1]
    return out


def diff_choices(panel: Panel, season: int, valid_frac: float) -> list[tuple[int, ...]]:
    """The lags the tests choose on ``panel``'s training parts first, then the usual others."""
    tested = resolve_diff(panel, season, valid_frac)
    others = [(), (1,)] + ([(season,), (1, season)] if season > 1 else [])
    return [tested] + [d for d in others if d != tested]


def input_lens(season: int, horizon: int, room: int) -> list[int]:
    """Windows around the season and horizon that fit in ``room`` steps."""
    wanted = {season, 2 * season, 3 * season, horizon, 2 * horizon, 4 * horizon, 12, 24}
    fits = sorted(L for L in wanted if 2 <= L <= room)
    return fits or [max(2, min(room, 2))]
