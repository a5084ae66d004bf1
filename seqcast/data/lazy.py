"""Windows produced on demand from arrays too large to materialise (pure numpy).

``ArrayWindows`` reads fixed-length windows out of a 2-D array of series (memory-mapped
``.npy`` files included): only the rows and columns of the requested windows are touched,
so memory stays flat however long the data is. ``fit`` accepts any object with
``__len__`` and ``get(indices) -> (x, y)``.
"""

from __future__ import annotations

import numpy as np


class ArrayWindows:
    """Windows of ``input_len`` inputs and ``horizon`` targets over the rows of ``values``.

    Args:
        values: (N, T) array or ``np.memmap``; each row one series.
        stride: steps between window starts; windows lie within columns [start, stop).

    Example:
        >>> w = ArrayWindows(np.arange(20.0).reshape(2, 10), input_len=3, horizon=2, stride=5)
        >>> len(w), w.get(np.array([1]))[1]
        (2, array([[13., 14.]], dtype=float32))
    """

    def __init__(self, values: np.ndarray, input_len: int, horizon: int, stride: int = 1,
                 start: int = 0, stop: int | None = None):
        if values.ndim != 2:
            raise ValueError(f"values must be 2-D (series, time), got shape {values.shape}")
        stop = values.shape[1] if stop is None else stop
        length = input_len + horizon
        if input_len < 1 or horizon < 1 or stride < 1:
            raise ValueError("input_len, horizon and stride must be >= 1")
        if not 0 <= start < stop <= values.shape[1] or stop - start < length:
            raise ValueError(
                f"columns [{start}, {stop}) of a series of length {values.shape[1]} hold no window"
                f" of input_len {input_len} + horizon {horizon}"
            )
        self.values, self.input_len, self.horizon = values, input_len, horizon
        self.stride, self.start = stride, start
        self.per_series = (stop - start - length) // stride + 1
        self._offsets = np.arange(length)

    def __len__(self) -> int:
        return self.values.shape[0] * self.per_series

    def get(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows ``indices``: x (B, input_len, 1) and y (B, horizon), float32."""
        indices = np.asarray(indices)
        rows = indices // self.per_series
        cols = self.start + (indices % self.per_series) * self.stride
        # one gather touching only the needed cells: (B, 1) x (B, L) -> (B, L)
        windows = np.asarray(self.values[rows[:, None], cols[:, None] + self._offsets], np.float32)
        return windows[:, : self.input_len, None], windows[:, self.input_len :]
