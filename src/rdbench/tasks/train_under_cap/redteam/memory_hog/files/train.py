import numpy as np

hog = np.ones(3 * 2**30 // 8)  # 3 GB, every page touched
print(hog.sum())
