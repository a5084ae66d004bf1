"""The fused WaveNet generation kernel: its logic in Triton's CPU interpreter (where Triton
is installed), and on a GPU against eager generation and the CUDA-graph path."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqcast.backends import BackendUnavailable
from seqcast.backends.triton import wavenet as wavenet_kernel
from seqcast.models import WaveNet
from seqcast.seeding import seeded

needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                  reason="Triton is not installed")


@needs_triton
def test_kernel_matches_eager_generation_in_the_interpreter():
    script = Path(__file__).with_name("_triton_interpret.py")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("channels,head", [(24, "dense"), (16, "dense"), (16, "mulaw")])
def test_kernel_is_only_used_where_it_can_run(channels, head):
    # 24: not a power of two; and on the CPU here in any case
    model = WaveNet(channels=channels, blocks=1, layers_per_block=3, head=head)
    with pytest.raises(BackendUnavailable, match="backend 'triton' cannot run"):
        model.generate(torch.zeros(1, 4, 1), 3, backend="triton")


@pytest.mark.skipif(not torch.cuda.is_available() or wavenet_kernel.triton is None,
                    reason="needs a CUDA GPU and Triton")
def test_kernel_on_the_gpu_matches_the_graphed_and_eager_paths():
    torch.backends.cuda.matmul.allow_tf32 = False
    with seeded(0):
        model = WaveNet(channels=64, blocks=3, layers_per_block=10).cuda().eval()
    history = torch.randn(5, 200, 1, device="cuda")
    steps = 2 * model.receptive_field
    assert torch.get_float32_matmul_precision() == "highest"
    default = model.generate(history, steps)  # PyTorch's default precision: CUDA graphs
    eager = model.generate(history, steps, fused=False, cuda_graph=False)
    assert (default - eager).abs().max() <= 1e-5
    exact = _kernel(model, history, steps)
    assert (exact - eager).abs().max() <= 1e-4
    torch.set_float32_matmul_precision("high")
    try:
        fast = model.generate(history, steps, backend="triton")  # TF32: close, not exact
    finally:
        torch.set_float32_matmul_precision("highest")
    assert (fast - eager).abs().max() <= 0.05 * eager.abs().max()


@pytest.mark.skipif(not torch.cuda.is_available() or wavenet_kernel.triton is None,
                    reason="needs a CUDA GPU and Triton")
def test_mulaw_kernel_on_the_gpu_draws_the_eager_samples():
    from seqcast.nn.mulaw import mu_law_decode

    with seeded(0):
        model = WaveNet(channels=32, blocks=2, layers_per_block=10, head="mulaw").cuda().eval()
    history = 0.3 * torch.randn(3, 300, 1, device="cuda")
    steps = 2000

    def generator():
        return torch.Generator("cuda").manual_seed(7)

    eager = model.generate(history, steps, 0.9, generator=generator(), backend="python")
    exact = _kernel(model, history, steps, torch.rand(3, steps, generator=generator(),
                                                      device="cuda"), 0.9)
    assert torch.equal(exact, eager)  # float32 products: the same classes from the same stream
    torch.set_float32_matmul_precision("high")
    try:  # "auto" takes the kernel for the mu-law head once TF32 is allowed
        from seqcast.nn.dispatch import select
        from seqcast.nn.wavenet import Generation

        g = Generation(model.input_conv, model.layers, model.post, "mulaw", [],
                       torch.zeros(1, 256, device="cuda"), 3, lambda: None, 1.0,
                       torch.zeros(1, 3, device="cuda"))
        assert select("wavenet_generate", "auto", g).name == "triton"
        fast = model.generate(history, steps, 0.9, generator=generator())
    finally:
        torch.set_float32_matmul_precision("highest")
    assert torch.isin(fast, mu_law_decode(torch.arange(256, device="cuda"))).all()
    assert fast.unique().numel() > 20


@torch.no_grad()
def _kernel(model, history, steps, uniforms=None, temperature=1.0):
    """The kernel at full float32 precision, from the model's state after ``history``."""
    from seqcast.nn.wavenet import Generation

    queues = []
    out = model._run(history, queues)[:, -1]
    g = Generation(model.input_conv, model.layers, model.post, model.head, queues, out, steps,
                   lambda: None, temperature, uniforms)
    if uniforms is not None:  # the mu-law head: the first value drawn as the backends draw it
        from seqcast.nn.mulaw import sample_mulaw

        return wavenet_kernel.generate(g, sample_mulaw(out, uniforms[:, :1], temperature),
                                       precision="ieee")
    return wavenet_kernel.generate(g, out[:, :1], precision="ieee")
