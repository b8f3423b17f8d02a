"""implement_spec family: real instances via the materialiser; the reference passes every check,
the stub none, and a subtly wrong variant fails the numerical checks; metrics per level."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import fresh_instances, score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "implement_spec"




COMPS = _module(TASK / "protected" / "components.py")
# One instance per detail level, covering a metric, an optimiser, an attention variant, a schedule.
SEEDS = [12, 5, 6, 15]


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return fresh_instances(TASK, tmp_path_factory.mktemp("cache"), SEEDS)


def _score(root: Path, tmp: Path, component: str | None = None, reference: bool = False, seed: int = 5) -> dict[str, Any]:
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / "workspace", ws)
    if reference:
        shutil.copytree(root / "reference", ws, dirs_exist_ok=True)
    if component is not None:
        (ws / "component.py").write_text(component)
    return score_root(TASK, root, ws, seed=seed)


def test_anchors_and_levels(instances: list[Path], tmp_path: Path) -> None:
    meta = [json.loads((r / "protected" / "instance.json").read_text()) for r in instances]
    assert {m["level"] for m in meta} == {"pseudo", "equations", "prose", "intent"}
    assert {m["kind"] for m in meta} == {"metric", "optimizer", "attention", "scheduler"}
    for root, m in zip(instances, meta, strict=True):
        text = (root / "instructions.md").read_text()
        assert "## Specification" in text and f"component({COMPS.KINDS[m['kind']]['args']})" in text
        assert f"def component({COMPS.KINDS[m['kind']]['args']})" in (root / "workspace" / "component.py").read_text()
    ref = [_score(r, tmp_path, reference=True, seed=s) for s, r in enumerate(instances)]
    assert all(r["value"] == 1.0 for r in ref), [r["message"] for r in ref]
    assert all(r["details"]["gradients"] is (None if r["details"]["kind"] != "attention" else True) for r in ref)
    start = [_score(r, tmp_path) for r in instances]
    assert all(s["value"] == 0.0 for s in start)
    metrics = _module(TASK / "metrics.py").metrics
    assert metrics(ref)["pass_rate"] == 1.0 and metrics(ref)["detail_gap"] == 0.0
    assert metrics(start)["pass_rate"] == 0.0


def test_wrong_variant_fails(instances: list[Path], tmp_path: Path) -> None:
    # The right attention with another slope: values, gradients and training all drift.
    root = instances[2]
    reference = (root / "reference" / "component.py").read_text()
    inst = json.loads((root / "protected" / "instance.json").read_text())
    key, value = next(iter(inst["p"].items()))
    wrong = reference.replace(f"'{key}': {value!r}", f"'{key}': {value * 1.5!r}")
    assert wrong != reference
    result = _score(root, tmp_path, wrong)
    assert result["details"]["numeric"] is False and result["details"]["gradients"] is False
    assert result["value"] < 1.0
    # A metric returned in float32 fails the numeric check (the dtype must match).
    root = instances[0]
    reference = (root / "reference" / "component.py").read_text()
    wrapped = reference + "\n_c = component\n\ndef component(scores, target):\n    return _c(scores, target).float()\n"
    assert _score(root, tmp_path, wrapped)["details"]["numeric"] is False


def test_references_agree_with_torch() -> None:
    """The library's references against torch's own implementations, where torch has one."""
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(6, 3, generator=g, dtype=torch.float64)
    grads = [torch.randn(6, 3, generator=g, dtype=torch.float64) for _ in range(10)]
    cases = [(COMPS.adam, {"b1": 0.8, "b2": 0.99, "eps": 1e-3}, lambda q: torch.optim.Adam([q], lr=0.05, betas=(0.8, 0.99), eps=1e-3)),
             (COMPS.adamw, {"wd": 0.3}, lambda q: torch.optim.AdamW([q], lr=0.05, weight_decay=0.3)),
             (COMPS.nesterov_sgd, {"mu": 0.9}, lambda q: torch.optim.SGD([q], lr=0.05, momentum=0.9, nesterov=True))]
    for fn, consts, make in cases:
        mine, state = p0.clone(), {}
        theirs = p0.clone().requires_grad_(True)
        opt = make(theirs)
        for grad in grads:
            mine = fn(mine, grad, state, 0.05, consts)
            theirs.grad = grad.clone()
            opt.step()
        assert torch.allclose(mine, theirs.detach(), rtol=1e-10, atol=1e-12), fn.__name__
    q, k, v = (torch.randn(2, 7, 4, generator=g, dtype=torch.float64) for _ in range(3))
    causal = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(COMPS.alibi_attention(q, k, v, {"m": 0.0}), causal)
    assert torch.allclose(COMPS.local_attention(q, k, v, {"w": 7}), causal)
    assert torch.allclose(COMPS.softcap_attention(q, k, v, {"cap": 1e6}), causal)
    assert not torch.allclose(COMPS.local_attention(q, k, v, {"w": 2}), causal)
    scores, target = torch.randn(50, 6, generator=g, dtype=torch.float64), torch.randint(0, 6, (50,), generator=g)
    assert float(COMPS.topk_accuracy(scores, target, {"k": 6})) == 1.0
    assert float(COMPS.topk_accuracy(scores, target, {"k": 1})) == float((scores.argmax(1) == target).double().mean())
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    want = sklearn_metrics.fbeta_score(target.numpy(), scores.argmax(1).numpy(), beta=2.0, average="macro",
                                       labels=list(range(6)), zero_division=0)
    assert float(COMPS.macro_fbeta(scores, target, {"beta": 2.0})) == pytest.approx(want)
    for name in ("warmup_cosine", "inverse_sqrt", "wsd"):
        fn, consts = COMPS.FUNCS[name], {k: v[0] for k, v in COMPS.SPECS[name]["params"].items()}
        values = [fn(s, 100, consts) for s in range(100)]
        assert max(values) == pytest.approx(1.0) and all(0.0 <= x <= 1.0 + 1e-12 for x in values), name
