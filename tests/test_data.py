import numpy as np
import pytest

from seqcast.data.datasets import chapter15
from seqcast.data.synthetic import chapter_series, generate_time_series
from seqcast.data.windows import seq2seq_targets, split_input_target


def _formula(batch, n_steps, seed):
    """The reference recipe written out draw by draw."""
    rng = np.random.RandomState(seed)
    draws = rng.rand(4 * batch).reshape(4, batch)
    f1, f2, o1, o2 = draws
    noise = rng.rand(batch * n_steps).reshape(batch, n_steps)
    out = np.empty((batch, n_steps), dtype=np.float64)
    for b in range(batch):
        for i in range(n_steps):
            t = i / (n_steps - 1)
            out[b, i] = (
                0.5 * np.sin((t - o1[b]) * (10 + 10 * f1[b]))
                + 0.2 * np.sin((t - o2[b]) * (20 + 20 * f2[b]))
                + 0.1 * (noise[b, i] - 0.5)
            )
    return out.astype(np.float32)


def test_generator_matches_formula_exactly():
    ours = chapter_series(7, 13, seed=42)[..., 0]
    assert ours.dtype == np.float32 and ours.shape == (7, 13)
    np.testing.assert_allclose(ours, _formula(7, 13, 42), rtol=0, atol=1e-6)


def test_generator_matches_global_seed_semantics_without_touching_global_state():
    state = np.random.get_state()
    np.random.seed(42)
    freq1, freq2, offsets1, offsets2 = np.random.rand(4, 50, 1)
    noise = np.random.rand(50, 20)
    np.random.set_state(state)
    before = np.random.get_state()[1].copy()
    ours = chapter_series(50, 20, seed=42)
    assert np.array_equal(np.random.get_state()[1], before)
    time = np.linspace(0, 1, 20)
    ref = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    ref += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    ref += 0.1 * (noise - 0.5)
    assert np.array_equal(ours, ref[..., None].astype(np.float32))


def test_generator_rejects_bad_sizes():
    with pytest.raises(ValueError):
        generate_time_series(0, 5, np.random.RandomState(0))


def test_naive_baselines_equal_the_books_figures():
    # Proves the data is the book's: these two numbers only come out of the exact arrays.
    one = chapter15("one_step")
    assert abs(np.mean((one.valid.x[:, -1] - one.valid.y) ** 2) - 0.020211) < 1e-5
    ten = chapter15("ten_step")
    assert abs(np.mean((np.tile(ten.valid.x[:, -1], 10) - ten.valid.y) ** 2) - 0.256974) < 1e-5


@pytest.mark.parametrize(
    "task,y_shape", [("one_step", (1,)), ("ten_step", (10,)), ("seq2seq", (50, 10))]
)
def test_task_shapes(task, y_shape):
    t = chapter15(task)
    assert (len(t.train), len(t.valid), len(t.test)) == (7000, 2000, 1000)
    for split in (t.train, t.valid, t.test):
        assert split.x.shape[1:] == (50, 1)
        assert split.y.shape[1:] == y_shape
        assert split.x.dtype == np.float32 and split.y.dtype == np.float32


def test_seq2seq_target_alignment():
    series = chapter_series(10000, 60, 42)[:100]
    t = chapter15("seq2seq")
    y = t.train.y
    for k in range(1, 11):
        np.testing.assert_array_equal(y[:100, :, k - 1], series[:, k : k + 50, 0])
    # the forecast made at the last input step is the ten-step task's target
    np.testing.assert_array_equal(y[:, -1], chapter15("ten_step").train.y)


def test_windows_helpers_validate_length():
    s = np.zeros((2, 10, 1), np.float32)
    with pytest.raises(ValueError, match="too short"):
        seq2seq_targets(s, 8, 3)
    with pytest.raises(ValueError, match="too short"):
        split_input_target(s, 8, 3)
    x, y = split_input_target(np.arange(10, dtype=np.float32).reshape(1, 10, 1), 7, 3)
    assert x[0, -1, 0] == 6 and list(y[0]) == [7, 8, 9]


def test_splits_do_not_leak():
    t = chapter15("one_step")
    series = chapter_series(10000, 51, 42)
    np.testing.assert_array_equal(t.train.x, series[:7000, :50])
    np.testing.assert_array_equal(t.valid.x, series[7000:9000, :50])
    np.testing.assert_array_equal(t.test.x, series[9000:, :50])
    # no series appears in two splits
    keys = [{row.tobytes() for row in split.x} for split in (t.train, t.valid, t.test)]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    # a target is never part of its own input
    assert not np.any(np.all(t.valid.x[:, -1] == t.valid.y, axis=1))


def test_unknown_task_lists_valid_ones():
    with pytest.raises(ValueError, match="one_step, ten_step, seq2seq"):
        chapter15("two_step")
