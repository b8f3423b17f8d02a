"""The GGUF loader: SmolLM2-135M dequantised into a torch Llama agrees with llama.cpp's logits (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rdbench.tasklib import smollm

TEXT = ("The history of the city goes back to a small fishing village on the river. Over the centuries "
        "it grew into a trading port, and by the eighteenth century its harbour was one of the busiest in "
        "the country. Today the old town is a popular destination for visitors, who come to see")


@pytest.fixture(scope="module")
def model() -> smollm.Llama:
    torch.set_num_threads(2)
    return smollm.load_smollm2()


def _llama_cpp_logits(ids: list[int]) -> np.ndarray:
    from llama_cpp import Llama as LlamaCpp

    llm = LlamaCpp(model_path=str(smollm.gguf_path()), logits_all=True, n_ctx=256, n_threads=2, verbose=False)
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float64)


def _compare(ours: torch.Tensor, ref: np.ndarray) -> tuple[float, float]:
    """(top-1 agreement, mean KL(llama.cpp || ours)) over positions."""
    lp = torch.log_softmax(ours.double(), -1)
    lr = torch.log_softmax(torch.from_numpy(ref), -1)
    agree = float((lp.argmax(-1) == lr.argmax(-1)).double().mean())
    kl = float((lr.exp() * (lr - lp)).sum(-1).mean())
    return agree, kl


def test_the_config_is_smollm2_135m(model: smollm.Llama) -> None:
    cfg = model.cfg
    assert (cfg.n_layers, cfg.dim, cfg.n_heads, cfg.n_kv_heads, cfg.hidden_dim) == (30, 576, 9, 3, 1536)
    assert cfg.vocab_size == 49152 and cfg.tie_embeddings
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert 134_000_000 < smollm.count_parameters(model) < 135_000_000
    assert all(p.dtype == torch.float32 and bool(torch.isfinite(p).all()) for p in model.parameters())


def test_the_forward_pass_matches_llama_cpp(model: smollm.Llama) -> None:
    """Same ids through both: the next-token distributions agree (llama.cpp quantises activations to
    8 bits for its Q4_1 products, so not bit for bit), and a loader that leaves q and k in llama.cpp's
    row order (a classic bug: rotary positions on the wrong pairs) is far off: the check has teeth."""
    ids = smollm.tokenize(TEXT)
    assert 50 < len(ids) < 200
    ref = _llama_cpp_logits(ids)
    with torch.no_grad():
        ours = model(torch.tensor([ids]))[0]
    agree, kl = _compare(ours, ref)
    assert agree >= 0.9 and kl < 0.03, (agree, kl)
    # the text is English the model knows: its loss is that of a real language model
    nll = float(torch.nn.functional.cross_entropy(ours[:-1].double(), torch.tensor(ids[1:])))
    assert nll < 4.0, nll
    # negative control: q and k rows left permuted
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for i in range(model.cfg.n_layers):
        for name, heads in (("q_proj", model.cfg.n_heads), ("k_proj", model.cfg.n_kv_heads)):
            key = f"model.layers.{i}.self_attn.{name}.weight"
            w = state[key]
            state[key] = w.reshape(heads, 2, w.shape[0] // heads // 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)
    broken = smollm.Llama(model.cfg)
    broken.load_state_dict(state)
    with torch.no_grad():
        bad = broken.eval()(torch.tensor([ids]))[0]
    bad_agree, bad_kl = _compare(bad, ref)
    assert bad_kl > 10 * kl and bad_kl > 0.1 and bad_agree < agree, (bad_kl, kl, bad_agree)


def test_read_gguf_refuses_what_it_does_not_know(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError):
        smollm.read_gguf("/nonexistent/model.gguf")
