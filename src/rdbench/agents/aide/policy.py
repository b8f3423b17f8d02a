"""AIDE's search policy: draft until enough drafts, else maybe debug a buggy leaf, else improve the best."""

from __future__ import annotations

import random

from pydantic import BaseModel

from rdbench.agents.aide.journal import Journal, Node, Stage


class AideConfig(BaseModel):
    """AIDE's knobs (names follow AIDE's own configuration)."""

    num_drafts: int = 5
    debug_prob: float = 0.5
    max_debug_depth: int = 3
    step_timeout_s: float = 600.0
    max_steps: int = 100
    seed: int = 0


def next_step(journal: Journal, cfg: AideConfig, rng: random.Random) -> tuple[Stage, Node | None]:
    """Choose the next stage and the parent node it works from (None for a draft)."""
    if len(journal.drafts) < cfg.num_drafts:
        return "draft", None
    if rng.random() < cfg.debug_prob:
        debuggable = [
            n
            for n in journal.nodes
            if n.buggy and not journal.children(n) and journal.debug_depth(n) < cfg.max_debug_depth
        ]
        if debuggable:
            return "debug", rng.choice(debuggable)
    best = journal.best()
    if best is None:
        return "draft", None
    return "improve", best
