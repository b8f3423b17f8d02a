"""Score restricted_mlm: masked-LM loss of a model whose forward pass uses only allowed operations.

How the restriction is enforced (no honour system, and the agent's code never runs in this process):

1. A subprocess (which the harness puts in a nested sandbox without the hidden data) imports the
   agent's ``model.py``, calls ``load_model(workspace)``, traces the model with ``torch.export`` on
   int64 token ids of shape (batch, block), decomposes it to core ATen operations and writes the graph
   as JSON (``graph.json``: operation names and constant arguments) and the tensors it reads as plain
   arrays (``weights.npz``).
2. This process reads those two files as data only (``json`` and ``numpy.load(allow_pickle=False)``;
   nothing is unpickled and no code from the workspace is imported), checks every operation against
   the allow-list below and runs the graph itself with its own interpreter, which can execute nothing
   but allow-listed operations. Whatever the subprocess writes, the numbers that are scored come from
   allowed operations only.
3. The interpreter runs the graph on fresh hidden windows with fresh masks (drawn from
   ``params["seed"]``) and this process computes the masked cross-entropy from the returned logits
   (the loss's softmax is the scorer's, outside the model).

Run it yourself from the workspace to check a model on the validation data (no hidden data needed):
``python /home/agent/score.py`` (options: ``--data data/val.txt --seed 0``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import operator
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

BLOCK = 64
MASK_FRAC = 0.15
ALLOWED_DTYPES = {torch.float32, torch.float64, torch.int64, torch.int32}
DTYPES = {str(d): d for d in ALLOWED_DTYPES}
MEMORY_FORMATS = {"torch.contiguous_format": torch.contiguous_format,
                  "torch.preserve_format": torch.preserve_format}

# The allow-list, by core ATen overload. Any other operation (including custom ops, in-place variants
# and every division, exp/log, normalisation, softmax, comparison, rounding or uninitialised-memory
# operation) is forbidden.
ALLOWED = {
    # linear maps and contractions
    "aten.mm.default", "aten.bmm.default", "aten.addmm.default", "aten.baddbmm.default",
    "aten.matmul.default", "aten.linear.default", "aten.einsum.default",
    # embedding lookup
    "aten.embedding.default",
    # addition, subtraction, multiplication, whole powers
    "aten.add.Tensor", "aten.add.Scalar", "aten.sub.Tensor", "aten.sub.Scalar", "aten.rsub.Scalar",
    "aten.rsub.Tensor", "aten.mul.Tensor", "aten.mul.Scalar", "aten.neg.default",
    "aten.pow.Tensor_Scalar",
    # sums
    "aten.sum.dim_IntList", "aten.sum.default", "aten.cumsum.default",
    # the one nonlinearity
    "aten.relu.default",
    # indexing and reshaping
    "aten.view.default", "aten._unsafe_view.default", "aten.reshape.default", "aten.permute.default",
    "aten.transpose.int", "aten.t.default", "aten.expand.default", "aten.unsqueeze.default",
    "aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default", "aten.slice.Tensor",
    "aten.select.int", "aten.index.Tensor", "aten.index_select.default", "aten.gather.default",
    "aten.cat.default", "aten.stack.default", "aten.split.Tensor", "aten.split_with_sizes.default",
    "aten.unbind.int", "aten.flip.default", "aten.constant_pad_nd.default", "aten.repeat.default",
    "aten.tril.default", "aten.triu.default", "aten.clone.default", "aten.alias.default",
    "aten.lift_fresh_copy.default", "aten.detach.default", "aten._to_copy.default", "getitem",
    # constants
    "aten.arange.default", "aten.arange.start", "aten.arange.start_step", "aten.full.default",
    "aten.zeros.default", "aten.ones.default", "aten.scalar_tensor.default", "aten.zeros_like.default",
    "aten.ones_like.default", "aten.full_like.default",
}
NO_OPS = {"aten._assert_tensor_metadata.default"}  # metadata assertions: nothing to compute

# Why a forbidden operation is forbidden (shown to the agent): exact ATen names first, then substrings.
WHY_EXACT = {
    "gt": "comparison", "lt": "comparison", "ge": "comparison", "le": "comparison", "eq": "comparison",
    "ne": "comparison", "where": "comparison", "max": "comparison", "min": "comparison",
    "maximum": "comparison", "minimum": "comparison", "amax": "comparison", "amin": "comparison",
    "argmax": "comparison", "argmin": "comparison", "sort": "comparison", "topk": "comparison",
    "abs": "comparison (write relu(x) + relu(-x))", "sign": "comparison", "hardtanh": "comparison",
    "leaky_relu": "comparison", "threshold": "comparison", "mean": "division (multiply a sum by 1/n)",
    "pow": "only whole powers >= 1 are allowed",
}
WHY_PART = [
    ("div", "division"), ("reciprocal", "division"), ("rsqrt", "division"), ("remainder", "division"),
    ("fmod", "division"), ("softmax", "softmax"), ("norm", "normalisation"), ("var", "normalisation"),
    ("std", "normalisation"), ("exp", "exponential"), ("sigmoid", "exponential"), ("tanh", "exponential"),
    ("elu", "exponential"), ("silu", "exponential"), ("gelu", "exponential"), ("log", "logarithm"),
    ("sqrt", "square root"), ("clamp", "comparison"), ("masked", "comparison"), ("floor", "rounding"),
    ("ceil", "rounding"), ("round", "rounding"), ("trunc", "rounding"), ("empty", "uninitialised memory"),
    ("rand", "randomness"), ("dropout", "randomness"), ("bernoulli", "randomness"),
]


def _why(op: str) -> str:
    """A short reason why ``op`` (e.g. ``aten.div.Tensor``) is not allowed."""
    parts = op.split(".")
    name = parts[1] if len(parts) == 3 and parts[0] == "aten" else op
    if name.endswith("_") and name[:-1] in WHY_EXACT:
        name = name[:-1]
    if name in WHY_EXACT:
        return WHY_EXACT[name]
    for key, reason in WHY_PART:
        if key in name:
            return reason
    if parts[0] != "aten":
        return "not an ATen operation (custom operations are not allowed)"
    return "not on the allow-list"


class Forbidden(Exception):
    """The graph uses something the rules do not allow."""


def _nan(msg: str, **details: Any) -> dict[str, Any]:
    return {"value": float("nan"), "message": msg, "details": details}


# ---------------------------------------------------------------------------------------------------
# The exporter: runs in a subprocess (nested sandbox) and is the only place the agent's code runs.
EXPORTER = r'''
import json, os, sys, pathlib, operator
import numpy as np
import torch
ws, out = sys.argv[1], pathlib.Path(sys.argv[2])
batch, block, vocab = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, ws)
os.chdir(ws)
import model as agent_model
m = agent_model.load_model(ws)
if not isinstance(m, torch.nn.Module):
    sys.exit("load_model() must return a torch.nn.Module")
m = m.to("cpu").eval()
g = torch.Generator().manual_seed(0)
ids = torch.randint(0, vocab, (batch, block), generator=g)
with torch.no_grad():
    eager = m(ids)
    ep = torch.export.export(m, (ids,))
table = torch.export.default_decompositions()
for keep in (torch.ops.aten.tril.default, torch.ops.aten.triu.default):
    table.pop(keep, None)  # allowed as they are (their decompositions compare indices)
ep = ep.run_decompositions(table)
sig = {s.arg.name: s for s in ep.graph_signature.input_specs}
arrays, nodes = {}, []
def enc(a):
    if isinstance(a, torch.fx.Node):
        return {"node": a.name}
    if isinstance(a, (list, tuple)):
        return [enc(x) for x in a]
    if a is None or isinstance(a, (bool, int, float, str)):
        return a
    if isinstance(a, torch.dtype):
        return {"dtype": str(a)}
    if isinstance(a, torch.device):
        return {"device": str(a)}
    if isinstance(a, torch.layout):
        return {"layout": str(a)}
    if isinstance(a, torch.memory_format):
        return {"memory_format": str(a)}
    raise TypeError(f"cannot serialise argument {a!r} of type {type(a).__name__}")
for n in ep.graph.nodes:
    if n.op == "placeholder":
        spec = sig[n.name]
        if spec.kind.name == "USER_INPUT":
            nodes.append({"kind": "input", "name": n.name})
            continue
        src = ep.state_dict if spec.target in ep.state_dict else ep.constants
        t = src[spec.target]
        t = t.detach().to("cpu")
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()
        arrays[n.name] = t.contiguous().numpy()
        nodes.append({"kind": "tensor", "name": n.name})
    elif n.op == "call_function":
        t = n.target
        op = "getitem" if t is operator.getitem else (str(t) if isinstance(t, torch._ops.OpOverload) else f"python:{getattr(t, '__name__', t)}")
        nodes.append({"kind": "call", "name": n.name, "op": op, "args": enc(list(n.args)), "kwargs": {k: enc(v) for k, v in n.kwargs.items()}})
    elif n.op == "output":
        nodes.append({"kind": "output", "args": enc(list(n.args[0]))})
    else:
        nodes.append({"kind": "call", "name": n.name, "op": f"{n.op}:{n.target}", "args": [], "kwargs": {}})
out.mkdir(parents=True, exist_ok=True)
(out / "graph.json").write_text(json.dumps({"version": 1, "nodes": nodes}))
np.savez(out / "weights.npz", **arrays)
np.savez(out / "example.npz", ids=ids.numpy(), logits=eager.detach().float().numpy())
'''


def export(workspace: pathlib.Path, batch: int, vocab: int, timeout: float, out_dir: pathlib.Path,
           isolate: bool = True) -> tuple[bool, float, str]:
    """Run the exporter on ``workspace``; returns (ok, seconds, error text).

    Scoring (``isolate``): in a nested sandbox (``rdbench_scorer.run_untrusted``), which cannot see
    this process, its parameters or the hidden data, and whose processes all die with it; the files
    it wrote are then copied to ``out_dir/export`` at the moment of use (no links, regular files).
    The agent's own check (``main``, no hidden data anywhere): a plain subprocess.
    """
    args = [str(workspace), "", str(batch), str(BLOCK), str(vocab)]
    if isolate:
        import rdbench_scorer as rs

        shared = rs.shared_dir("rmlm-")
        (shared / "rdbench_export.py").write_text(EXPORTER)
        args[1] = str(shared / "export")
        run = rs.run_untrusted([sys.executable, str(shared / "rdbench_export.py"), *args], cwd=workspace,
                               timeout=timeout,
                               env={"OMP_NUM_THREADS": str(max(1, torch.get_num_threads()))})
        secs, ok, stderr = run.seconds, run.ok, run.stderr.decode(errors="replace")
        timed_out = run.timed_out
        if ok:
            (out_dir / "export").mkdir(parents=True, exist_ok=True)
            for name in ("graph.json", "weights.npz", "example.npz"):
                try:
                    rs.copy_in(name, shared / "export", out_dir / "export" / name, max_bytes=1 << 30)
                except rs.Invalid as error:
                    if name != "example.npz":
                        return False, secs, f"the exporter's output is unusable: {error.message}"
    else:
        script = out_dir / "rdbench_export.py"
        script.write_text(EXPORTER)
        args[1] = str(out_dir / "export")
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(script), *args], cwd=str(workspace),
                                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        timed_out = False
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out, stderr = True, ""
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        secs, ok = time.perf_counter() - t0, proc.returncode == 0 and not timed_out
    if timed_out:
        return False, secs, f"exporting the model took more than {timeout:.0f} s"
    if not ok:
        return False, secs, f"exporting the model failed: {stderr[-1500:]}"
    return True, secs, ""


# ---------------------------------------------------------------------------------------------------
# The interpreter: executes only allow-listed operations, with this process's own torch.
def _op(name: str) -> Any:
    _, op, overload = name.split(".")
    return getattr(getattr(torch.ops.aten, op), overload)


def load_graph(export_dir: pathlib.Path, max_params: int,
               max_graph_bytes: int = 50_000_000) -> tuple[list[dict[str, Any]], dict[str, np.ndarray], int]:
    """Read graph.json and weights.npz as data; raises Forbidden with the first forbidden op."""
    gpath, wpath = pathlib.Path(export_dir) / "graph.json", pathlib.Path(export_dir) / "weights.npz"
    for p in (gpath, wpath):
        if p.is_symlink() or not p.is_file():
            raise Forbidden(f"the exporter did not write {p.name}")
    if gpath.stat().st_size > max_graph_bytes:
        raise Forbidden("the exported graph is too large")
    graph = json.loads(gpath.read_text())
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list) or not nodes:
        raise Forbidden("the exported graph is empty or malformed")
    tensors = {}
    with np.load(wpath, allow_pickle=False) as npz:
        for key in npz.files:
            arr = npz[key]
            if arr.dtype.kind not in "fi":
                raise Forbidden(f"tensor {key} has unsupported dtype {arr.dtype}")
            tensors[key] = arr
    n_params = int(sum(a.size for a in tensors.values()))
    if n_params > max_params:
        raise Forbidden(f"the model has {n_params} parameters, more than the limit of {max_params}")
    seen, inputs, outputs = set(), 0, 0
    for node in nodes:
        kind = node.get("kind") if isinstance(node, dict) else None
        if kind == "call":
            op = node.get("op")
            if not isinstance(op, str):
                raise Forbidden("malformed node in the exported graph")
            if op not in ALLOWED and op not in NO_OPS:
                raise Forbidden(f"forbidden operation {op} ({_why(op)}) at node '{node.get('name')}'")
        elif kind == "input":
            inputs += 1
        elif kind == "tensor":
            if node.get("name") not in tensors:
                raise Forbidden(f"tensor {node.get('name')} missing from weights.npz")
        elif kind == "output":
            outputs += 1
            continue
        else:
            raise Forbidden(f"unknown node kind {kind!r} in the exported graph")
        name = node.get("name")
        if not isinstance(name, str) or name in seen:
            raise Forbidden("node names in the exported graph must be unique strings")
        seen.add(name)
    if inputs != 1 or outputs != 1 or nodes[-1].get("kind") != "output":
        raise Forbidden("the model must take exactly one input (token ids) and return one tensor")
    return nodes, tensors, n_params


class Interpreter:
    """Runs an exported graph with allow-listed operations only."""

    def __init__(self, nodes: list[dict[str, Any]], arrays: dict[str, np.ndarray], device: str) -> None:
        self.nodes = nodes
        self.device = device
        self.tensors = {k: torch.from_numpy(np.array(v)).to(device) for k, v in arrays.items()}
        for t in self.tensors.values():
            if t.dtype not in ALLOWED_DTYPES:
                raise Forbidden(f"tensor dtype {t.dtype} is not allowed")

    def _dec(self, a: Any, env: dict[str, Any]) -> Any:
        if isinstance(a, list):
            return [self._dec(x, env) for x in a]
        if a is None or isinstance(a, (bool, int, float, str)):
            return a
        if isinstance(a, dict) and len(a) == 1:
            (key, val), = a.items()
            if key == "node" and val in env:
                return env[val]
            if key == "dtype" and val in DTYPES:
                return DTYPES[val]
            if key == "device":
                return self.device
            if key == "layout" and val == "torch.strided":
                return torch.strided
            if key == "memory_format" and val in MEMORY_FORMATS:
                return MEMORY_FORMATS[val]
        raise Forbidden(f"unsupported argument {str(a)[:80]} in the exported graph")

    @staticmethod
    def _check_args(op: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        if op == "aten.pow.Tensor_Scalar":
            e = args[1] if len(args) > 1 else kwargs.get("exponent")
            if isinstance(e, bool) or not isinstance(e, (int, float)) or e != int(e) or e < 1:
                raise Forbidden(f"forbidden operation {op} with exponent {e!r} (only whole powers >= 1)")
        if op in ("aten.index.Tensor",):
            for t in args[1]:
                if t is not None and (not isinstance(t, torch.Tensor) or t.dtype.is_floating_point
                                      or t.dtype == torch.bool):
                    raise Forbidden(f"{op} with a non-integer index (masks and comparisons are not allowed)")
        dtype = kwargs.get("dtype")
        if dtype is not None and dtype not in ALLOWED_DTYPES:
            raise Forbidden(f"{op} to dtype {dtype} is not allowed")

    def run(self, ids: torch.Tensor) -> list[Any]:
        env: dict[str, Any] = {}
        for node in self.nodes:
            kind = node["kind"]
            if kind == "input":
                env[node["name"]] = ids
            elif kind == "tensor":
                env[node["name"]] = self.tensors[node["name"]]
            elif kind == "output":
                out: list[Any] = self._dec(node["args"], env)
                return out
            else:
                op = node["op"]
                if op in NO_OPS:
                    env[node["name"]] = None
                    continue
                if op not in ALLOWED:  # load_graph checked already; never run anything else
                    raise Forbidden(f"forbidden operation {op}")
                args = self._dec(node.get("args", []), env)
                kwargs = self._dec_kwargs(node.get("kwargs", {}), env)
                self._check_args(op, args, kwargs)
                if op == "getitem":
                    if len(args) != 2 or not isinstance(args[0], (list, tuple)) or type(args[1]) is not int:
                        raise Forbidden("getitem is only allowed on the outputs of split/unbind")
                    res = operator.getitem(args[0], args[1])
                else:
                    res = _op(op)(*args, **kwargs)
                self._check_result(op, args, res)
                env[node["name"]] = res
        raise Forbidden("the exported graph has no output")

    def _dec_kwargs(self, kw: Any, env: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(kw, dict):
            raise Forbidden("malformed keyword arguments in the exported graph")
        return {str(k): self._dec(v, env) for k, v in kw.items()}

    @staticmethod
    def _check_result(op: str, args: list[Any], res: Any) -> None:
        outs = list(res) if isinstance(res, (list, tuple)) else [res]
        flat_in = []
        for a in args:
            flat_in += a if isinstance(a, list) else [a]
        float_in = any(isinstance(a, torch.Tensor) and a.dtype.is_floating_point for a in flat_in)
        for t in outs:
            if type(t) is not torch.Tensor:
                raise Forbidden(f"{op} did not produce a plain tensor")
            if t.dtype not in ALLOWED_DTYPES:
                raise Forbidden(f"{op} produced dtype {t.dtype}; only float32/float64/int32/int64 are allowed")
            if float_in and not t.dtype.is_floating_point:
                raise Forbidden(f"{op} turns floating-point values into integers (rounding) - not allowed")


# ---------------------------------------------------------------------------------------------------
def masked_windows(data: np.ndarray, n_windows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh windows and masks: exactly round(MASK_FRAC * BLOCK) masked positions per window."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(data) - BLOCK, size=n_windows)
    x = data[starts[:, None] + np.arange(BLOCK)[None, :]].astype(np.int64)
    k = round(MASK_FRAC * BLOCK)
    pos = np.argsort(rng.random((n_windows, BLOCK)), axis=1)[:, :k]
    m = np.zeros((n_windows, BLOCK), dtype=bool)
    np.put_along_axis(m, pos, True, axis=1)
    return x, m


def evaluate(nodes: list[dict[str, Any]], arrays: dict[str, np.ndarray], data: np.ndarray, mask_id: int, vocab: int,
             batch: int, n_windows: int, seed: int, device: str, time_limit: float) -> tuple[float, int, float]:
    """Mean masked cross-entropy (nats) of the graph on fresh masked windows of ``data``."""
    interp = Interpreter(nodes, arrays, device)
    x, m = masked_windows(data, n_windows, seed)
    total, count, t0 = 0.0, 0, time.perf_counter()
    with torch.no_grad():
        for s in range(0, n_windows, batch):
            xb, mb = torch.from_numpy(x[s:s + batch]), torch.from_numpy(m[s:s + batch])
            if len(xb) < batch:  # the graph's shapes are static: pad with whole windows, ignore them
                pad = batch - len(xb)
                xb = torch.cat([xb, xb[:1].expand(pad, -1)])
                mb = torch.cat([mb, torch.zeros(pad, BLOCK, dtype=torch.bool)])
            inp = torch.where(mb, torch.full_like(xb, mask_id), xb).to(device)
            out = interp.run(inp)
            if not isinstance(out, list) or len(out) != 1:
                raise Forbidden("the model must return exactly one tensor")
            logits = out[0]
            if type(logits) is not torch.Tensor or tuple(logits.shape) != (batch, BLOCK, vocab) \
                    or not logits.dtype.is_floating_point:
                raise Forbidden(f"the model must return float logits of shape ({batch}, {BLOCK}, {vocab}), "
                                f"got {getattr(logits, 'dtype', type(logits))} {tuple(getattr(logits, 'shape', ()))}")
            lp = torch.log_softmax(logits.double(), dim=-1)
            mbd = mb.to(device)
            tgt = xb.to(device)[mbd]
            nll = -lp[mbd].gather(1, tgt[:, None])[:, 0]
            if not bool(torch.isfinite(nll).all()):
                raise Forbidden("the model's logits are not finite")
            total += float(nll.sum())
            count += int(mbd.sum())
            if time.perf_counter() - t0 > time_limit:
                raise Forbidden(f"evaluating the model took more than {time_limit:.0f} s")
    return total / count, count, time.perf_counter() - t0


def _refuse_links(workspace: pathlib.Path) -> str | None:
    root = workspace.resolve()
    for p in workspace.rglob("*"):
        if p.is_symlink():
            target = p.resolve()
            if not target.is_relative_to(root):
                return f"symlink leaving the workspace is not allowed: {p.relative_to(workspace)}"
        elif p.is_file() and p.stat().st_nlink > 1:
            return f"hard links are not allowed in the workspace: {p.relative_to(workspace)}"
    return None


def run_scoring(workspace: pathlib.Path, load_data: Callable[[], tuple[np.ndarray, int]], vocab: int,
                params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Export, check and evaluate the workspace's model; returns the score dict.

    Args:
        workspace: the agent's workspace.
        load_data: returns (1-D token ids, mask id); called only after the agent's code has exited.
        vocab: vocabulary size (logits' last dimension).
        params: the scale's params.
        seed: draws the evaluation windows and masks.
    """
    workspace = pathlib.Path(workspace).absolute()
    bad = _refuse_links(workspace)
    if bad:
        return _nan(bad)
    if not (workspace / "model.py").is_file():
        return _nan("model.py is missing from the workspace")
    batch = int(params.get("eval_batch", 128))
    n_windows = int(params.get("eval_windows", 2048))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory(prefix="rmlm-") as tmp:
        ok, export_s, err = export(workspace, batch, vocab, float(params.get("export_timeout", 60)),
                                   pathlib.Path(tmp), isolate=params.get("isolate", True))
        if not ok:
            return _nan(err, export_seconds=export_s)
        export_dir = pathlib.Path(tmp) / "export"
        try:
            nodes, arrays, n_params = load_graph(export_dir, int(params.get("max_params", 5_000_000)))
            ops: dict[str, int] = {}
            for n in nodes:
                if n["kind"] == "call":
                    ops[n["op"]] = ops.get(n["op"], 0) + 1
            data, mask_id = load_data()  # hidden data enters memory only now, with no agent process left
            loss, count, eval_s = evaluate(nodes, arrays, data, mask_id, vocab, batch, n_windows, seed, device,
                                           float(params.get("eval_time_limit", 60)))
            mismatch = None
            if params.get("compare_eager") and (export_dir / "example.npz").is_file():
                with np.load(export_dir / "example.npz", allow_pickle=False) as ex:
                    got = Interpreter(nodes, arrays, device).run(torch.from_numpy(ex["ids"]).to(device))[0]
                    mismatch = float((got.float().cpu() - torch.from_numpy(ex["logits"])).abs().max())
        except Forbidden as e:
            return _nan(f"invalid model: {e}", export_seconds=export_s)
        except Exception as e:
            return _nan(f"running the exported model failed: {type(e).__name__}: {str(e)[:500]}",
                        export_seconds=export_s)
    details = {"loss": loss, "masked_tokens": count, "params": n_params, "ops": ops,
               "export_seconds": round(export_s, 2), "eval_seconds": round(eval_s, 2)}
    message = (f"masked loss {loss:.4f} nats on {count} masked tokens; {n_params} parameters, "
               f"{sum(ops.values())} operations, all allowed")
    if mismatch is not None:
        details["max_abs_diff_vs_eager"] = mismatch
        message += f"; max |logit difference| vs your eager model: {mismatch:.2e}"
    return {"value": loss, "message": message, "details": details}


def _vocab(path: pathlib.Path) -> dict[str, int]:
    itos = json.loads(pathlib.Path(path).read_text())["itos"]
    return {w: i for i, w in enumerate(itos)}


def score(workspace: pathlib.Path, protected: pathlib.Path, params: dict[str, Any]) -> dict[str, Any]:
    """Masked cross-entropy (nats) on hidden data; NaN when the model uses a forbidden operation."""
    protected = pathlib.Path(protected)
    stoi = _vocab(protected / "vocab.json")
    torch.set_num_threads(max(1, min(int(params.get("threads", 2)), os.cpu_count() or 1)))

    def hidden() -> tuple[np.ndarray, int]:
        return np.load(protected / "test_ids.npy", allow_pickle=False).astype(np.int64), stoi["<mask>"]

    return run_scoring(workspace, hidden, len(stoi), params, int(params["seed"]))


def main() -> None:
    """Local check in the agent's workspace, on validation data (no hidden data involved)."""
    ap = argparse.ArgumentParser(description="Check and evaluate the model in a workspace like the scorer does.")
    ap.add_argument("--workspace", default=".")
    ap.add_argument("--data", default="data/val.txt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--windows", type=int, default=512)
    a = ap.parse_args()
    ws = pathlib.Path(a.workspace).resolve()
    stoi = _vocab(ws / "vocab.json")

    def val() -> tuple[np.ndarray, int]:
        words = (ws / a.data).read_text().split()
        return np.array([stoi.get(w, stoi["<unk>"]) for w in words], dtype=np.int64), stoi["<mask>"]

    # no hidden data here, so no need for the scorer's pid namespace (nor for bwrap in your sandbox)
    res = run_scoring(ws, val, len(stoi), {"eval_windows": a.windows, "compare_eager": True,
                                           "eval_time_limit": 600, "isolate": False}, a.seed)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
