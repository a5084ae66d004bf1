"""The chapter's experiment table and ``reproduce``."""

from .reproduce import RowResult, reproduce, select
from .table import EXPERIMENTS, Experiment

__all__ = ["EXPERIMENTS", "Experiment", "RowResult", "reproduce", "select"]
