"""Test family in RE-Bench's shape: METR's protected-scoring library (rdbench's stand-in) runs
/home/agent/score.py as the agent with the scoring group, which logs to /protected/score.log."""

from __future__ import annotations

from typing import Any

import metr.task_protected_scoring as scoring


class TaskFamily:
    standard_version = "0.5.0"

    @staticmethod
    def get_tasks() -> dict[str, dict[str, Any]]:
        return {"main": {}}

    @staticmethod
    def get_instructions(t: dict[str, Any]) -> str:
        return f"Write a number to /home/agent/answer.txt. {scoring.SCORING_INSTRUCTIONS}"

    @staticmethod
    def start(t: dict[str, Any]) -> None:
        scoring.setup_scoring()

    @staticmethod
    def intermediate_score(t: dict[str, Any]) -> scoring.IntermediateScoreResult:
        return scoring.intermediate_score(catch_out_of_memory=True)

    @staticmethod
    def aggregate_scores(t: dict[str, Any], score_log: list[scoring.IntermediateScoreResult]) -> float:
        return scoring.get_best_score(score_log=score_log, select_best_fn=max)
