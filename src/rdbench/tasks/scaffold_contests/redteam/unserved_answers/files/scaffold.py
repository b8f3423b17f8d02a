import json
import sys
from pathlib import Path

problems = json.loads(Path(sys.argv[1]).read_text())
out = Path(sys.argv[2])
for p in problems:
    (out / f"{p['id']}.py").write_text("print(sum(int(t) for t in __import__('sys').stdin.read().split()))\n")
