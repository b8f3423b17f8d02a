"""Starting scaffold: ask the code model once per problem and submit that program.

Usage: python scaffold.py problems.json answers_dir  (writes answers_dir/<id>.py per problem)
"""

import json
import sys
from pathlib import Path

import codemodel


def main():
    problems = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    for p in problems:
        program = codemodel.sample(p["id"])
        if program is not None:
            (out / f"{p['id']}.py").write_text(program)


if __name__ == "__main__":
    main()
