"""ARIMA / SARIMA baselines through statsmodels, with a small information-criterion search.

The chapter's trend and seasonality section: ARIMA(p, d, q)(P, D, Q)s is what a network
must beat on real series. ``d`` comes from a KPSS test, ``D`` from whether seasonal
differencing shrinks the variance, then (p, q, P, Q) minimise AIC over a small grid.

The orders and coefficients are estimated on the last ``FIT_WINDOW`` steps at most: a
seasonal state-space fit costs seconds per thousand steps at a daily season of 24, and the
grid on two years of hourly data took minutes (and gigabytes) on the whole series, about
40 s on its last 3000 steps, with the same orders and forecasts as good. A 1000-step window
was tried and dropped: on that series its seasonal MA sat on the unit circle and the
forecasts' error grew by a third. Forecasts still filter the whole history.

The seasonal state holds ``s`` steps, and one fit's time grows about with its square: the
airline model took 38 s on 1000 steps at s = 52, over 3 minutes on 3000 steps at s = 96,
and more than 10 minutes at s = 168. A search for a season longer than ``MAX_SEASON``
(hours in a week, days in a year) therefore fits no seasonal terms, nor one for a season
the series does not hold more than twice (80 weeks at s = 52: 22 s for two such series,
for seasonal coefficients fitted on fewer than a season of lag-s pairs); seasonal naive
keeps the season among the baselines, and orders given explicitly are fitted as given.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np

CRITERIA = ("aic", "bic")
FIT_WINDOW = 3000  # the most recent steps that the orders and coefficients are fitted on
MAX_SEASON = 52  # the longest season the search gives seasonal terms (see the module doc)


class OutOfTime(ValueError):
    """A fit stopped at its deadline: one seasonal fit on long series takes seconds."""


def stopper(deadline: float | None):
    """An optimizer callback that stops a statsmodels fit once ``deadline``
    (``time.perf_counter()``) has passed, or None without one."""
    import time

    if deadline is None:
        return None

    def check(_params) -> None:
        if time.perf_counter() > deadline:
            raise OutOfTime("out of time")

    return check


def _sarimax(y, order, seasonal_order, simple_differencing: bool = False, exog=None):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    # SARIMAX adds the trend after differencing: a constant is the mean (d + D = 0) or a
    # drift (d + D = 1), as auto.arima allows; none on twice-differenced series.
    trend = "c" if order[1] + seasonal_order[1] <= 1 else "n"
    return SARIMAX(
        y,
        order=order,
        seasonal_order=seasonal_order,
        trend=trend,
        simple_differencing=simple_differencing,
        exog=exog,
    )


def _quiet():
    # statsmodels sets its own "always" filters when first imported: import it first.
    import statsmodels.tsa.statespace.sarimax  # noqa: F401

    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")  # convergence and frequency chatter from statsmodels
    return ctx


def choose_differences(y: np.ndarray, season: int) -> tuple[int, int]:
    """(d, D): d = 1 when a KPSS test rejects level stationarity at 5%; D = 1 when the
    seasonal difference of the d-differenced series has a smaller variance."""
    from statsmodels.tsa.stattools import kpss

    ctx = _quiet()
    try:  # too short or constant a series has no evidence of a trend: keep d = 0
        d = int(len(y) >= 8 and np.ptp(y) > 0 and kpss(y, regression="c", nlags="auto")[1] < 0.05)
    except (ValueError, OverflowError, ZeroDivisionError):
        d = 0
    finally:
        ctx.__exit__(None, None, None)
    z = np.diff(y, n=d) if d else y
    D = int(season > 1 and len(z) > 3 * season and np.var(z[season:] - z[:-season]) < np.var(z))
    return d, D


@dataclass
class ARIMA:
    """A fitted SARIMA model; ``forecast`` reuses its parameters on any history.

    Example:
        >>> model = ARIMA.fit(y_train, season=12)
        >>> model.forecast(y_until_origin, horizon=12)   # (12,)
    """

    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]
    params: np.ndarray
    aic: float

    @classmethod
    def fit(
        cls,
        y,
        season: int = 1,
        order=None,
        seasonal_order=None,
        max_p: int = 2,
        max_q: int = 2,
        criterion: str = "aic",
        exog=None,
        deadline: float | None = None,
    ) -> ARIMA:
        """Fit given orders, or search p, q <= 2 (p + q <= 3) and P, Q <= 1 (P + Q <= 1).

        Args:
            y: (T,) training series; only its last ``FIT_WINDOW`` steps are fitted on.
            season: seasonal period s (1 for none).
            exog: (T, K) exogenous regressors (future-known covariates), or None.
            deadline: a ``time.perf_counter()`` time after which the search fits no further
                orders and keeps the best so far; a fit still running then stops. The
                search's estimates stand in for the exact fit it has no time for;
                ``OutOfTime`` when no order could be fitted in time.
        """
        import time

        if criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {criterion!r}; valid: {', '.join(CRITERIA)}")
        y = np.asarray(y, dtype=np.float64)[-FIT_WINDOW:]
        exog = None if exog is None else np.asarray(exog)[-len(y):]
        # Seasonal terms are searched for a season of at most MAX_SEASON that the window
        # holds more than twice (lag-s pairs for every seasonal coefficient); else none.
        s = season if 1 < season <= MAX_SEASON and len(y) > 2 * season else 0
        if order is None or seasonal_order is None:
            d, D = choose_differences(y, max(s, 1))
            if order is None:
                grid = [
                    (p, d, q)
                    for p, q in itertools.product(range(max_p + 1), range(max_q + 1))
                    if p + q <= 3
                ]
            else:
                grid = [tuple(order)]
            seasonal = (
                ([(P, D, Q, s) for P, Q in ((0, 0), (1, 0), (0, 1))] if s else [(0, 0, 0, 0)])
                if seasonal_order is None
                else [tuple(seasonal_order)]
            )
        else:
            grid, seasonal = [tuple(order)], [tuple(seasonal_order)]
        # Orders near the airline model (1, d, 1)(0, D, 1)s first, so that a search cut short
        # by its deadline has tried the ones most often chosen.
        candidates = sorted(itertools.product(grid, seasonal), key=lambda c: abs(c[0][0] - 1)
                            + abs(c[0][2] - 1) + (c[1][0] + abs(c[1][2] - 1) if s else 0))
        best, stop = None, stopper(deadline)
        ctx = _quiet()
        try:
            if len(candidates) > 1:
                # Search on the differenced series (same d and D for all, so the criteria
                # compare), about 4x faster than the exact likelihood; refit the winner.
                for o, so in candidates:
                    if best is not None and deadline is not None \
                            and time.perf_counter() > deadline:
                        break  # out of time: the best order so far
                    try:
                        res = _sarimax(y, o, so, True, exog).fit(
                            disp=False, maxiter=50, callback=stop
                        )
                    except OutOfTime:
                        if best is None:
                            raise OutOfTime(f"ARIMA: out of time fitting {o}{so}") from None
                        break
                    except (ValueError, np.linalg.LinAlgError):
                        continue
                    score = getattr(res, criterion)
                    if np.isfinite(score) and (best is None or score < best[0]):
                        best = (score, o, so, np.asarray(res.params))
                if best is None:
                    raise ValueError("no ARIMA model could be fitted to this series")
                candidates = [best[1:3]]
            o, so = candidates[0]
            try:
                if best is not None and deadline is not None and time.perf_counter() > deadline:
                    raise OutOfTime("out of time")
                res = _sarimax(y, o, so, exog=exog).fit(disp=False, maxiter=100, callback=stop)
                params, score = np.asarray(res.params), float(getattr(res, criterion))
            except OutOfTime:
                if best is None:
                    raise OutOfTime(f"ARIMA: out of time fitting {o}{so}") from None
                # The search's estimates stand in for the exact fit: the same parameters
                # on the differenced series, which hardly differ from it.
                params, score = best[3], float(best[0])
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"ARIMA{o}{so} could not be fitted: {exc}") from None
        finally:
            ctx.__exit__(None, None, None)
        return cls(o, so, params, score)

    def forecast(self, history, horizon: int, exog=None) -> np.ndarray:
        """Forecast ``horizon`` steps after ``history`` (T,) with the fitted parameters: (H,).

        ``exog`` (T + horizon, K): the regressors over the history and the horizon, for a
        model fitted with them."""
        ctx = _quiet()
        try:
            y = np.asarray(history, dtype=np.float64)
            past = None if exog is None else exog[: len(y)]
            model = _sarimax(y, self.order, self.seasonal_order, exog=past)
            res = model.filter(self.params)
            ahead = None if exog is None else exog[len(y) : len(y) + horizon]
            return np.asarray(res.forecast(horizon, exog=ahead), dtype=np.float64)
        finally:
            ctx.__exit__(None, None, None)

    def forecast_distribution(self, history, horizon: int, exog=None
                              ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation (H,) of the Gaussian forecast after ``history`` (T,):
        statsmodels' own prediction intervals are mean +/- z * std. ``exog`` as in
        ``forecast``."""
        ctx = _quiet()
        try:
            y = np.asarray(history, dtype=np.float64)
            past = None if exog is None else exog[: len(y)]
            model = _sarimax(y, self.order, self.seasonal_order, exog=past)
            ahead = None if exog is None else exog[len(y) : len(y) + horizon]
            fc = model.filter(self.params).get_forecast(horizon, exog=ahead)
            mean = np.asarray(fc.predicted_mean, dtype=np.float64)
            return mean, np.sqrt(np.maximum(np.asarray(fc.var_pred_mean, dtype=np.float64), 0.0))
        finally:
            ctx.__exit__(None, None, None)
