"""Truths about the convolution layers: reference parity, Keras init, alignment, receptive
field, causality, and cached generation equal to the full forward pass."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqcast.config import ModelConfig
from seqcast.models import build_model
from seqcast.nn.conv import Conv1d, ConvQueue, align_targets, receptive_field, stack_alignment
from seqcast.nn.mulaw import mu_law_decode, mu_law_encode
from seqcast.seeding import seeded

CONV_MODELS = ["conv_gru", "wavenet_simple", "wavenet"]


@pytest.mark.parametrize("padding", ["causal", "valid", "same"])
@pytest.mark.parametrize("kernel_size,stride,dilation",
                         [(4, 2, 1), (2, 1, 4), (3, 3, 2), (1, 1, 1)])
def test_conv1d_matches_torch_conv1d(padding, kernel_size, stride, dilation):
    conv = Conv1d(3, 5, kernel_size, stride, dilation, padding)
    torch.nn.init.uniform_(conv.bias)
    x = torch.randn(2, 23, 3)
    out = conv(x)
    if padding == "causal":
        pads = ((kernel_size - 1) * dilation, 0)
    elif padding == "valid":
        pads = (0, 0)
    else:  # TensorFlow's "same": ceil(T / stride) outputs, the odd pad on the right
        span = (kernel_size - 1) * dilation
        total = max((math.ceil(23 / stride) - 1) * stride + span + 1 - 23, 0)
        pads = (total // 2, total - total // 2)
    ref = F.conv1d(F.pad(x.transpose(1, 2), pads), conv.weight, conv.bias, stride, 0, dilation)
    assert out.shape == ref.transpose(1, 2).shape == (2, conv.alignment(23).length, 5)
    torch.testing.assert_close(out, ref.transpose(1, 2), atol=1e-6, rtol=1e-5)


def test_keras_initialisation():
    conv = Conv1d(20, 30, kernel_size=4)
    limit = math.sqrt(6 / (4 * 20 + 4 * 30))  # glorot-uniform, fans kernel_size * channels
    assert conv.weight.abs().max() <= limit and conv.weight.abs().max() > 0.9 * limit
    assert torch.equal(conv.bias, torch.zeros(30))


def test_chapter_conv_alignment_is_every_other_step_from_3():
    y = np.random.default_rng(0).normal(size=(4, 50, 10))
    alignment = stack_alignment([Conv1d(1, 20, 4, stride=2, padding="valid")], 50)
    assert np.array_equal(align_targets(y, alignment), y[:, 3::2])
    model = build_model(ModelConfig(name="conv_gru", horizon=10, output="sequence", kernel_size=4,
                                    stride=2, padding="valid"))
    assert model.alignment(50) == alignment
    assert model(torch.zeros(4, 50, 1)).shape == align_targets(y, alignment).shape


def _last_dependency(stack, x):
    """For each output step, the latest input step with a non-zero gradient (brute force)."""
    out = stack(x)
    latest = []
    for j in range(out.shape[1]):
        (grad,) = torch.autograd.grad(out[0, j].sum(), x, retain_graph=True)
        latest.append(int(grad[0].abs().sum(-1).nonzero().max()))
    return latest


@pytest.mark.parametrize("specs", [
    [(4, 2, 1, "valid")],
    [(3, 2, 1, "causal"), (2, 1, 2, "valid"), (2, 3, 1, "valid")],
    [(2, 1, 1, "causal"), (3, 2, 2, "causal"), (3, 1, 1, "same")],
])
def test_stack_alignment_names_the_latest_input_each_output_sees(specs):
    torch.manual_seed(0)
    convs = [Conv1d(2, 2, k, s, d, p) for k, s, d, p in specs]
    stack = torch.nn.Sequential(*convs)
    x = torch.randn(1, 40, 2, requires_grad=True)
    alignment = stack_alignment(convs, 40)
    latest = _last_dependency(stack, x)
    valid = [i for i, s in enumerate(alignment.steps()) if s < 40]  # "same" looks past the end
    assert [alignment.steps()[i] for i in valid] == [latest[i] for i in valid]


def test_align_targets_refuses_outputs_that_look_past_the_end():
    alignment = stack_alignment([Conv1d(1, 1, 3, padding="same")], 10)
    with pytest.raises(ValueError, match="causal or valid"):
        align_targets(np.zeros((1, 10, 1)), alignment)


@pytest.mark.parametrize("name,expected", [("wavenet_simple", 31), ("wavenet", 32)])
def test_receptive_field_is_one_plus_sum_of_spans(name, expected):
    with seeded(0):
        model = build_model(ModelConfig(name=name, blocks=2, layers_per_block=4))
    assert model.receptive_field == expected
    x = torch.randn(1, 60, 1, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x)[0, -1].sum(), x)
    seen = grad[0, :, 0].nonzero()
    assert 60 - int(seen.min()) == expected  # the earliest input the last output depends on


@pytest.mark.parametrize("name", CONV_MODELS)
def test_changing_step_t_never_changes_earlier_outputs(name):
    with seeded(0):
        model = build_model(ModelConfig(name=name, horizon=3, output="sequence", kernel_size=3,
                                        stride=2 if name == "conv_gru" else 1,
                                        padding="valid" if name == "conv_gru" else "causal"))
    x = torch.randn(2, 40, 1)
    steps = list(model.alignment(40).steps())
    for t in (5, 17, 38):
        x2 = x.clone()
        x2[:, t] += 1.0
        y, y2 = model(x), model(x2)
        before = [j for j, s in enumerate(steps) if s < t]
        after = [j for j, s in enumerate(steps) if s >= t]
        assert torch.equal(y[:, before], y2[:, before])
        assert not torch.equal(y[:, after[0]], y2[:, after[0]])


@pytest.mark.parametrize("name", ["wavenet_simple", "wavenet"])
def test_cached_generation_equals_the_full_forward_pass(name):
    with seeded(0):
        model = build_model(ModelConfig(name=name, filters=16, blocks=2, layers_per_block=5,
                                        horizon=2, output="sequence")).eval()
    history = torch.randn(3, 20, 1)
    steps = 2 * model.receptive_field + 5
    generated = model.generate(history, steps)  # (B, steps)
    full = model(torch.cat([history, generated.unsqueeze(-1)], dim=1))  # (B, 20 + steps, 2)
    assert (full[:, 19:-1, 0] - generated).abs().max() <= 1e-5
    # the fast path also serves iterative forecasting
    from seqcast.forecast import rollout

    torch.testing.assert_close(rollout(model, history, 7), generated[:, :7])


def test_conv_queue_streams_a_strided_history_exactly():
    conv = Conv1d(2, 3, kernel_size=3, dilation=4)
    x = torch.randn(2, 30, 2)
    queue = ConvQueue(conv, x[:, :11])
    streamed = torch.stack([queue(x[:, t]) for t in range(11, 30)], dim=1)
    torch.testing.assert_close(streamed, conv(x)[:, 11:])
    with pytest.raises(ValueError, match="causal, stride-1"):
        ConvQueue(Conv1d(2, 3, 3, padding="valid"), x)


def test_mu_law_round_trip_and_sampling_head():
    x = torch.linspace(-1, 1, 1001)
    q = mu_law_encode(x)
    assert q.min() == 0 and q.max() == 255
    # half a bin: fine near 0, ln(256) / 127.5 ~ 0.043 wide near +-1
    assert (mu_law_decode(q) - x).abs().max() < 0.022
    assert (mu_law_decode(q) - x)[490:511].abs().max() < 0.001  # |x| <= 0.02
    assert torch.equal(mu_law_encode(mu_law_decode(torch.arange(256))), torch.arange(256))
    with seeded(0):
        model = build_model(ModelConfig(name="wavenet", head="mulaw", output="sequence")).eval()
    assert model(torch.zeros(2, 9, 1)).shape == (2, 9, 256)
    a = model.generate(torch.zeros(2, 4, 1), 30, generator=torch.Generator().manual_seed(1))
    b = model.generate(torch.zeros(2, 4, 1), 30, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.abs().max() <= 1
    assert torch.isin(mu_law_encode(a), torch.arange(256)).all()


def test_mulaw_head_learns_with_cross_entropy():
    with seeded(0):
        model = build_model(ModelConfig(name="wavenet", head="mulaw", output="sequence",
                                        filters=8, blocks=1, layers_per_block=3))
    t = torch.arange(64, dtype=torch.float32)
    audio = 0.8 * torch.sin(t / 3).expand(4, -1)  # (B, T)
    x, target = audio[:, :-1, None], mu_law_encode(audio[:, 1:])
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = F.cross_entropy(model(x).transpose(1, 2), target)  # logits (B, 256, T)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("kw,match", [
    ({"padding": "full"}, "valid: causal, valid, same"),
    ({"head": "softmax"}, "valid: dense, mulaw"),
    ({"blocks": 0}, r"blocks must be a whole number in \[1, 100\]"),
])
def test_bad_conv_choices_list_the_valid_ones(kw, match):
    with pytest.raises(ValueError, match=match):
        build_model(ModelConfig(name="conv_gru" if "padding" in kw else "wavenet", **kw))


def test_receptive_field_counts_strides():
    convs = [Conv1d(1, 1, 4, stride=2, padding="valid"), Conv1d(1, 1, 3, dilation=2)]
    assert receptive_field(convs) == 1 + 3 + 2 * 2 * 2


def test_cuda_graph_generation_matches_eager_or_is_skipped_on_cpu():
    with seeded(0):
        model = build_model(ModelConfig(name="wavenet", filters=8, blocks=2, layers_per_block=3,
                                        output="sequence")).eval()
    history = torch.randn(2, 12, 1)
    eager = model.generate(history, 40, cuda_graph=False)
    assert torch.equal(model.generate(history, 40, cuda_graph=True), eager)  # CPU: eager path
    if torch.cuda.is_available():
        gpu = model.cuda()
        graphed = gpu.generate(history.cuda(), 40, cuda_graph=True).cpu()
        eager_gpu = gpu.generate(history.cuda(), 40, cuda_graph=False).cpu()
        assert (graphed - eager_gpu).abs().max() < 1e-5


@pytest.mark.parametrize("kernel_size, dilation", [(2, 1), (2, 4), (3, 2), (2, 64)])
def test_time_major_causal_conv_matches_batch_first_values_and_gradients(kernel_size, dilation):
    conv = Conv1d(3, 5, kernel_size, dilation=dilation).double()  # dilation 64 > T: tap unused
    x = torch.randn(4, 20, 3, dtype=torch.float64, requires_grad=True)
    ref = conv(x)
    grads_ref = torch.autograd.grad(ref.pow(2).sum(), (x, conv.weight, conv.bias))
    tm = conv(x.transpose(0, 1), time_major=True).transpose(0, 1)
    grads_tm = torch.autograd.grad(tm.pow(2).sum(), (x, conv.weight, conv.bias))
    torch.testing.assert_close(tm, ref)
    for a, b in zip(grads_tm, grads_ref, strict=True):
        torch.testing.assert_close(a, b)
    xt = x.detach().transpose(0, 1).contiguous().requires_grad_()
    from seqcast.nn.conv_kernels import _CausalTimeMajor

    for parts in (1, 5):
        assert torch.autograd.gradcheck(
            lambda x_, w, b, n=parts: _CausalTimeMajor.apply(x_, w, b, dilation, n),
            (xt, conv.weight, conv.bias))
    conv6 = Conv1d(3, 6, kernel_size, dilation=dilation).double()
    halves = conv6.split(xt, 2)  # contiguous parts equal to the chunks of the whole output
    whole = conv6(xt, time_major=True).chunk(2, dim=-1)
    assert all(h.is_contiguous() for h in halves)
    for a, b in zip(halves, whole, strict=True):
        torch.testing.assert_close(a, b)


def test_time_major_needs_a_causal_stride_one_conv():
    with pytest.raises(ValueError, match="causal, stride-1"):
        Conv1d(1, 2, 3, stride=2, padding="valid")(torch.zeros(5, 2, 1), time_major=True)


@pytest.mark.parametrize("name", ["wavenet_simple", "wavenet", "conv_gru"])
def test_torch_backend_convolutions_match_ours(name):
    from seqcast.nn.recurrent import set_backend

    with seeded(0):
        ours = build_model(ModelConfig(name=name, horizon=10, output="sequence", filters=8,
                                       kernel_size=4 if name == "conv_gru" else 2,
                                       stride=2 if name == "conv_gru" else 1,
                                       padding="valid" if name == "conv_gru" else "causal"))
    reference = set_backend(copy.deepcopy(ours), "torch")
    assert all(m.backend == "torch" for m in reference.modules() if isinstance(m, Conv1d))
    x = torch.randn(3, 30, 1)
    a, b = ours(x), reference(x)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    a.square().sum().backward()
    b.square().sum().backward()
    for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)


def _assert_same_values_and_gradients(got, want, inputs):
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    w = torch.randn_like(want)
    for g, r in zip(torch.autograd.grad((got * w).sum(), inputs),
                    torch.autograd.grad((want * w).sum(), inputs), strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-4)


def _layers_reference(h, layers):
    """The skip sum of ``ResidualLayer``s by their own (batch-first, torch) computation."""
    skips = 0
    for layer in layers:
        h, skip = layer(h)
        skips = skips + skip
    return skips


needs_c = pytest.mark.skipif(__import__("seqcast.backends.native", fromlist=["library"]).library()
                             is None, reason="no C compiler here")


@needs_c
@pytest.mark.parametrize("batch,channels,skip,kernel_size,dilations", [
    (5, 8, 8, 2, [1, 2, 4, 1, 2, 4]),   # a partial vector of batch lanes
    (19, 6, 10, 3, [1, 3, 2]),           # channel counts off the 4- and 8-row tiles; 3 taps
    (7, 6, 6, 2, [1, 2]),
    (1, 8, 8, 2, [1, 2, 4, 8, 16]),      # one series: columns are steps
    (32, 32, 32, 2, [1, 2, 4, 8]),       # the chapter's shape
])
def test_c_residual_stack_equals_the_layers_values_and_gradients(batch, channels, skip,
                                                                   kernel_size, dilations):
    from seqcast.backends.native.wavenet import residual_stack, stack_reason
    from seqcast.nn.conv import ResidualLayer

    torch.manual_seed(0)
    layers = torch.nn.ModuleList(ResidualLayer(channels, skip, kernel_size, d) for d in dilations)
    with torch.no_grad():
        for p in layers.parameters():
            p.add_(torch.randn_like(p) * 0.2)  # biases away from zero too
    h = torch.randn(batch, 23, channels, requires_grad=True)
    assert stack_reason(h, layers) is None
    want = _layers_reference(h, layers)
    got = residual_stack(h, layers)
    _assert_same_values_and_gradients(got, want, [h, *layers.parameters()])
    with torch.no_grad():  # without gradients: two layers' activations kept, the same result
        assert torch.equal(residual_stack(h, layers), got)


@needs_c
def test_wavenet_trains_through_the_c_stack_or_without_it():
    from seqcast.nn.dispatch import available

    with seeded(0):
        model = build_model(ModelConfig(name="wavenet", horizon=10, output="sequence", filters=8))
    x = torch.randn(4, 30, 1)
    h = model.input_conv(x.transpose(0, 1), time_major=True)
    assert available("wavenet_stack", model.layers, h) == ["native", "python"]
    out = model(x)
    model.backend = "python"
    torch.testing.assert_close(model(x), out, rtol=1e-5, atol=1e-6)


@needs_c
@pytest.mark.parametrize("batch,channels,kernel_size,dilations", [
    (1, [1, 20, 20], 2, [1, 2]),         # one series
    (19, [3, 6, 5, 7], 3, [1, 4, 2]),    # channel counts off the tiles; 3 taps
    (32, [1] + [20] * 8, 2, [1, 2, 4, 8] * 2),  # the chapter's
])
def test_c_conv_stack_equals_the_layers_values_and_gradients(batch, channels, kernel_size,
                                                             dilations):
    from seqcast.backends.native.wavenet import conv_stack, convs_reason

    torch.manual_seed(0)
    convs = torch.nn.ModuleList(Conv1d(a, b, kernel_size, dilation=d)
                                for a, b, d in zip(channels[:-1], channels[1:], dilations))
    with torch.no_grad():
        for p in convs.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    x = torch.randn(batch, 23, channels[0], requires_grad=True)
    assert convs_reason(x, convs) is None
    want = x
    for conv in convs:
        want = F.relu(conv(want))
    got = conv_stack(x, convs)
    _assert_same_values_and_gradients(got, want, [x, *convs.parameters()])
    with torch.no_grad():
        assert torch.equal(conv_stack(x, convs), got)


@needs_c
@pytest.mark.parametrize("channels,blocks,layers,kernel_size,batch,history,horizon", [
    (8, 2, 3, 2, 3, 5, 1),     # a history shorter than the receptive field
    (16, 1, 4, 3, 2, 30, 3),   # 3 taps, 3 outputs (the first is fed back)
])
def test_c_generation_equals_the_eager_steps(channels, blocks, layers, kernel_size, batch,
                                             history, horizon):
    from seqcast.models import WaveNet

    torch.manual_seed(0)
    model = WaveNet(channels=channels, blocks=blocks, layers_per_block=layers,
                    kernel_size=kernel_size, horizon=horizon).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    h = torch.randn(batch, history, 1)
    got = model.generate(h, 40, backend="native")
    torch.testing.assert_close(model.generate(h, 40), got)  # "auto" takes the C kernel here
    want = model.generate(h, 40, backend="python")
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
