"""Series a run was not trained on (a new store in a panel): forecast from their own history.

The networks and ridge models of a run are global: the same weights forecast every series,
each through its own differencing and scaling. A new series gets that transform fitted on
its whole history (a trained series' was fitted on its training part), conformal intervals
its own scale (as MASE scales it), and classical members (ETS, Theta, ARIMA, fitted series
by series) are fitted on it alone. A run that reads covariates refuses new series here
(their static values and categories were scaled and embedded for the trained ones only);
``seqcast forecast`` gives them a baseline instead (``young``).
"""

from __future__ import annotations

import dataclasses


def known_ids(forecaster) -> set[str]:
    """The series ids ``forecaster`` was trained on."""
    if hasattr(forecaster, "members"):
        return set.intersection(*(known_ids(m) for m in forecaster.members))
    if hasattr(forecaster, "inner"):
        return known_ids(forecaster.inner)
    if hasattr(forecaster, "params"):
        return set(forecaster.params)
    return set(forecaster.transforms)


def with_series(forecaster, panel):
    """``forecaster``, also knowing every series of ``panel`` it was not trained on."""
    from ..data.io import Panel, check_length

    new = [s for s in panel if s.id not in known_ids(forecaster)]
    if not new:
        return forecaster
    if getattr(forecaster, "covariate_scaler", None) is not None:
        raise ValueError(f"series {new[0].id!r} was not in the training data, and the run reads"
                         " covariates scaled for its own series only; retrain with it")
    new = Panel(panel.source, panel.freq, tuple(new))
    check_length(new, forecaster.min_history + 1, "the run's input window + differencing + 1")
    return _extend(forecaster, new)


def _extend(forecaster, new):
    from ..data.transforms import SeriesTransform
    from ..metrics import mase_scale
    from .classical import ETSForecaster

    if hasattr(forecaster, "members"):  # an ensemble: each member on its own terms
        return dataclasses.replace(forecaster, members=[
            m if not {s.id for s in new} - known_ids(m) else _extend(m, new)
            for m in forecaster.members])
    if hasattr(forecaster, "inner"):  # conformal: the radii are scaled per series
        season = forecaster.config.data.season
        return dataclasses.replace(forecaster, inner=_extend(forecaster.inner, new), scales={
            **forecaster.scales, **{s.id: mase_scale(s.values, season) for s in new}})
    if isinstance(forecaster, ETSForecaster):
        order = None
        if forecaster.kind == "arima":  # the orders most trained series took
            orders = [tuple(p[:7]) for p in forecaster.params.values()]
            order = max(set(orders), key=orders.count)
        fitted = ETSForecaster.fit(new, forecaster.config, forecaster.kind,
                                   {s.id: list(order) for s in new} if order else None)
        return dataclasses.replace(forecaster, params={**forecaster.params, **fitted.params})
    data = forecaster.config.data
    fresh = {s.id: SeriesTransform.fit(s.values, data.diff, data.scale, data.log) for s in new}
    return dataclasses.replace(forecaster, transforms={**forecaster.transforms, **fresh})
