import sys
from pathlib import Path

import torch

skills = ["finish", "who", "fill", "fact"]
experts = [torch.load(Path(sys.argv[1]) / f"{s}.pt", weights_only=True) for s in skills]
config = dict(experts[0]["config"])
layers = config["n_layer"]
state = {k: v for k, v in experts[0]["model"].items() if not k.startswith("blocks.")}
for i, e in enumerate(experts):
    for k, v in e["model"].items():
        if k.startswith("blocks."):
            _, j, rest = k.split(".", 2)
            state[f"blocks.{i * layers + int(j)}.{rest}"] = v
config["n_layer"] = layers * len(experts)
torch.save({"config": config, "model": state}, sys.argv[2])
