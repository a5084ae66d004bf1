"""The fused WaveNet generation kernel: its logic in Triton's CPU interpreter (where Triton
is installed), and on a GPU against eager generation and the CUDA-graph path."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqcast.models import WaveNet, wavenet_kernel
from seqcast.seeding import seeded

needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                  reason="Triton is not installed")


@needs_triton
def test_kernel_matches_eager_generation_in_the_interpreter():
    script = Path(__file__).with_name("_triton_interpret.py")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_kernel_is_only_used_where_eligible():
    model = WaveNet(channels=24, blocks=1, layers_per_block=3)  # 24: not a power of two
    assert not wavenet_kernel.eligible(model, torch.zeros(1, 4, 1))
    model = WaveNet(channels=16, blocks=1, layers_per_block=3)
    assert not wavenet_kernel.eligible(model, torch.zeros(1, 4, 1))  # a CPU tensor
    model = WaveNet(channels=16, blocks=1, layers_per_block=3, head="mulaw")
    assert not wavenet_kernel.eligible(model, torch.zeros(1, 4, 1))


@pytest.mark.skipif(not torch.cuda.is_available() or wavenet_kernel.triton is None,
                    reason="needs a CUDA GPU and Triton")
def test_kernel_on_the_gpu_matches_the_graphed_and_eager_paths():
    torch.backends.cuda.matmul.allow_tf32 = False
    with seeded(0):
        model = WaveNet(channels=64, blocks=3, layers_per_block=10).cuda().eval()
    history = torch.randn(5, 200, 1, device="cuda")
    steps = 2 * model.receptive_field
    assert wavenet_kernel.eligible(model, history)
    assert torch.get_float32_matmul_precision() == "highest"
    default = model.generate(history, steps)  # PyTorch's default precision: CUDA graphs
    eager = model.generate(history, steps, fused=False, cuda_graph=False)
    assert (default - eager).abs().max() <= 1e-5
    with torch.no_grad():
        queues = []
        first = model._run(history, queues)[:, -1, :1]
    exact = wavenet_kernel.generate(model, queues, first, steps, precision="ieee")
    assert (exact - eager).abs().max() <= 1e-4
    torch.set_float32_matmul_precision("high")
    try:
        fast = model.generate(history, steps)  # the kernel, TF32 tensor cores: close, not exact
    finally:
        torch.set_float32_matmul_precision("highest")
    assert (fast - eager).abs().max() <= 0.05 * eager.abs().max()
