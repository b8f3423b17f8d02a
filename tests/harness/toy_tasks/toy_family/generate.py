import json
import random


def generate(seed, out, params):
    rng = random.Random(seed)
    hidden = rng.randrange(params["max_value"] + 1)
    (out / "workspace").mkdir(parents=True)
    (out / "workspace" / "answer.txt").write_text("0\n")
    (out / "protected").mkdir()
    (out / "protected" / "hidden.json").write_text(json.dumps({"hidden": hidden}))
    (out / "reference").mkdir()
    (out / "reference" / "answer.txt").write_text(f"{hidden}\n")
    (out / "instructions.md").write_text(f"This is instance {seed}.\n")
    return {"hidden": hidden}
