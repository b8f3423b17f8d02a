"""Inspect AI plugin entry point: registers rdbench's sandbox, tasks and agents with Inspect."""

from rdbench.agents.aide import aide_agent as aide_agent
from rdbench.agents.cli import cli_agent as cli_agent
from rdbench.agents.human import human as human
from rdbench.agents.react import research_agent as research_agent
from rdbench.agents.scripted import ScriptedModel as ScriptedModel
from rdbench.harness.scorer import family_metric as family_metric
from rdbench.harness.scorer import rdbench_scorer as rdbench_scorer
from rdbench.sandbox.provider import BwrapSandboxEnvironment as BwrapSandboxEnvironment
from rdbench.suite import SUITE as SUITE
