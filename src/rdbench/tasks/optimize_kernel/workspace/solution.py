"""Starting solution: a straightforward NumPy version, processing the input in blocks of 4096
values (bounded memory) and carrying the running sum and the parity between blocks."""

import numpy as np

BLOCK = 4096


def prefix_sum(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.int32)
    y = np.empty(len(x), dtype=np.int32)
    total = 0  # running sum so far (wrapped to int32 at the end of each block)
    odd = 0  # parity of the number of positives before the block
    for start in range(0, len(x), BLOCK):
        block = x[start : start + BLOCK].astype(np.int64)
        positive = (block > 0).astype(np.int64)
        positives_before = odd + np.cumsum(positive) - positive
        counted = np.where(positives_before % 2 == 1, block, 0)
        sums = total + np.cumsum(counted)
        y[start : start + BLOCK] = ((sums + 2**31) % 2**32 - 2**31).astype(np.int32)
        total = int(sums[-1])
        odd = (odd + int(positive.sum())) % 2
    return y
