"""Writes the dev problems (statements and visible examples only) into the workspace."""

import importlib.util
import json
import pathlib


def prepare(out: pathlib.Path, params: dict) -> None:  # type: ignore[type-arg]
    """Build ``out/workspace/dev_problems.json`` from the same seed the code model service uses."""
    here = pathlib.Path(__file__).parent / "protected"
    spec = importlib.util.spec_from_file_location("contests_gen", here / "contests_gen.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    svc_spec = importlib.util.spec_from_file_location("codemodel_service", here / "codemodel_service.py")
    assert svc_spec is not None and svc_spec.loader is not None
    svc = importlib.util.module_from_spec(svc_spec)
    svc_spec.loader.exec_module(svc)
    problems = gen.make_set(svc.DEV_SEED, int(params.get("n_dev", 10)), "d", kinds=gen.DEV_KINDS)
    (out / "workspace").mkdir(parents=True, exist_ok=True)
    (out / "workspace" / "dev_problems.json").write_text(json.dumps([gen.public(p) for p in problems], indent=1))
