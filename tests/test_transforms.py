import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcast.data.sliding import sliding_windows
from seqcast.data.transforms import SeriesTransform, difference, split_points, undifference

lags_strategy = st.lists(st.sampled_from([1, 2, 4, 7, 12]), min_size=0, max_size=3)


@settings(max_examples=60, deadline=None)
@given(lags=lags_strategy, seed=st.integers(0, 2**16), cut=st.integers(40, 90), scale=st.booleans())
def test_forward_then_inverse_gives_back_the_series(lags, seed, cut, scale):
    rng = np.random.default_rng(seed)
    t = np.arange(120)
    x = 1e3 + 5 * t + 50 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 10, 120).cumsum()
    tf = SeriesTransform.fit(x[:cut], lags, scale)
    z = tf.forward(x)
    assert z.shape == (120 - sum(lags),)
    # The transformed values after the cut, inverted with the history before it.
    back = tf.inverse(z[cut - tf.span :], x[:cut])
    np.testing.assert_allclose(back, x[cut:], rtol=0, atol=1e-9 * np.abs(x).max())


def test_inverse_is_batched_over_leading_axes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 50)).cumsum(-1)
    tf = SeriesTransform((1, 4), mean=0.5, std=2.0)
    z = tf.forward(x)  # (3, 45)
    np.testing.assert_allclose(tf.inverse(z[:, 25:], x[:, :30]), x[:, 30:], atol=1e-12)
    d = difference(x, 4)
    np.testing.assert_allclose(undifference(d[:, 20:], x[:, :24], 4), x[:, 24:], atol=1e-12)


def test_scaling_is_fitted_on_the_training_part_only():
    x = np.arange(100.0) ** 1.5
    tf = SeriesTransform.fit(x[:60], (1,))
    changed = x.copy()
    changed[60:] *= 10
    assert SeriesTransform.fit(changed[:60], (1,)) == tf
    z = tf.forward(x[:60])
    assert z.mean() == pytest.approx(0, abs=1e-12) and z.std() == pytest.approx(1)


def test_transform_json_round_trip_and_bad_input():
    tf = SeriesTransform.fit(np.arange(30.0) ** 2, (1, 12))
    assert SeriesTransform.from_dict(tf.to_dict()) == tf
    with pytest.raises(ValueError, match="lag must be >= 1"):
        difference(np.arange(5.0), 0)
    with pytest.raises(ValueError, match="too short"):
        SeriesTransform.fit(np.arange(12.0), (12,))


def test_split_points_by_time():
    assert split_points(100, 0.2, 0.1) == (70, 90)
    with pytest.raises(ValueError, match="valid_frac must be in"):
        split_points(100, 1.5)


@pytest.mark.parametrize("stride", [1, 3])
def test_sliding_windows_read_the_past_and_forecast_inside_the_range(stride):
    z = np.arange(40.0)
    x, y = sliding_windows(z, 6, 3, stride, "direct", start=20, end=35)
    origins = x[:, -1, 0] + 1
    assert origins.min() >= 20 and (origins + 3).max() == 35  # newest window always used
    np.testing.assert_array_equal(np.diff(origins), stride)
    np.testing.assert_array_equal(y, origins[:, None] + np.arange(3))
    np.testing.assert_array_equal(x[:, :, 0], origins[:, None] - 6 + np.arange(6))
    xs, ys = sliding_windows(z, 6, 3, stride, "seq2seq", start=20, end=35)
    np.testing.assert_array_equal(xs, x)
    # y[:, t, k-1] is the value k steps after input step t
    np.testing.assert_array_equal(ys, x[:, :, :1] + 1 + np.arange(3))
    assert sliding_windows(z, 30, 20)[0].shape == (0, 30, 1)
