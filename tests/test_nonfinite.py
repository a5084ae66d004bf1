"""NaN and infinities go through every C kernel as through torch, forward and backward, in
every vector width this machine can build (AVX-512, AVX2, the generic 4-lane vectors)."""

import pytest
import torch

from seqcast.backends.native import build
from seqcast.backends.native import recurrent as native_rnn
from seqcast.backends.native import wavenet as native_wavenet
from seqcast.models import SimpleWaveNet, WaveNet
from seqcast.nn import Recurrent, make_cell


def _cpu_has(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and f" {flag}" in line for line in f)
    except OSError:
        return False


WIDTHS = {"widest": None, "generic": ["-O3", "-fno-trapping-math"]}
if _cpu_has("avx512f") and _cpu_has("avx2"):
    WIDTHS["avx2"] = ["-O3", "-march=native", "-mno-avx512f", "-fno-trapping-math"]


@pytest.fixture(params=list(WIDTHS), scope="module")
def lib(request, build_cache):
    """The C kernels built for one vector width (the cached default build for "widest")."""
    if build.library() is None:
        pytest.skip("no C compiler here")
    flags = WIDTHS[request.param]
    if flags is None:
        return build.library()
    mp = pytest.MonkeyPatch()
    mp.setenv("SEQCAST_CACHE_DIR", str(build_cache))
    mp.setattr(build, "_FLAGS", (flags,))
    build.library.cache_clear()
    try:
        return build.library()
    finally:
        build.library.cache_clear()
        mp.undo()


@pytest.fixture
def use(lib, monkeypatch):
    for module in (native_rnn, native_wavenet):
        monkeypatch.setattr(module, "library", lambda: lib)
    return lib


def _inputs(inputs: int) -> torch.Tensor:
    """A batch of 19 series (a partial vector of lanes) with NaN, +inf and -inf in some."""
    x = torch.randn(19, 12, inputs)
    x[1, 3, 0] = float("nan")
    x[4, 0, :] = float("inf")
    x[7, 5, 0] = float("-inf")
    x[9, 2:4, -1] = float("inf")
    return x.requires_grad_()


def _same(got: torch.Tensor, want: torch.Tensor, what: str) -> None:
    """Equal NaN positions, equal infinities, finite values close."""
    assert torch.equal(got.isnan(), want.isnan()), f"{what}: NaN in other places"
    assert torch.equal(got.isinf(), want.isinf()), f"{what}: infinities in other places"
    finite = want.isfinite()
    torch.testing.assert_close(got[finite], want[finite], rtol=1e-4, atol=1e-4, msg=what)
    assert torch.equal(got[want.isinf()], want[want.isinf()]), what


def _compare(fast, slow, x, params, what: str) -> None:
    y_fast, y_slow = fast(x), slow(x)
    _same(y_fast, y_slow, f"{what} forward")
    w = torch.randn_like(y_slow)
    grads_fast = torch.autograd.grad((y_fast * w).sum(), [x, *params])
    grads_slow = torch.autograd.grad((y_slow * w).sum(), [x, *params])
    for i, (a, b) in enumerate(zip(grads_fast, grads_slow, strict=True)):
        _same(a, b, f"{what} gradient {i}")


@pytest.mark.parametrize("inputs", [1, 3])  # one input: +-inf saturate; three: NaN spreads
@pytest.mark.parametrize("name", ["simple", "lstm", "gru", "ln_simple", "peephole"])
def test_recurrent_kernels_propagate_nan_and_saturate_inf_like_torch(name, inputs, use):
    torch.manual_seed(0)
    cell = make_cell(name, inputs, 5)
    fast, slow = Recurrent(cell, backend="native"), Recurrent(cell, backend="python")
    _compare(lambda x: fast(x)[0], lambda x: slow(x)[0], _inputs(inputs), list(cell.parameters()),
             name)


def test_the_generic_build_keeps_inf_finite_where_torch_does(use):
    # tanh(+-inf) = +-1, sigmoid(-inf) = 0: finite outputs from infinite inputs
    cell = make_cell("gru", 1, 5)
    x = torch.full((3, 4, 1), float("inf"))
    x[1] = float("-inf")
    y = Recurrent(cell, backend="native")(x)[0]
    assert y.isfinite().all()
    _same(y, Recurrent(cell, backend="python")(x)[0], "gru at +-inf")


def test_wavenet_kernels_propagate_nan_and_inf_like_torch(use):
    torch.manual_seed(0)
    for model in (SimpleWaveNet(filters=6, dilations=(1, 2, 4), horizon=2),
                  WaveNet(channels=8, blocks=1, layers_per_block=3, horizon=2)):
        def run(x, backend, m=model):
            m.backend = backend
            return m(x)

        _compare(lambda x, r=run: r(x, "native"), lambda x, r=run: r(x, "python"), _inputs(1),
                 list(model.parameters()), type(model).__name__)


def test_generation_propagates_nan_like_torch(use):
    torch.manual_seed(0)
    model = WaveNet(channels=8, blocks=1, layers_per_block=3, horizon=2).eval()
    history = torch.randn(3, 9, 1)
    history[1, 4, 0] = float("nan")
    history[2, 6, 0] = float("inf")
    got = model.generate(history, 10, backend="native")
    _same(got, model.generate(history, 10, backend="python"), "generation")
    assert got[1].isnan().all() and not got[0].isnan().any()
