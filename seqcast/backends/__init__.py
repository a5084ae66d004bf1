"""How seqcast runs fast: for each operation, an ordered list of implementations.

The layers in ``seqcast.nn`` and the models define what is computed (their reference code,
always the last entry, so there is always a correct path); this package holds every
accelerated way of computing it, and installs them in front of the references
(``seqcast.nn.dispatch``):

- ``native/``: C kernels (sources in ``native/csrc``), built on first use, CPU float32;
- ``script/``: TorchScript BPTT kernels and step loops;
- ``triton/``: WaveNet generation as one GPU kernel;
- torch's own fused recurrent kernels (``recurrent.py``).

``backend="auto"`` takes the first implementation whose ``reason`` is None for the inputs;
a named backend that cannot run them raises ``BackendUnavailable`` with the reason.

    operation          implementations, best first (then the reference)
    recurrent          native, script, torch, loop          (python)
    wavenet_stack      native                               (python)
    conv_stack         native                               (python)
    wavenet_generate   triton, native                       (python)
"""

from ..nn.dispatch import BackendUnavailable, available, install, select
from . import recurrent, wavenet

install("recurrent", recurrent.IMPLEMENTATIONS, recurrent.signature)
install("wavenet_stack", wavenet.STACK)
install("conv_stack", wavenet.CONVS)
install("wavenet_generate", wavenet.GENERATE)

__all__ = ["BackendUnavailable", "available", "select"]
