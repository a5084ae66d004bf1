"""``--model auto``: choose models and settings on validation origins, within a time budget.

The search only ever sees the panel it is given (in a backtest, the data before the first
origin), less any series shorter than half the median one (``search_space.searched``; the
chosen models are refitted on those too, a windowed one only where the series holds the
window it was validated with: ``choice._refit_one``) and any shorter than ``2 * horizon +
4`` (left out of the run; ``seqcast forecast`` gives them a baseline). Inside it, the
origins one step apart over the last fifth (``valid_frac``) of each series, and at least
its last ``folds`` horizons, are validation origins; every candidate is fitted on the data
before them and scored by MASE from them: naive, seasonal naive, ETS, Theta, ARIMA, ridge
autoregressions over input windows and differencing, and networks whose family, window,
differencing, scaling, size, learning rate, dropout and strategy Optuna's TPE sampler
proposes (seeded; epochs of unpromising trials pruned by the median rule). The median of
the best k <= ``ensemble`` candidates, k also chosen on the validation origins, is
refitted on the whole panel, with conformal intervals (always, ``intervals`` asked for or
not) from its errors at each series' last validation origins, which the choice does not
read. With covariates, the network and ridge candidates read them (as a single network
does); the others read the target only; with ``log``, the ridge and network candidates
model logarithms. The budget counts wall-clock seconds, search and refit. With ``trials``
set (and the budget not reached) the search is exact; else its trial count depends on the
machine.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from .. import distributed
from ..config import RUNTIME, RunConfig
from ..data.covariate_io import training_covariates
from ..data.io import Panel, check_length, check_positive
from ..metrics import mase_scale
from .candidates import Candidate, fit_candidate, forecasts, head_panel, mase, truth_and_scales
from .choice import choose, combined, refit
from .classical import usable_kinds
from .conformal import calibration_rows, search_conformal
from .defaults import MIN_TRAIN_WINDOWS
from .ensemble import Ensemble
from .search_space import diff_choices, input_lens, searched, validation_origins

FAMILIES = ("linear", "rnn", "lstm", "gru", "conv_gru", "wavenet")
COMBINES = ("median", "weighted")
SEARCH_SHARE = 0.7  # of the budget; the rest is kept for refitting the chosen members
CALIBRATION_SHARE = 0.4  # of the validation origins: calibration kept from the choice


@dataclass(frozen=True)
class AutoConfig:
    """Search settings: ``budget`` seconds (search and refit), the most members
    ``ensemble``, ``seeds`` per network member, ``trials`` (None: until the budget),
    ``folds`` horizons of validation origins at least, the network ``families`` and their
    ``epochs``, whether ARIMA joins the candidates, and whether the classical ones do
    (``classical=False``: networks only, with the linear model also solved in closed form,
    ridge; no baselines, ETS, Theta or ARIMA)."""

    budget: float = 120.0
    ensemble: int = 3
    seeds: int = 1
    seed: int = 0
    trials: int | None = None
    folds: int = 3
    families: tuple[str, ...] = FAMILIES
    epochs: int = 100
    arima: bool = True
    classical: bool = True
    combine: str = "median"  # or "weighted": a mean weighted by 1 / validation MASE

    def __post_init__(self):
        if self.combine not in COMBINES:
            raise ValueError(f"unknown combine {self.combine!r}; valid: {', '.join(COMBINES)}")
        object.__setattr__(self, "families", tuple(self.families))
        bad = [f for f in self.families if f not in FAMILIES]
        if bad:
            raise ValueError(f"unknown family {bad[0]!r}; valid: {', '.join(FAMILIES)}")
        if self.budget <= 0 or self.ensemble < 1 or self.seeds < 1 or self.folds < 1:
            raise ValueError("budget, ensemble, seeds and folds must be positive")
        if not self.classical and not self.families:
            raise ValueError("networks only (classical=False) needs at least one family")

    @classmethod
    def of_run(cls, forecaster, where: str = "the run") -> AutoConfig | None:
        """What a loaded run was searched or ensembled with, to retrain it alike: an auto
        run's recorded settings, an ensemble of K seeds' K, else None."""
        info = getattr(forecaster, "info", None) or {}
        if forecaster.config.model.name == "auto":
            return cls.from_settings(info.get("settings", {}), where)
        seeds = info.get("seeds")
        if isinstance(seeds, list) and len(seeds) > 1:
            return cls(ensemble=len(seeds))
        return None

    @classmethod
    def from_settings(cls, settings, where: str = "the run") -> AutoConfig:
        """The settings a run recorded (``info["settings"]``; defaults for a run that
        recorded none), checked: a one-line ValueError naming ``where`` for anything else."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(settings, dict) or set(settings) - names:
            raise ValueError(f"{where}: its search settings are not {sorted(names)}")
        kinds = {"budget": (int, float), "trials": (int, type(None)), "families": list,
                 "combine": str, "arima": bool, "classical": bool}
        for k, v in settings.items():
            want = kinds.get(k, int)
            if isinstance(v, bool) and want is not bool or not isinstance(v, want):
                raise ValueError(f"{where}: search setting {k} = {v!r} has the wrong type")
        return cls(**settings)


def fit_auto(panel: Panel, config: RunConfig, search: AutoConfig | None = None,
             progress: bool | None = None):
    """Search, then refit the chosen ensemble on all of ``panel``.

    Returns:
        (ConformalForecaster around the Ensemble (``.inner``), History (empty), metrics):
        metrics ``valid`` holds the chosen ensemble's validation MASE and ``search`` what was
        tried (also in ``Ensemble.info``).
    """
    from ..train import History

    if distributed.context().world > 1:  # trials stopped by each rank's clock would desync
        raise ValueError("--model auto searches in one process; run it outside a process group")
    search = search or AutoConfig()
    start = time.perf_counter()
    deadline, search_end = start + search.budget, start + SEARCH_SHARE * search.budget
    data = dataclasses.replace(config.data, task="forecast")
    H, season = data.horizon, data.season
    short = [s for s in panel if len(s) < 2 * H + 4]  # no validation origin: left out
    if short and len(short) < len(panel):
        panel = Panel(panel.source, panel.freq, tuple(s for s in panel if len(s) >= 2 * H + 4))
    check_length(panel, 2 * H + 4, "--model auto: 2 * horizon + 4")
    if data.log:  # --log: the ridge and network candidates model logarithms
        check_positive(panel)
    full, (panel, young) = panel, searched(panel)  # the refit takes every series
    origins = validation_origins(panel, H, search.folds, season, data.valid_frac)
    inner = head_panel(panel, {k: v[0] for k, v in origins.items()})
    truth, scales = truth_and_scales(panel, origins, H, season)
    cal = calibration_rows(origins, CALIBRATION_SHARE)  # conformal: kept from the choice
    sel = ~cal  # the rows that score candidates and choose the ensemble
    covs = training_covariates(panel, data, {s.id: (len(s), len(s)) for s in panel})[0]
    # Window + differencing: the median series keeps MIN_TRAIN_WINDOWS training windows (a
    # few shorter ones train on fewer, as a single model does) and every series can forecast.
    lengths = sorted(len(s) for s in inner)
    shortest, median = lengths[0], lengths[len(lengths) // 2]
    room = min(median - int(round(median * data.valid_frac)) - H - MIN_TRAIN_WINDOWS,
               shortest - H - 1)
    usable = usable_kinds(shortest - int(round(shortest * data.valid_frac)), season)
    usable = [k for k in usable if "seasonal" in k or "winters" in k] + [  # the data's own
        k for k in usable if not ("seasonal" in k or "winters" in k)]  # kinds first
    diffs = diff_choices(inner, season, data.valid_frac)
    lens = input_lens(season, H, room - max(sum(d) for d in diffs))
    pool: list[dict] = []

    grow = sum(map(len, full)) / sum(map(len, inner))  # the refit's data over the search's
    plain = dataclasses.replace(data, intervals="none")  # members: points (intervals below)

    def trial(c: Candidate, on_epoch=None, until: float | None = None) -> float:
        t0 = time.perf_counter()
        try:
            f = fit_candidate(inner, plain, c, search.seed + 42, on_epoch, until or search_end)
            pred = forecasts(f, panel, origins, H, covs)
        except (ValueError, RuntimeError, ArithmeticError) as e:  # a combination that fails
            pool.append({"candidate": c, "mase": float("inf"), "error": str(e)[:200]})
            return float("inf")
        score = mase(pred[sel], truth[sel], scales[sel])
        seconds = time.perf_counter() - t0
        # Refit time: about the search fit's, on more data; ARIMA keeps its orders, one fit
        # of several.
        seconds *= grow / 4 if c.kind == "arima" else grow
        pool.append({"candidate": c, "mase": score, "pred": pred, "fitted": f,
                     "seconds": seconds})
        return score

    # Cheapest first, so that many or long series leave the slow kinds out, not the fast:
    # the baselines, the ridge regressions (closed form), then ETS and Theta (series by
    # series) within half the search time left, then ARIMA, then the networks.
    for c in [Candidate(k) for k in ("naive", "seasonal_naive")[: 1 + (season > 1)]
              ] if search.classical else ():
        trial(c)
    for L in lens:
        for d in diffs:
            if L + sum(d) <= room and time.perf_counter() < search_end:
                trial(Candidate("ridge", {"input_len": L, "diff": list(d), "scale": True,
                                          "log": data.log}))
    smoothing_end = time.perf_counter() + 0.5 * (search_end - time.perf_counter())
    for c in [Candidate("ets", {"ets": k})
              for k in usable] + [Candidate("theta")
              ] if search.classical else ():
        if time.perf_counter() < smoothing_end:
            trial(c, until=smoothing_end)
    # ARIMA's order search, series by series, may take half the time left, the networks the rest
    left = search_end - time.perf_counter()
    if search.arima and search.classical and left > 0.5 * SEARCH_SHARE * search.budget:
        trial(Candidate("arima"), until=time.perf_counter() + left / 2)
    runtime = {k: getattr(config.train, k) for k in RUNTIME}  # where, not what, is trained
    trials = (_network_search(search, trial, lens, diffs, room, search_end, data.log, runtime)
              if search.families else 0)

    ranked = sorted((p for p in pool if np.isfinite(p["mase"])), key=lambda p: p["mase"])
    if not ranked:
        raise ValueError(f"{panel.source}: no candidate could be fitted on"
                         f" {min(len(s) for s in panel)} steps with horizon {H}")
    members, weights_info = choose(ranked, search, truth[sel], scales[sel],
                                    deadline if young else None, sel)
    fitted, weights, as_searched, used = refit(members, full, plain, search, deadline,
                                               bool(young))
    dropped = [m["candidate"].name for m in members  # no time to refit them
               if not any(u is m for u in used)]
    members = used
    score = mase(combined(members, search.combine)[sel], truth[sel], scales[sel])
    info = {
        "chosen": [{"name": m["candidate"].name, "kind": m["candidate"].kind,
                    "params": m["candidate"].params, "valid_mase": m["mase"]} for m in members],
        "ensemble_valid_mase": weights_info, "valid_mase": score,
        "candidates": [{"name": p["candidate"].name, "kind": p["candidate"].kind,
                        "valid_mase": p["mase"] if np.isfinite(p["mase"]) else None,
                        **({"error": p["error"]} if "error" in p else {})} for p in pool],
        "network_trials": trials, "trials_asked": search.trials,
        "validation_origins": int(sel.sum()),
        **({"left_out": [s.id for s in young]} if young else {}),
        **({"too_short": [s.id for s in short]} if short else {}),
        **({"not_refitted": as_searched} if as_searched else {}),
        **({"no_time_to_refit": dropped} if dropped else {}),
        **({"calibration_origins": int(cal.sum())} if cal.any() else {}),
        **({} if cal.any() else {"calibration": "on the origins the choice was made on (too"
                                  " few to keep apart)"}),
        "budget_seconds": search.budget, "combine": search.combine,
        "settings": {**dataclasses.asdict(search), "families": list(search.families)},
        "search_seconds": time.perf_counter() - start,
    }
    # Conformal intervals always: the validation forecasts are there already
    data = dataclasses.replace(data, intervals="conformal")
    ensemble = Ensemble(dataclasses.replace(config, data=data), fitted,
                        tuple(weights) if search.combine == "weighted" else (), info)
    metrics = {"valid": {"mase_mean": info["valid_mase"],
                         "origins": info["validation_origins"]}, "search": info}
    if short:
        more = f" and {len(short) - 1} more" if len(short) > 1 else ""
        metrics["warnings"] = [
            f"warning: {panel.source}: series {short[0].id!r} ({len(short[0])} steps){more} left"
            f" out: shorter than 2 * horizon + 4 = {2 * H + 4}, the least --model auto can"
            f" validate; `seqcast forecast` gives {'them' if more else 'it'} a baseline's"
            " forecast until long enough for the chosen models"]
    ensemble = search_conformal(ensemble, combined(members, search.combine), truth, scales,
                                panel, origins, metrics["valid"], cal if cal.any() else None)
    ensemble.scales.update({s.id: mase_scale(s.values, season) for s in young})
    return ensemble, History(), metrics


def _network_search(search, trial, lens, diffs, room, search_end, log: bool,
                    runtime: dict) -> int:
    """Optuna TPE over network settings until ``search_end`` or ``search.trials``; the
    networks train with the ``runtime`` settings (device, threads, precision)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=search.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=5)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    diff_names = [",".join(map(str, d)) or "none" for d in diffs]

    def objective(t: optuna.Trial) -> float:
        family = t.suggest_categorical("family", list(search.families))
        d = diffs[diff_names.index(t.suggest_categorical("diff", diff_names))]
        L = t.suggest_categorical("input_len", [x for x in lens if x + sum(d) <= room] or lens[:1])
        params = {
            "family": family, "input_len": L, "diff": list(d),
            "scale": t.suggest_categorical("scale", [True, False]), "log": log,
            "strategy": t.suggest_categorical("strategy", ["direct", "seq2seq"]),
            "model": {"hidden_size": t.suggest_categorical("hidden_size", [16, 32, 64]),
                      "num_layers": t.suggest_int("num_layers", 1, 2),
                      "dropout": t.suggest_categorical("dropout", [0.0, 0.1, 0.2])},
            "train": {"lr": t.suggest_float("lr", 1e-3, 1e-2, log=True),
                      "epochs": search.epochs, "patience": 10, **runtime},
        }
        if family in ("linear", "wavenet"):  # no recurrent layers: size is filters or none
            size = params["model"].pop("hidden_size")
            params["model"] = {"filters": size} if family == "wavenet" else {}

        def on_epoch(epoch: int, record: dict) -> None:
            if time.perf_counter() > search_end:
                study.stop()
                raise optuna.TrialPruned("out of time")
            if "val_loss" in record:
                t.report(record["val_loss"], epoch)
                if t.should_prune():
                    raise optuna.TrialPruned()

        return trial(Candidate("network", params), on_epoch)

    def stop_at_deadline(study, _trial) -> None:
        if time.perf_counter() > search_end:
            study.stop()

    if time.perf_counter() < search_end:
        study.optimize(objective, n_trials=search.trials, timeout=None, catch=(),
                       callbacks=[stop_at_deadline])
    return len(study.trials)
