"""Layers: recurrent cells, the unroller, convolutions. Imports nothing else of seqcast."""

from .cells import (
    CELLS,
    GRUCell,
    LNSimpleRNNCell,
    LSTMCell,
    PeepholeLSTMCell,
    SimpleRNNCell,
    make_cell,
)
from .recurrent import Recurrent

__all__ = [
    "CELLS", "GRUCell", "LNSimpleRNNCell", "LSTMCell", "PeepholeLSTMCell", "Recurrent",
    "SimpleRNNCell", "make_cell",
]
