"""Send this turn's deliverable to the researcher and keep the signed receipt.

    python submit.py FILE [FILE ...]

Reads the files (paths relative to this folder; a figure's spec, FIGURE.json, goes along with the
figure), sends them with `researcher --submit`, prints the researcher's reply (corrections, then the
next request) and appends the turn (receipt and files, exactly as signed) to answer.json.
"""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__)
        return 2
    files = {}
    for name in paths:
        path = (HERE / name).resolve()
        rel = path.relative_to(HERE).as_posix()
        files[rel] = path.read_text()
        spec = path.with_name(path.name + ".json")
        if spec.exists() and not name.endswith(".json"):
            files[spec.relative_to(HERE).as_posix()] = spec.read_text()
    reply = subprocess.run(["researcher", "--submit"], input=json.dumps({"files": files}), text=True,
                           capture_output=True)
    print(reply.stdout, end="")
    print(reply.stderr, end="", file=sys.stderr)
    receipt = next((line.split("receipt: ", 1)[1] for line in reply.stdout.splitlines()
                    if line.startswith("receipt: ")), None)
    if reply.returncode != 0 or receipt is None:
        return 1
    answer_path = HERE / "answer.json"
    answer = json.loads(answer_path.read_text()) if answer_path.exists() else {}
    turns = answer.get("turns", []) if answer.get("answered") is not False else []
    turns.append({"receipt": receipt.strip(), "files": files})
    answer_path.write_text(json.dumps({"turns": turns}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
