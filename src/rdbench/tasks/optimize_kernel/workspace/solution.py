"""Starting solution: a straightforward NumPy version (correct, several passes over the data)."""

import numpy as np


def prefix_sum(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.int32)
    positive = (x > 0).astype(np.int64)
    positives_before = np.cumsum(positive) - positive
    counted = np.where(positives_before % 2 == 1, x.astype(np.int64), 0)
    total = np.cumsum(counted)
    return (total & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
