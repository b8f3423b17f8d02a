"""The agent's side of optimize_kernel's timing protocol (copied next to the buffers, run sandboxed).

Started by the scorer in a nested sandbox with the workspace as its working directory:
``python child.py BUFFER_DIR CAPACITY``. It maps the scorer's two shared buffers once (input and
output, CAPACITY int32 each, pages loaded), imports ``solution``, says ``ready``, and then for every
``go N`` line calls ``prefix_sum`` on the first N input values, copies the result into the output
buffer and says ``done``. The scorer writes each real input into the buffer only after its clock has
started, so nothing this process does before ``go`` can see it.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
from typing import Any

proto = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)  # the agent's prints go to stderr, never into the protocol
sys.stdout = sys.stderr


def say(text: str) -> None:
    proto.write((text + "\n").encode())


def main() -> None:
    import numpy as np

    folder, capacity = sys.argv[1], int(sys.argv[2])
    populate = getattr(mmap, "MAP_POPULATE", 0)
    views: dict[str, Any] = {}
    for name in ("in", "out"):
        with open(os.path.join(folder, name), "r+b") as handle:
            if capacity:
                mapped = mmap.mmap(handle.fileno(), capacity * 4, flags=mmap.MAP_SHARED | populate)
                views[name] = np.frombuffer(mapped, dtype=np.int32, count=capacity)
            else:
                views[name] = np.empty(0, dtype=np.int32)
    views["out"][::1024] = views["out"][::1024]  # one write per page now: writing the result takes no faults
    sys.path.insert(0, os.getcwd())
    try:
        import solution  # type: ignore[import-not-found]  # the agent's, from the workspace

        fn = solution.prefix_sum
    except BaseException as error:
        say("error " + json.dumps(f"importing solution.py failed: {type(error).__name__}: {error}"))
        sys.exit(1)
    say("ready")
    for line in sys.stdin:
        if not line.startswith("go "):
            break
        n = int(line.split()[1])
        try:
            x = views["in"][:n]
            y = fn(x)
            if type(y) is not np.ndarray or y.dtype != np.int32 or y.shape != (n,):
                say("error " + json.dumps(f"prefix_sum must return a numpy int32 array of shape ({n},), got "
                                          f"{type(y).__name__} {getattr(y, 'dtype', '')} {getattr(y, 'shape', '')}"))
                continue
            views["out"][:n] = y
            say("done")
        except BaseException as error:
            say("error " + json.dumps(f"prefix_sum raised {type(error).__name__}: {error}"))


if __name__ == "__main__":
    main()
