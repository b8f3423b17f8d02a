import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        # the daemon: "trains" for longer than the run, then leaves a model behind
        time.sleep(5)
        import subprocess

        subprocess.run([sys.executable, str(HERE / "real_train.py")], check=False)
        (HERE / "out").mkdir(exist_ok=True)
        shutil.copy(HERE / "out" / "model.pt", HERE / "out" / "late.pt")
    os._exit(0)
sys.exit(0)
