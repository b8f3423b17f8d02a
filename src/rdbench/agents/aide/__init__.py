"""AIDE-style tree search agent: drafts, debugging of buggy nodes, greedy improvement."""

from rdbench.agents.aide.agent import aide_agent as aide_agent
from rdbench.agents.aide.journal import Journal as Journal
from rdbench.agents.aide.journal import Node as Node
from rdbench.agents.aide.policy import AideConfig as AideConfig
