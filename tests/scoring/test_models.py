"""The task's own language models: the gateway's budgets and tallies, binding roles, and the real
scoring sandbox reaching a model through the harness (while the agent's code, run by the scorer,
cannot)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput, get_model
from inspect_ai.tool import ToolChoice, ToolInfo

from rdbench.scoring.calibration import calibration_path
from rdbench.scoring.models import ModelGateway, ModelRoleError, parse_model_roles, resolve_models
from rdbench.task.loader import TaskFormatError, load_task

TOY_MODEL = Path(__file__).parents[1] / "harness" / "toy_tasks" / "toy_model"


def echo_model() -> Model:
    """A scripted model that answers ``echo: <last user message>``."""

    def respond(messages: list[ChatMessage], tools: list[ToolInfo], choice: ToolChoice,
                config: GenerateConfig) -> ModelOutput:
        return ModelOutput.from_content("mockllm/model", f"echo: {messages[-1].text}")

    return get_model("mockllm/model", custom_outputs=respond, memoize=False)


def test_gateway_answers_counts_and_refuses_past_the_budget() -> None:
    async def go() -> list[dict[str, Any]]:
        gateway = ModelGateway({"helper": echo_model()}, budgets={"helper": 2})
        replies = [await gateway.generate({"role": "helper", "prompt": f"q{i}"}) for i in range(3)]
        replies.append(await gateway.generate({"role": "nope", "prompt": "q"}))
        replies.append(await gateway.generate({"role": "helper"}))
        replies.append({"summary": gateway.summary()})
        return replies

    a, b, refused, unknown, empty, summary = asyncio.run(go())
    assert (a["output"], a["exit_code"]) == ("echo: q0", 0) and b["output"] == "echo: q1"
    assert refused["exit_code"] == 3 and "budget of 2" in refused["output"]
    assert unknown["exit_code"] == 2 and "roles: helper" in unknown["output"]
    assert empty["exit_code"] == 3  # the budget is checked first: nothing more is generated
    tally = summary["summary"]["helper"]
    assert tally["calls"] == 2 and tally["refused"] == 2 and tally["model"] == "mockllm/model"
    assert tally["output_tokens"] > 0


def test_gateway_validates_requests_and_children_tally_into_the_parent() -> None:
    async def go() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        parent = ModelGateway({"helper": echo_model()})
        child = parent.child({"helper": 1})
        replies = [
            await child.generate({"role": "helper", "messages": [{"role": "system", "content": "s"},
                                                                 {"role": "user", "content": "hi"}]}),
            await parent.generate({"role": "helper", "messages": [{"role": "wizard", "content": "x"}]}),
            await parent.generate({"role": "helper", "prompt": "x" * 300_000}),
            await child.generate({"role": "helper", "prompt": "more"}),
        ]
        return replies, parent.summary(), child.summary()

    replies, parent, child = asyncio.run(go())
    assert replies[0]["output"] == "echo: hi"
    assert replies[1]["exit_code"] == 2 and "role system, user or assistant" in replies[1]["output"]
    assert replies[2]["exit_code"] == 2 and "longer than" in replies[2]["output"]
    assert replies[3]["exit_code"] == 3
    assert child["helper"]["calls"] == 1 and child["helper"]["refused"] == 1
    assert parent["helper"]["calls"] == 1 and parent["helper"]["refused"] == 1


def test_sync_generate_from_a_worker_thread() -> None:
    async def go() -> tuple[str, str]:
        gateway = ModelGateway({"helper": echo_model()}, budgets={"helper": 1})
        generate = gateway.sync_generate(asyncio.get_running_loop())
        results: list[str] = []

        def work() -> None:
            results.append(generate("helper", "from a thread"))
            try:
                generate("helper", "again")
            except RuntimeError as error:
                results.append(str(error))

        thread = threading.Thread(target=work)
        thread.start()
        await asyncio.to_thread(thread.join)
        return results[0], results[1]

    first, second = asyncio.run(go())
    assert first == "echo: from a thread"
    assert "refused" in second


def test_a_dead_endpoint_fails_the_request_instead_of_hanging() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = get_model("openai-api/dead/model", base_url=f"http://127.0.0.1:{port}/v1", api_key="x",
                     memoize=False)

    async def go() -> dict[str, Any]:
        gateway = ModelGateway({"helper": dead})
        return await gateway.generate({"role": "helper", "prompt": "hi", "timeout": 2})

    reply = asyncio.run(go())
    assert reply["exit_code"] == 1 and "the helper model failed" in reply["output"], reply


def test_resolving_roles_names_the_missing_flag() -> None:
    spec = load_task(TOY_MODEL).spec
    assert resolve_models(spec, "nomodel") == {}
    with pytest.raises(ModelRoleError, match="--model-role helper=PROVIDER/MODEL"):
        resolve_models(spec, "mini")
    bound = resolve_models(spec, "mini", {"helper": "mockllm/model"})
    assert str(bound["helper"]) == "mockllm/model"
    assert parse_model_roles(["helper=mockllm/model"]) == {"helper": "mockllm/model"}
    with pytest.raises(ValueError, match="ROLE=MODEL"):
        parse_model_roles(["helper"])


def test_a_role_on_an_unknown_scale_is_a_format_error(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "toy_model"
    shutil.copytree(TOY_MODEL, folder)
    text = (folder / "task.yaml").read_text().replace("scales: [mini]", "scales: [huge]")
    (folder / "task.yaml").write_text(text)
    with pytest.raises(TaskFormatError, match="huge"):
        load_task(folder)


def test_calibrations_are_kept_per_model_binding() -> None:
    plain = calibration_path("t", "full", "1")
    a = calibration_path("t", "full", "1", models={"codemodel": "openai/a"})
    b = calibration_path("t", "full", "1", models={"codemodel": "openai/b"})
    assert len({plain, a, b}) == 3 and a == calibration_path("t", "full", "1", models={"codemodel": "openai/a"})


def test_scorer_reaches_the_model_within_its_budget_and_its_children_cannot() -> None:
    """Through the real scoring sandbox: 3 of 5 generations answered, 2 refused by the harness;
    the probe the scorer starts sees an empty host folder and cannot connect."""
    from rdbench.scoring.runner import score_workspace
    from rdbench.task.assets import materialize
    from rdbench.task.environment import ensure_environment

    task = load_task(TOY_MODEL)
    mat = materialize(task, "mini")
    env = ensure_environment(task.spec.environment)

    async def go() -> tuple[Any, Any, dict[str, Any]]:
        gateway = ModelGateway({"helper": echo_model()})
        with_models = await score_workspace(mat, mat.workspace, env, models=gateway)
        without = await score_workspace(mat, mat.workspace, env)
        return with_models, without, gateway.summary()

    result, without, run_tally = asyncio.run(go())
    details = result.details
    assert result.value == len("nothing yet"), result
    assert details["answers"] == ["echo: question 0", "echo: question 1", "echo: question 2"]
    assert [code for code, _ in details["refusals"]] == [3, 3]
    assert details["task_models"]["helper"]["calls"] == 3 and details["task_models"]["helper"]["refused"] == 2
    assert run_tally["helper"]["calls"] == 3  # the run's gateway tallies what its scoring calls used
    assert details["child"]["host_dir"] == [] and details["child"]["connected"] is False
    assert without.value is None and "--model-role" in without.message
