"""Windows produced on demand from arrays too large to materialise (pure numpy).

``ArrayWindows`` reads fixed-length windows out of a 2-D array of series: an in-memory
array, or an ``NpyFile`` on disk from which each window is one positioned read, so the
resident memory stays flat however large the file (a memory map would keep every page it
touched resident). ``fit`` accepts any object with ``__len__`` and ``get(indices) -> (x, y)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class NpyFile:
    """A 2-D float ``.npy`` file read window by window with ``os.pread`` (no mapping).

    Example:
        >>> windows = ArrayWindows(NpyFile("series.npy"), input_len=50, horizon=10, stride=25)
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(f)
                self.offset = f.tell()
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: not a readable .npy file ({exc})") from None
        if len(shape) != 2 or fortran or dtype.kind != "f":
            raise ValueError(f"{self.path}: expected a 2-D C-ordered float array, got {shape} {dtype}")
        self.shape, self.dtype, self.ndim = shape, dtype, 2
        self._fd = os.open(self.path, os.O_RDONLY)

    def read(self, rows: np.ndarray, cols: np.ndarray, length: int) -> np.ndarray:
        """Windows (B, length) starting at (rows[i], cols[i])."""
        out = np.empty((len(rows), length), self.dtype)
        size, row_bytes = self.dtype.itemsize, self.shape[1] * self.dtype.itemsize
        for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
            buf = os.pread(self._fd, length * size, self.offset + r * row_bytes + c * size)
            out[i] = np.frombuffer(buf, self.dtype)
        return out

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)


class ArrayWindows:
    """Windows of ``input_len`` inputs and ``horizon`` targets over the rows of ``values``.

    Args:
        values: (N, T) array or ``NpyFile``; each row one series.
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
        if isinstance(self.values, NpyFile):
            windows = self.values.read(rows, cols, len(self._offsets)).astype(np.float32, copy=False)
        else:  # one gather touching only the needed cells: (B, 1) x (B, L) -> (B, L)
            windows = np.asarray(self.values[rows[:, None], cols[:, None] + self._offsets], np.float32)
        return windows[:, : self.input_len, None], windows[:, self.input_len :]
