import os
import sys

os.symlink(os.path.join(sys.argv[1], "fact.pt"), sys.argv[2])
