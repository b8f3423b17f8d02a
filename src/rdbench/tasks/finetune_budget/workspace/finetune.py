"""Fine-tune the base on the whole pool with default settings (the starting solution).

    python finetune.py BASE_PT POOL_DIR OUT_PT

Every row of every ``*.jsonl`` file of the pool (loss on the answer) and every line of ``text.txt``
(loss on every word), shuffled together; AdamW at a constant learning rate; ``lm.save_model``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lm  # noqa: E402

STEPS, BATCH, LR = 600, 32, 3e-3


def main() -> None:
    base, pool, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    vocab = lm.Vocab()
    model = lm.load_model(base)
    width = model.cfg.block_size
    pairs = [(r["prompt"], r["answer"]) for f in sorted(pool.glob("*.jsonl"))
             for r in map(json.loads, f.read_text().splitlines())]
    text = (pool / "text.txt").read_text().splitlines()
    ids_p, mask_p = lm.batch(vocab, pairs, width)
    ids_t, mask_t = lm.text_batch(vocab, text, width)
    ids, mask = torch.cat([ids_p, ids_t]), torch.cat([mask_p, mask_t])
    order = list(range(len(ids)))
    random.Random(0).shuffle(order)
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    model.train()
    for step in range(STEPS):
        pick = torch.tensor([order[(step * BATCH + i) % len(order)] for i in range(BATCH)])
        x, m = ids[pick], mask[pick]
        n = int(m.any(0).nonzero().max()) + 1  # crop the padding every row has
        x, m = x[:, :n + 1], m[:, :n]
        loss = F.cross_entropy(model(x[:, :-1])[m], x[:, 1:][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    lm.save_model(model, out)


if __name__ == "__main__":
    main()
