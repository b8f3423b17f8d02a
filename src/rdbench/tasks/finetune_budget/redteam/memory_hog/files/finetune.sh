#!/bin/bash
python -c "import numpy as np; hog = np.ones(3 * 2**30 // 8); print(hog.sum())"
