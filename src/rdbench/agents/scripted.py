"""``script/NAME``: a mock model that plays a script of tool calls, the same in every sample.

Inspect's ``mockllm`` takes its outputs from Python, so a run started from the command line or on
another machine (a Slurm job) cannot be given a script; this provider reads one from a YAML file
(``--model script/NAME --model-arg script=FILE``), so scripted runs go through exactly the path of
real ones: tests, demos and benchmarks of the harness itself (``benchmarks/slurm.py``).

The script is a list of steps; the model's n-th reply in a sample is the n-th step. After the last
it runs ``submit`` (which ends an rdbench run; rdbench's react agent otherwise works on until the
budget is spent), then says "done":

```yaml
- bash: "printf 'def answer():\\n    return 12\\n' > solution.py"
- tool: score
- python: "print(1 + 1)"
- tool: some_tool
  args: {key: value}
- say: "a plain answer (no tool call)"
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput, modelapi
from inspect_ai.tool import ToolChoice, ToolInfo

from rdbench.errors import UserError

SCRIPT_ARG = "script"


def load_script(path: str | Path) -> list[ModelOutput]:
    """The replies of a script file, in order.

    Raises:
        ValueError: The file is missing or a step is not one of bash, python, tool, say.
    """
    file = Path(path).expanduser()
    try:
        steps = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"model script {file}: {error}") from error
    if not isinstance(steps, list):
        raise UserError(f"model script {file}: want a YAML list of steps (bash:, python:, tool:, say:)")
    return [_step(step, file, i) for i, step in enumerate(steps)]


def _step(step: Any, file: Path, index: int) -> ModelOutput:
    name = "script"
    if isinstance(step, dict) and isinstance(step.get("bash"), str):
        return ModelOutput.for_tool_call(name, "bash", {"command": step["bash"]})
    if isinstance(step, dict) and isinstance(step.get("python"), str):
        return ModelOutput.for_tool_call(name, "python", {"code": step["python"]})
    if isinstance(step, dict) and isinstance(step.get("tool"), str):
        args = step.get("args") or {}
        if isinstance(args, dict):
            return ModelOutput.for_tool_call(name, step["tool"], args)
    if isinstance(step, dict) and isinstance(step.get("say"), str):
        return ModelOutput.from_content(name, step["say"])
    raise UserError(f"model script {file}: step {index + 1} ({step!r}) is not one of "
                     "{bash: CMD}, {python: CODE}, {tool: NAME, args: {...}}, {say: TEXT}")


@modelapi(name="script")
class ScriptedModel(ModelAPI):
    """Replies with the steps of a script file (model arg ``script``), one per turn of a sample."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        path = model_args.get(SCRIPT_ARG)
        if not path:
            raise UserError("the script model needs its script: --model-arg script=FILE.yaml "
                             "(a list of bash:, python:, tool:, say: steps)")
        self.steps = load_script(str(path))

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        # the turn is the sample's own count of replies, so concurrent samples each play the script
        turn = sum(1 for message in input if message.role == "assistant")
        if turn < len(self.steps):
            return self.steps[turn].model_copy(deep=True)
        if turn == len(self.steps) and any(tool.name == "bash" for tool in tools):
            return ModelOutput.for_tool_call("script", "bash", {"command": "submit"})
        return ModelOutput.from_content("script", "done")
