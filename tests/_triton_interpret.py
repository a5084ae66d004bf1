"""Run the WaveNet generation kernel in Triton's CPU interpreter against eager generation.

Run as a script (TRITON_INTERPRET must be set before seqcast is imported). The dense head:
the largest difference from the eager steps; the mu-law head, through ``generate(...,
backend="triton")`` with the kernel let onto the CPU: the samples drawn from the same
random stream, which must equal the eager steps' sample for sample, for plain models and
for a speaker-conditioned audio model's networks (each speaker's gate biases folded in), whose
two speakers must draw different samples.
"""

import os
import sys

os.environ["TRITON_INTERPRET"] = "1"

import torch  # noqa: E402
from triton.runtime import interpreter  # noqa: E402

_patch = getattr(interpreter, "_patch_lang_tensor", None)


def _patch_index(tensor, scope):  # some versions' int() of a scalar fails on numpy >= 2
    _patch(tensor, scope)
    scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))


if _patch is not None:
    interpreter._patch_lang_tensor = _patch_index

from seqcast.audio.config import AudioConfig  # noqa: E402
from seqcast.audio.model import AudioModel  # noqa: E402
from seqcast.backends.triton import wavenet as wavenet_kernel  # noqa: E402
from seqcast.models import WaveNet  # noqa: E402
from seqcast.nn.wavenet import Generation  # noqa: E402
from seqcast.seeding import seeded  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)  # fixed histories: torch seeds its generator from the OS at start
worst = 0.0
# (channels, blocks, layers per block, streams, history length): one program, then two
for r, blocks, layers, batch, length in [(16, 2, 3, 3, 11), (32, 1, 4, 17, 5)]:
    with seeded(0):
        model = WaveNet(channels=r, blocks=blocks, layers_per_block=layers).eval()
    history = torch.randn(batch, length, 1)
    steps = 3 * model.receptive_field
    eager = model.generate(history, steps, backend="python")
    with torch.no_grad():
        queues = []
        out = model._run(history, queues)[:, -1]
        g = Generation(model.input_conv, model.layers, model.post, "dense", queues, out, steps,
                       lambda: None)
        fused = wavenet_kernel.generate(g, out[:, :1], precision="ieee")
    worst = max(worst, (fused - eager).abs().max().item())
print(f"dense head: max abs diff {worst:.3g}")

# the mu-law head through the model's own generate: the interpreter runs on the CPU
wavenet_kernel.reason = lambda g: None
mismatched = 0
for r, blocks, layers, batch, steps, temperature in [(16, 2, 3, 3, 120, 1.0),
                                                     (32, 1, 4, 17, 40, 0.7)]:
    with seeded(1):
        model = WaveNet(channels=r, blocks=blocks, layers_per_block=layers, head="mulaw").eval()
    history = 0.3 * torch.randn(batch, 9, 1)
    eager = model.generate(history, steps, temperature, generator=torch.Generator().manual_seed(3),
                           backend="python")
    fused = model.generate(history, steps, temperature, generator=torch.Generator().manual_seed(3),
                           backend="triton")
    differ = int((fused != eager).sum())
    print(f"mu-law head, {batch} streams x {steps} samples at temperature {temperature}: "
          f"{differ} differ, {fused.unique().numel()} distinct values")
    mismatched += differ + (fused.unique().numel() < 10)  # and it samples, not one class

# a speaker-conditioned audio model: its gate biases folded into the layers it generates with
with seeded(2):
    audio = AudioModel(AudioConfig(channels=16, blocks=1, layers_per_block=4, speakers=("a", "b")))
    torch.nn.init.normal_(audio.condition.weight, std=0.5)
history = 0.3 * torch.randn(2, 9, 1)
runs = {}
for speaker in (0, 1):
    net = audio.for_speaker(speaker).eval()
    runs[speaker] = [net.generate(history, 60, generator=torch.Generator().manual_seed(5),
                                  backend=backend) for backend in ("python", "triton")]
    differ = int((runs[speaker][0] != runs[speaker][1]).sum())
    print(f"speaker {speaker}: {differ} of 2 x 60 samples differ between the kernel and the eager steps")
    mismatched += differ
mismatched += bool(torch.equal(runs[0][1], runs[1][1]))  # another speaker, other samples
sys.exit(0 if worst <= 1e-5 and not mismatched else 1)
