"""CPU time of a layer call where the kernel does almost nothing: the Python around it.

Each recurrent cell on a batch of 2, 3 steps, 1 input, 4 units, and a WaveNet of 8 gated
layers of 4 channels: best of 30 rounds of 100-200 calls, forward and backward
(``layer(x)[0].sum().backward()``) and forward alone under ``torch.no_grad()``, in
``time.process_time`` (other jobs' load does not count). Run it on two checkouts,
alternating, and compare::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/call_overhead.py new
"""

import sys
import time

import torch

from seqcast.models import WaveNet
from seqcast.nn import Recurrent, make_cell


def best(call, rounds: int = 30, calls: int = 200, grad: bool = True) -> float:
    """Microseconds per call, best of ``rounds``."""
    times = []
    for _ in range(rounds):
        with torch.set_grad_enabled(grad):
            start = time.process_time()
            for _ in range(calls):
                call()
            times.append((time.process_time() - start) / calls * 1e6)
    return min(times)


def main(label: str) -> None:
    torch.set_num_threads(1)
    x = torch.randn(2, 3, 1)
    out = []
    for name in ["gru", "simple", "lstm", "ln_simple", "peephole"]:
        torch.manual_seed(0)
        layer = Recurrent(make_cell(name, 1, 4))
        for _ in range(200):
            layer(x)[0].sum().backward()
        train = best(lambda layer=layer: layer(x)[0].sum().backward())
        infer = best(lambda layer=layer: layer(x), grad=False)
        out.append(f"{name}: {train:.1f}/{infer:.1f}")
    torch.manual_seed(0)
    model = WaveNet(channels=4, blocks=2, layers_per_block=4, horizon=2)
    for _ in range(100):
        model(x).sum().backward()
    train = best(lambda: model(x).sum().backward(), calls=100)
    infer = best(lambda: model(x), calls=100, grad=False)
    out.append(f"wavenet8: {train:.1f}/{infer:.1f}")
    print(label, "us fwd+bwd/fwd", " ".join(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
