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
from .conv import Alignment, Conv1d, ConvQueue, ResidualLayer, align_targets, receptive_field
from .recurrent import Recurrent, set_backend

__all__ = [
    "CELLS", "GRUCell", "LNSimpleRNNCell", "LSTMCell", "PeepholeLSTMCell", "Recurrent",
    "SimpleRNNCell", "make_cell", "set_backend",
    "Alignment", "Conv1d", "ConvQueue", "ResidualLayer", "align_targets", "receptive_field",
]
