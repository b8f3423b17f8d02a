"""The AIDE journal: every solution node tried, saved as JSON after each step so runs resume."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Stage = Literal["draft", "debug", "improve"]


class Node(BaseModel):
    """One full solution: files written into the workspace, a command run, and its task score."""

    id: int
    parent: int | None = None
    stage: Stage
    plan: str = ""
    files: dict[str, str] = Field(default_factory=dict)
    command: str = ""
    output: str = ""
    exit_code: int | None = None
    metric: float | None = Field(default=None, description="the task's own score (agent view)")
    valid: bool = False
    score_message: str = ""

    @property
    def buggy(self) -> bool:
        """A node is buggy when its command failed or the task scored it invalid."""
        return not self.valid or (self.exit_code not in (0, None))


class Journal(BaseModel):
    """All nodes of one search, in creation order."""

    direction: Literal["lower", "higher"] = "higher"
    nodes: list[Node] = Field(default_factory=list)

    def add(self, node: Node) -> None:
        self.nodes.append(node)

    def next_id(self) -> int:
        return len(self.nodes)

    def get(self, node_id: int) -> Node:
        return self.nodes[node_id]

    @property
    def drafts(self) -> list[Node]:
        return [n for n in self.nodes if n.stage == "draft"]

    @property
    def good(self) -> list[Node]:
        return [n for n in self.nodes if not n.buggy]

    def debug_depth(self, node: Node) -> int:
        """How many consecutive debug steps led to this node."""
        depth = 0
        current: Node | None = node
        while current is not None and current.stage == "debug":
            depth += 1
            current = self.get(current.parent) if current.parent is not None else None
        return depth

    def children(self, node: Node) -> list[Node]:
        return [n for n in self.nodes if n.parent == node.id]

    def best(self) -> Node | None:
        """The best valid node by the task's direction (with hidden scores: the latest valid one)."""
        good = self.good
        if not good:
            return None
        scored = [n for n in good if n.metric is not None]
        if not scored:
            return good[-1]
        sign = 1.0 if self.direction == "higher" else -1.0
        return max(scored, key=lambda n: (sign * (n.metric or 0.0), -n.id))

    def save(self, path: Path) -> None:
        """Write atomically (a crash mid-write never leaves a corrupt journal)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=1))
        tmp.replace(path)

    @classmethod
    def load_or_new(cls, path: Path, direction: Literal["lower", "higher"]) -> Journal:
        if path.exists():
            return cls.model_validate_json(path.read_text())
        return cls(direction=direction)
