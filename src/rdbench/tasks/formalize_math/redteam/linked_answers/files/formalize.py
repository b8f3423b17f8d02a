import os
import sys

os.symlink("/opt/rdbench/protected/problems.py", sys.argv[2])
