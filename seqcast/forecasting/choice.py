"""Which candidates of a search make the ensemble, and their refit on all the data."""

from __future__ import annotations

import time

import numpy as np

from .candidates import Candidate, fit_candidate, mase


def refit(members, full, data, search, deadline: float, must: bool):
    """Each member refitted on ``full`` (networks with ``search.seeds`` seeds), in order, while
    its refit (about as long as its search fit) fits before ``deadline``. A member that would
    overrun is kept as the search fitted it, on the data before the validation origins (it
    forecasts from any history), unless ``must`` (series left out of the search, which only
    a refit covers): then, after the first, it is left out. A network's refit ends at the
    ``deadline`` with its best epoch so far, a classical one that is still fitting then is
    kept as searched. Returns (fitted, weights, names of the members kept as searched, the
    members used)."""
    fitted, weights, as_searched, used = [], [], [], []
    for entry in members:
        c = entry["candidate"]
        if c.kind == "arima":  # keep the orders the search found; refit the coefficients
            orders = {k: v[:7] for k, v in entry["fitted"].params.items()}
            c = entry["candidate"] = Candidate("arima", {"orders": orders})
        if not must and time.perf_counter() + entry["seconds"] > deadline:
            fitted.append(entry["fitted"])
            weights.append(_weight(entry["mase"]))
            as_searched.append(c.name)
            used.append(entry)
            continue
        seeds = search.seeds if c.kind == "network" else 1
        for k in range(seeds):
            if fitted and time.perf_counter() + entry["seconds"] > deadline:
                break  # no time left for this member: the others carry the ensemble
            try:
                fitted.append(_refit_one(full, data, c, search.seed + 42 + k,
                                         lambda *_: time.perf_counter() > deadline, deadline))
            except ValueError:  # a classical refit stopped at the deadline (an exact fit
                if time.perf_counter() <= deadline:  # with the search's orders can take
                    raise  # longer than the search's, on differenced data, did)
                if must and fitted:
                    break  # as if there had been no time for it
                fitted.append(entry["fitted"])
                as_searched.append(c.name)
            weights.append(_weight(entry["mase"]) / seeds)  # seeds share their member's
            if not any(u is entry for u in used):  # by identity: entries hold arrays
                used.append(entry)
    return fitted, weights, as_searched, used


def _refit_one(full, data, c: Candidate, seed: int, on_epoch, deadline=None):
    """``c`` fitted on ``full`` with the window and differencing it was validated with: a
    windowed model (ridge, network) on the series long enough for them, a series shorter
    than that (one the search left out) then forecast from its own history where it holds
    the window (``coldstart``); else, or when the model reads covariates, it stays unknown
    to this member and ``seqcast forecast`` gives it a baseline (``young``). Fitting on it
    too would shorten the window of every series, or fail."""
    from ..data.io import Panel
    from .coldstart import with_series

    if c.kind not in ("ridge", "network"):  # the classical kinds stop at the ``deadline``
        return fit_candidate(full, data, c, seed, on_epoch, deadline)
    need = c.params["input_len"] + sum(c.params["diff"]) + data.horizon + 1
    long = tuple(s for s in full if len(s) >= need)
    f = fit_candidate(Panel(full.source, full.freq, long), data, c, seed, on_epoch)
    rest = tuple(s for s in full if len(s) < need and len(s) > f.min_history)
    if rest and getattr(f, "covariate_scaler", None) is None:
        f = with_series(f, Panel(full.source, full.freq, rest))
    return f


def choose(ranked, search, truth, scales, deadline, rows):
    """The best k <= ``search.ensemble`` candidates, one per group (model kind or network
    family: diverse members combine better than near copies), whose median (or weighted
    mean, ``search.combine``) forecast scores lowest on the validation origins (``rows`` of
    the candidates' forecasts); with a ``deadline``, after the first, only those whose refit
    (about the time their search fit took) fits in the budget left."""
    left = float("inf") if deadline is None else deadline - time.perf_counter()
    usable, groups = [], set()
    for p in ranked:
        c = p["candidate"]
        if c.group not in groups and p["seconds"] < left:
            usable.append(p)
            groups.add(c.group)
    usable = usable or ranked[:1]  # none fits: the best one, late rather than nothing
    scores = {}
    for k in range(1, min(search.ensemble, len(usable)) + 1):
        scores[str(k)] = mase(combined(usable[:k], search.combine)[rows], truth, scales)
    # A few origins score every k: a larger ensemble within 2% of the best is kept, since
    # medians of good members are steadier than the single winner on so little data.
    best = min(scores.values())
    best_k = max(int(k) for k, v in scores.items() if v <= 1.02 * best)
    return usable[:best_k], scores


def combined(members, combine: str) -> np.ndarray:
    """The members' validation forecasts combined as the ensemble combines them."""
    preds = np.stack([p["pred"] for p in members])
    if combine == "weighted":
        w = np.array([_weight(p["mase"]) for p in members])
        return np.tensordot(w / w.sum(), preds, axes=1)
    return np.median(preds, axis=0)


def _weight(score: float) -> float:
    """A member's weight in a weighted mean: the inverse of its validation MASE."""
    return 1.0 / max(score, 1e-9)
