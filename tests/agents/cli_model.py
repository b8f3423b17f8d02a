"""A scripted, instant model for the tests of the real CLIs (registered with Inspect as ``clitest``).

Like mockllm driven by a function, but a provider of its own, so that it works by name where no
Python object can be handed over: ``rdbench run --model clitest/once`` in the test process, and
``inspect eval`` in a subprocess started as ``python cli_model.py eval ...`` (this module
registers the provider, then runs Inspect's own command line).

Scripts (the model name, up to its first ``-``; a suffix makes the name, and so the model
instance Inspect caches per name, unique to one test):

- ``once``, ``twice``: the first one or two requests that offer a shell tool (Codex's
  ``exec_command``, Claude Code's ``Bash``, Gemini CLI's ``run_shell_command``) get a call of it that
  writes ``solution.py`` and runs ``score``; every other request gets the final answer ``FINAL``.
- ``loop``: every request that offers a shell tool gets that call (for cost limits).

Every reply reports 1,000 input and 10 output tokens; a tool call reports
``$RDBENCH_CLITEST_TOOL_CALL_INPUT_TOKENS`` input tokens instead when set (to push a CLI past a
context window). Each request is appended as a JSON line to ``$RDBENCH_CLITEST_LOG`` when set.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

SHELL_TOOLS = {"exec_command": "cmd", "Bash": "command", "run_shell_command": "command"}
"""Each CLI's shell tool and the name of its command argument."""
COMMAND = "printf 'def answer():\\n    return 40\\n' > solution.py && score"
FINAL = "finished: the score is 2"
INPUT_TOKENS = 1000
OUTPUT_TOKENS = 10
TOOL_CALLS = {"once": 1, "twice": 2, "loop": None}


class ScriptedCliModel(ModelAPI):
    """Answers by script (the model name), instantly, with fixed token usage."""

    def __init__(self, model_name: str, base_url: str | None = None, api_key: str | None = None,
                 config: GenerateConfig | None = None, **model_args: Any) -> None:
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        self.tool_calls = 0

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice,
                       config: GenerateConfig) -> ModelOutput:
        names = [tool.name for tool in tools]
        shell = next((name for name in names if name in SHELL_TOOLS), None)
        most = TOOL_CALLS[self.model_name.split("-")[0]]
        call = shell is not None and (most is None or self.tool_calls < most)
        if call:
            assert shell is not None
            self.tool_calls += 1
            output = ModelOutput.for_tool_call(self.model_name, shell, {SHELL_TOOLS[shell]: COMMAND})
        else:
            output = ModelOutput.from_content(self.model_name, FINAL)
        high = os.environ.get("RDBENCH_CLITEST_TOOL_CALL_INPUT_TOKENS")
        tokens = int(high) if high and call else INPUT_TOKENS
        output.usage = ModelUsage(input_tokens=tokens, output_tokens=OUTPUT_TOKENS,
                                  total_tokens=tokens + OUTPUT_TOKENS)
        log = os.environ.get("RDBENCH_CLITEST_LOG")
        if log:
            with open(log, "a") as handle:
                handle.write(json.dumps({
                    "tools": names, "shell": shell, "reply": "tool" if call else "text",
                    "last": input[-1].text if input else "",
                    "tool_results": [m.text for m in input if m.role == "tool"],
                }) + "\n")
        return output


@modelapi(name="clitest")
def clitest() -> type[ModelAPI]:
    return ScriptedCliModel


if __name__ == "__main__":  # `python cli_model.py eval ...`: Inspect's CLI with this provider
    from inspect_ai._cli.main import main

    sys.argv[0] = "inspect"
    sys.exit(main())
