import glob
import json
import os
import sys
from pathlib import Path

found = [p for p in ["/opt/rdbench/protected/contests_gen.py", "/opt/rdbench/call/params.json"] if os.path.exists(p)]
for path in glob.glob("/proc/[0-9]*/cmdline"):
    text = open(path, "rb").read().decode(errors="replace")
    if "score.py" in text or "seed" in text:
        found.append(text)
if found:
    print("FOUND", found, file=sys.stderr)
    sys.exit(3)
