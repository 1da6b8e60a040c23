"""Array helpers shared by the layers: choosing the fastest of several candidates element-wise.

A model that prices K candidates at once (attention kernels, collective algorithms, tile shapes)
holds their times as a (K, *shape) array; `fastest` picks, per element, the smallest (ties go to
the earlier candidate, as a library heuristic keeps its first choice) and takes any other
per-candidate array at the same picks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# A float or a numpy array of floats (one entry per configuration of a sweep): the layers' formulas
# take and return either, and numpy broadcasts. Its honest static type is Any: numpy's operator and
# overload stubs cannot follow float-or-array arithmetic (docs/design.md, "Strictness").
ArrayLike = Any


class Fastest:
    """The element-wise argmin over the leading (candidate) axis of a (K, *shape) array."""

    def __init__(self, times: np.ndarray):
        self.count, self.shape = times.shape[0], times.shape[1:]
        self.index = np.argmin(times.reshape(self.count, -1), axis=0)
        self._cells = np.arange(self.index.size)

    def take(self, values) -> np.ndarray:
        """`values` (K, *shape) at the picked candidates; an array without the candidate axis is
        shared by every candidate and returned as it is."""
        values = np.asarray(values)
        if values.ndim <= len(self.shape):
            return values
        full = (self.count,) + self.shape
        if values.shape != full:
            values = np.broadcast_to(values, full)
        return values.reshape(self.count, -1)[self.index, self._cells].reshape(self.shape)

    def names(self, names: list[str]):
        """The picked candidates' names: a str for a single element, else an object array."""
        chosen = np.asarray(names[:self.count], dtype=object)[self.index.reshape(self.shape)]
        return str(chosen) if np.ndim(chosen) == 0 else chosen


def fastest(times: np.ndarray) -> Fastest:
    return Fastest(np.asarray(times, dtype=float))
