import shutil
import sys
from pathlib import Path

shutil.copy(Path(sys.argv[1]) / "fact.pt", sys.argv[2])
