"""The compressible Llama: it reproduces tasklib.smollm's Llama exactly, its cuts are what the config
says (low rank, sharing, fewer heads and units), its size is counted from shapes and dtypes, and
configs that are not cuts of the original are refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from rdbench.tasklib import smollm
from rdbench.tasklib.compressible import (
    CompressibleLlama,
    ConfigError,
    expected_tensors,
    from_llama_state,
    size_bytes,
    validate_config,
)

TINY = smollm.LlamaConfig(vocab_size=50, dim=32, n_layers=3, n_heads=4, n_kv_heads=2, hidden_dim=48,
                          max_seq_len=64)


@pytest.fixture(scope="module")
def pair() -> tuple[smollm.Llama, dict[str, Any], dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    llama = smollm.Llama(TINY).eval()
    for p in llama.parameters():  # non-trivial norms too
        p.data.normal_(0.0, 0.2)
    config, state = from_llama_state(llama.state_dict(), TINY.to_dict())
    return llama, config, state


def _model(config: dict[str, Any], state: dict[str, torch.Tensor]) -> CompressibleLlama:
    model = CompressibleLlama(config)
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_the_full_model_matches_smollms_llama(pair: tuple[smollm.Llama, dict[str, Any], dict[str, torch.Tensor]]
                                              ) -> None:
    llama, config, state = pair
    ids = torch.randint(0, 50, (2, 20))
    with torch.no_grad():
        assert torch.allclose(_model(config, state)(ids), llama(ids), atol=1e-5)
    assert size_bytes(state) == 4 * (sum(p.numel() for p in llama.parameters()))


def test_cuts_are_what_the_config_says(pair: tuple[smollm.Llama, dict[str, Any], dict[str, torch.Tensor]]) -> None:
    _llama, config, state = pair
    ids = torch.randint(0, 50, (2, 20))
    full = _model(config, state)
    # an exact low-rank factorisation (full rank) changes nothing; the size counts A and B
    cut = copy.deepcopy(config)
    cut["layers"][0]["ranks"] = {"down": 32}
    low = {k: v for k, v in state.items() if k != "layers.0.down.weight"}
    u, s, vh = torch.linalg.svd(state["layers.0.down.weight"], full_matrices=False)
    low["layers.0.down.A"], low["layers.0.down.B"] = vh, u * s
    with torch.no_grad():
        assert torch.allclose(_model(cut, low)(ids), full(ids), atol=1e-4)
    assert size_bytes(low) == size_bytes(state) + 4 * (32 * 48 + 32 * 32 - 32 * 48)
    # sharing: layer 2 reuses layer 0's weights and holds none of its own
    shared = copy.deepcopy(config)
    shared["layers"][2]["share"] = 0
    names = expected_tensors(shared)
    assert not [n for n in names if n.startswith("layers.2.")]
    kept = {k: v for k, v in state.items() if not k.startswith("layers.2.")}
    model = _model(shared, kept)
    assert model.owner == [0, 1, 0]
    # fewer heads and units: shapes follow
    small = copy.deepcopy(config)
    small["layers"][1].update(n_heads=2, n_kv_heads=1, hidden=10)
    shapes = expected_tensors(small)
    assert shapes["layers.1.q.weight"] == [16, 32] and shapes["layers.1.k.weight"] == [8, 32]
    assert shapes["layers.1.down.weight"] == [32, 10]
    # no attention, no MLP
    empty = copy.deepcopy(config)
    empty["layers"][1].update(n_heads=0, n_kv_heads=0, hidden=0)
    assert not [n for n in expected_tensors(empty) if n.startswith("layers.1.")]
    assert size_bytes({"a": torch.zeros(3, 4, dtype=torch.float16), "b": torch.zeros(5)}) == 24 + 20


def _edit(config: dict[str, Any], fn: Any) -> dict[str, Any]:
    out = copy.deepcopy(config)
    fn(out)
    return out


REFUSED = {
    "more units": (lambda c: c["layers"][0].update(hidden=49), "more heads or MLP units"),
    "more layers": (lambda c: c["layers"].append(dict(c["layers"][0])), "at most 3 layers"),
    "other width": (lambda c: c.update(dim=64), "dim must stay"),
    "kv not dividing": (lambda c: c["layers"][0].update(n_heads=3), "must divide"),
    "share forward": (lambda c: c["layers"][0].update(share=1), "earlier layer"),
    "share other shape": (lambda c: c["layers"][1].update(share=0, hidden=10), "must have its shape"),
    "unknown projection": (lambda c: c["layers"][0].update(ranks={"qkv": 4}), "ranks must map"),
    "zero rank": (lambda c: c["layers"][0].update(ranks={"q": 0}), "must be an integer >= 1"),
    "extra key": (lambda c: c.update(quant="int4"), "config keys must be exactly"),
    "extra layer key": (lambda c: c["layers"][0].update(bits=4), "keys must be exactly"),
    "float heads": (lambda c: c["layers"][0].update(n_heads=4.0), "must be an integer"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_configs_that_are_not_cuts_are_refused(case: str, pair: tuple[Any, dict[str, Any], Any]) -> None:
    _llama, config, _state = pair
    fn, needle = REFUSED[case]
    with pytest.raises(ConfigError, match=needle):
        validate_config(_edit(config, fn), config)
    validate_config(config, config)  # the original itself is a (null) cut


@pytest.mark.slow
def test_smollm2_loads_into_the_compressible_class() -> None:
    """Full scale's path on CPU: SmolLM2-135M in the compressible format gives smollm.Llama's logits."""
    cfg, state = smollm.read_gguf()
    config, ours = from_llama_state(state, cfg.to_dict())
    model = _model(config, ours)
    reference = smollm.Llama(cfg)
    reference.load_state_dict(state)
    ids = torch.tensor([smollm.tokenize("The capital of France is Paris, and the capital of Italy is")])
    with torch.no_grad():
        assert torch.allclose(model(ids), reference.eval()(ids), atol=1e-3)
    assert size_bytes({k: v.half() for k, v in ours.items()}) == 2 * smollm.count_parameters(reference)
