"""Layers: recurrent cells, the unroller, convolutions. Imports nothing else of seqcast."""

from .cells import CELLS, GRUCell, LSTMCell, SimpleRNNCell, make_cell
from .conv import Alignment, Conv1d, ConvQueue, ResidualLayer, align_targets, receptive_field
from .recurrent import Recurrent

__all__ = ["CELLS", "GRUCell", "LSTMCell", "Recurrent", "SimpleRNNCell", "make_cell",
           "Alignment", "Conv1d", "ConvQueue", "ResidualLayer", "align_targets", "receptive_field"]
