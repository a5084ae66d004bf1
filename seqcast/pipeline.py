"""Real series end to end: configuration (``make_config``), training (``fit_forecaster``)
and forecasts on the original scale (``Forecaster``); the last two live in
``seqcast.forecasting.fit`` and ``seqcast.forecasting.forecaster`` and are re-exported here.

Every series is differenced and scaled on its own (statistics from its training part only);
one model is trained on the windows of all series (a global model). A forecast takes the
last ``input_len`` transformed values, predicts ``horizon`` steps by the chosen strategy and
inverts scaling and differencing with the series' own history.
"""

from __future__ import annotations

import dataclasses

from .config import STRATEGIES, DataConfig, ModelConfig, RunConfig, TrainConfig
from .forecasting.defaults import (  # season_of: still importable from here
    INPUT_RULES,
    MODEL_DEFAULTS,
    TRAIN_DEFAULTS,
    default_input_len,
    season_of,  # noqa: F401
)
from .models import MODELS


def make_config(
    name: str,
    data: DataConfig,
    input_len: int | None = None,
    model: dict | None = None,
    train: dict | None = None,
) -> RunConfig:
    """A ``RunConfig`` for model ``name``: its defaults, then ``model`` and ``train`` overrides.

    ``name="auto"`` searches models and settings when fitted (``seqcast.forecasting.auto``);
    ``input_len=None`` takes ``default_input_len`` of the season and horizon.
    """
    if name not in MODELS and name != "auto":
        raise ValueError(f"unknown model {name!r}; valid models: auto, {', '.join(MODELS)}")
    if input_len is None:  # the family's preferred window, else the common one
        rule = INPUT_RULES.get(name)
        input_len = default_input_len(data.season, data.horizon,
                                      preferred=rule and rule(data.season, data.horizon))
    if data.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {data.strategy!r}; valid: {', '.join(STRATEGIES)}")
    if data.horizon < 1 or input_len < 1:
        raise ValueError(f"horizon and input_len must be >= 1, got {data.horizon}, {input_len}")
    from .forecasting.conformal import check_intervals
    from .models.heads import check_head

    check_intervals(data.intervals)
    m_default, t_default = MODEL_DEFAULTS.get(name, ({}, TRAIN_DEFAULTS))
    model_cfg = ModelConfig(
        name=name,
        input_size=1,
        input_len=input_len,
        season=data.season,
        horizon=1 if data.strategy == "iterative" else data.horizon,
        output="sequence" if data.strategy == "seq2seq" else "last",
    )
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    m_default = {k: v for k, v in m_default.items() if k in known}
    model_cfg = dataclasses.replace(model_cfg, **{**m_default, **(model or {})})
    train_cfg = dataclasses.replace(TrainConfig(), **{**t_default, **(train or {})})
    check_head(model_cfg)
    return RunConfig(dataclasses.replace(data, task="forecast"), model_cfg, train_cfg)



from .forecasting.fit import fit_forecaster, validation_scores  # noqa: E402,F401
from .forecasting.forecaster import (  # noqa: E402,F401
    Forecaster,
    LastStep,
    build_forecaster_model,
    future_index,
)
