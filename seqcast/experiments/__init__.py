"""The chapter's experiment table and ``reproduce``.

The table imports no torch, so the CLI checks ids before loading it; ``reproduce`` loads
on first use.
"""

from .table import EXPERIMENTS, Experiment, select

__all__ = ["EXPERIMENTS", "Experiment", "RowResult", "reproduce", "select"]


def __getattr__(name: str):
    if name in ("RowResult", "reproduce"):
        from . import runner as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
