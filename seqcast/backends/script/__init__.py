"""TorchScript paths: BPTT kernels for the SimpleRNN, the GRU and the chapter's custom cells
(``rnn.py``, ``cells.py``), the fallback of the C kernels where no compiler is found, and a
compiled time loop over any cell's ``step`` (``loops.py``)."""
