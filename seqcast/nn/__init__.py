"""Layers: recurrent cells, the unroller, convolutions. Imports nothing else of seqcast."""

from .cells import CELLS, GRUCell, LSTMCell, SimpleRNNCell, make_cell
from .recurrent import Recurrent

__all__ = ["CELLS", "GRUCell", "LSTMCell", "Recurrent", "SimpleRNNCell", "make_cell"]
