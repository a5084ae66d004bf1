import pytest
import torch

from seqcast.models.wavenet import WaveNet, sample_mulaw
from seqcast.nn import wavenet_stack
from seqcast.nn.mulaw import mu_law_decode
from seqcast.nn.native import library
from seqcast.seeding import seeded

needs_native = pytest.mark.skipif(library() is None, reason="the C kernels cannot be built here")


def _eager(model, history, steps, temperature, seed, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(wavenet_stack, "generation_available", lambda *a: False)
        return model.generate(history, steps, temperature,
                              generator=torch.Generator().manual_seed(seed))


@needs_native
@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_native_mulaw_generation_equals_the_eager_steps_sample_for_sample(monkeypatch, temperature):
    with seeded(0):
        model = WaveNet(channels=16, blocks=2, layers_per_block=5, head="mulaw").eval()
    history = 0.3 * torch.randn(3, 40, 1)
    assert wavenet_stack.generation_available(model, history)
    calls = []
    real = wavenet_stack.generate
    monkeypatch.setattr(wavenet_stack, "generate", lambda *a, **k: calls.append(1) or real(*a, **k))
    native = model.generate(history, 400, temperature, generator=torch.Generator().manual_seed(5))
    assert calls == [1]  # one native call for the whole sequence
    eager = _eager(model, history, 400, temperature, 5, monkeypatch)
    assert torch.equal(native, eager)
    classes = torch.arange(256)
    assert torch.isin(native, mu_law_decode(classes)).all() and native.unique().numel() > 20


def test_inverse_cdf_sampling_follows_the_softmax():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0]])
    u = torch.rand(20000, 1, generator=torch.Generator().manual_seed(0))
    drawn = sample_mulaw(logits.expand(20000, -1), u, temperature=2.0)
    counts = torch.stack([(drawn == mu_law_decode(torch.tensor(k), 4)).float().mean()
                          for k in range(4)])
    torch.testing.assert_close(counts, torch.softmax(logits[0] / 2.0, -1), atol=0.015, rtol=0)


def test_bad_temperature_is_refused():
    model = WaveNet(channels=8, blocks=1, layers_per_block=2, head="mulaw")
    with pytest.raises(ValueError, match="temperature must be positive"):
        model.generate(torch.zeros(1, 4, 1), 3, temperature=0.0)
