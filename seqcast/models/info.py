"""What ``seqcast info`` shows about a model: receptive field, size and output alignment."""

from __future__ import annotations

from ..config import ModelConfig
from ..nn.recurrent import Recurrent
from ..seeding import seeded
from . import build_model


def model_info(cfg: ModelConfig, input_len: int | None = None) -> dict:
    """Receptive field, parameter count and output alignment of the model ``cfg`` builds.

    ``receptive_field`` is None for models without convolutions (recurrent layers see every
    earlier step). ``alignment`` maps output step j to input step ``offset + j * stride``.

    Example:
        >>> model_info(ModelConfig(name="wavenet", blocks=3, layers_per_block=10))
        {'model': 'wavenet', 'parameters': ..., 'receptive_field': 3071, ...}
    """
    input_len = input_len or cfg.input_len
    with seeded(0):
        model = build_model(cfg)
    info = {
        "model": cfg.name,
        "parameters": sum(p.numel() for p in model.parameters()),
        "receptive_field": getattr(model, "receptive_field", None),
        "input_len": input_len,
        "recurrent": any(isinstance(m, Recurrent) for m in model.modules()),
    }
    if hasattr(model, "alignment"):
        a = model.alignment(input_len)
        info["alignment"] = {"offset": a.offset, "stride": a.stride, "length": a.length}
    else:
        info["alignment"] = {"offset": 0, "stride": 1, "length": input_len}
    return info
