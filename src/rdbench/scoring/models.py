"""Language models for task code: a task's services and scorer query Inspect models by role.

A task lists the roles it needs in ``task.yaml`` (``models: [{role: codemodel, ...}]``). The harness
binds each role to an Inspect model (``--model-role codemodel=openai/gpt-4o-mini``, or the role's
``default``) and answers ``generate`` requests on the host: services call it directly, the scorer
over a host-call socket mounted into its sandbox (and hidden from every process the scorer starts).
API keys never enter a sandbox. Every generation is counted against a budget and its tokens are
tallied per role, apart from the agent's own usage: the environment's model is not the agent's cost.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelUsage,
    get_model,
)
from pydantic import BaseModel

from rdbench.errors import UserError
from rdbench.task.spec import ModelRoleSpec, TaskSpec
from rdbench.tokcache import ensure_tiktoken_cache

MAX_PROMPT_CHARS = 200_000
"""Longest prompt (all messages together) a request may send."""
MAX_TOKENS_CAP = 8192
"""Most output tokens a request may ask for."""
DEFAULT_TIMEOUT_S = 300
"""Seconds one generation may take, retries included (Inspect retries forever by default: a dead
endpoint must fail the request, not hang a scoring call)."""

Reply = dict[str, Any]
SyncGenerate = Callable[..., str]


class ModelRoleError(UserError):
    """A task needs a model for a role that nothing binds."""


class RoleUsage(BaseModel):
    """What one role's model was asked and what it cost, in tokens."""

    model: str
    calls: int = 0
    refused: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_tokens_cache_read: int = 0

    def add(self, usage: ModelUsage | None) -> None:
        """Count one answered call with its token usage."""
        self.calls += 1
        if usage is not None:
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
            self.input_tokens_cache_read += usage.input_tokens_cache_read or 0

    def as_model_usage(self) -> ModelUsage:
        """The tally as Inspect's usage type (for pricing)."""
        return ModelUsage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            total_tokens=self.input_tokens + self.output_tokens,
            input_tokens_cache_read=self.input_tokens_cache_read or None,
        )


def _messages(args: Mapping[str, Any]) -> list[ChatMessage]:
    if "messages" in args:
        raw = args["messages"]
        if not isinstance(raw, list) or not raw:
            raise UserError("messages must be a non-empty list of {role, content} objects")
        out: list[ChatMessage] = []
        kinds = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
        for message in raw:
            if not isinstance(message, dict) or message.get("role") not in kinds:
                raise UserError("each message needs role system, user or assistant")
            out.append(kinds[message["role"]](content=str(message.get("content", ""))))
        return out
    prompt = args.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise UserError("give prompt (text) or messages")
    return [ChatMessageUser(content=prompt)]


def _config(args: Mapping[str, Any]) -> GenerateConfig:
    config: dict[str, Any] = {}
    if args.get("max_tokens") is not None:
        config["max_tokens"] = max(1, min(int(args["max_tokens"]), MAX_TOKENS_CAP))
    if args.get("temperature") is not None:
        config["temperature"] = float(args["temperature"])
    if args.get("seed") is not None:
        config["seed"] = int(args["seed"])
    config["timeout"] = max(1, min(int(args.get("timeout") or DEFAULT_TIMEOUT_S), DEFAULT_TIMEOUT_S))
    return GenerateConfig(**config)


class ModelGateway:
    """Answers ``generate`` requests of task code with the models bound to the task's roles.

    Args:
        models: Role -> Inspect model.
        budgets: Role -> most generations through this gateway (None or absent: unlimited).
    """

    def __init__(
        self,
        models: Mapping[str, Model],
        budgets: Mapping[str, int | None] | None = None,
        parent: ModelGateway | None = None,
    ) -> None:
        ensure_tiktoken_cache()  # Inspect counts tokens with o200k_base; never download it
        self.models = dict(models)
        self.budgets = dict(budgets or {})
        self.usage = {role: RoleUsage(model=str(model)) for role, model in self.models.items()}
        self.parent = parent
        self._used: dict[str, int] = {}

    def child(self, budgets: Mapping[str, int | None]) -> ModelGateway:
        """A gateway on the same models with its own counters and ``budgets`` (one scoring call);
        what it uses is also tallied here."""
        return ModelGateway(self.models, budgets, parent=self)

    def _tallies(self, role: str) -> list[RoleUsage]:
        chain: list[RoleUsage] = []
        gateway: ModelGateway | None = self
        while gateway is not None:
            chain.append(gateway.usage[role])
            gateway = gateway.parent
        return chain

    async def generate(self, args: Mapping[str, Any]) -> Reply:
        """One generation: ``{role, prompt | messages, max_tokens?, temperature?, seed?, timeout?}``.

        Returns a host-call reply: ``output`` is the completion (exit 0), or why nothing was
        generated (exit 2: bad request, 3: budget spent, 1: the model failed).
        """
        role = str(args.get("role") or (next(iter(self.models)) if len(self.models) == 1 else ""))
        if role not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            return {"output": f"unknown model role {role!r}; roles: {known}", "exit_code": 2}
        tallies = self._tallies(role)
        budget = self.budgets.get(role)
        if budget is not None and self._used.get(role, 0) >= budget:
            for tally in tallies:
                tally.refused += 1
            return {"output": f"refused: the {role} budget of {budget} generations is spent",
                    "exit_code": 3}
        try:
            messages = _messages(args)
            config = _config(args)
        except (TypeError, ValueError) as error:
            return {"output": f"bad generate request: {error}", "exit_code": 2}
        if sum(len(str(m.content)) for m in messages) > MAX_PROMPT_CHARS:
            return {"output": f"bad generate request: prompt longer than {MAX_PROMPT_CHARS} characters",
                    "exit_code": 2}
        self._used[role] = self._used.get(role, 0) + 1
        model = self.models[role]
        # A fresh context: the environment's model is neither the agent's usage (cost limits,
        # token counts) nor part of its transcript; the tally here records it instead.
        task = asyncio.get_running_loop().create_task(
            model.generate(messages, config=config), context=contextvars.Context()
        )
        try:
            output = await task
        except Exception as error:
            for tally in tallies:
                tally.errors += 1
            return {"output": f"the {role} model failed: {type(error).__name__}: {error}"[:2000],
                    "exit_code": 1}
        for tally in tallies:
            tally.add(output.usage)
        return {"output": output.completion, "exit_code": 0, "model": str(model),
                "usage": None if output.usage is None else output.usage.model_dump(exclude_none=True)}

    async def handle(self, op: str, args: dict[str, Any]) -> Reply:
        """Host-call handler for the scorer's sandbox: only ``generate``."""
        if op != "generate":
            return {"output": f"unknown request {op!r}; the scorer's host offers: generate",
                    "exit_code": 127}
        return await self.generate(args)

    def sync_generate(self, loop: asyncio.AbstractEventLoop) -> SyncGenerate:
        """A blocking ``generate(role, prompt, **config) -> str`` for code in a worker thread.

        Raises (in the caller): RuntimeError with the reason when nothing was generated.
        """

        def generate(role: str, prompt: str | None = None, **kwargs: Any) -> str:
            args = {"role": role, **kwargs}
            if prompt is not None:
                args["prompt"] = prompt
            reply = asyncio.run_coroutine_threadsafe(self.generate(args), loop).result()
            if reply["exit_code"] != 0:
                raise RuntimeError(reply["output"])
            return str(reply["output"])

        return generate

    def binding(self) -> dict[str, str]:
        """Role -> model name (what a calibration is keyed on)."""
        return {role: str(model) for role, model in self.models.items()}

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per role: model, calls, refusals, errors and tokens (JSON-able)."""
        return {role: tally.model_dump() for role, tally in self.usage.items() if
                tally.calls or tally.refused or tally.errors}


def _unbound_message(spec: TaskSpec, scale: str, role: ModelRoleSpec) -> str:
    return (f"task {spec.name!r} at scale {scale!r} needs a model for role {role.role!r} "
            f"({role.description or 'see its instructions'}): pass --model-role "
            f"{role.role}=PROVIDER/MODEL, e.g. --model-role {role.role}=openai/gpt-4o-mini")


def unbound_roles(spec: TaskSpec, scale: str, bound: Mapping[str, object]) -> list[ModelRoleSpec]:
    """The roles ``scale`` uses that neither ``bound`` nor a ``default`` in ``task.yaml`` binds."""
    return [r for r in spec.model_roles(scale) if r.role not in bound and r.default is None]


def require_roles(spec: TaskSpec, scale: str, bound: Mapping[str, object]) -> None:
    """Fail before anything runs when a role ``scale`` uses is bound nowhere.

    Raises:
        ModelRoleError: Names the role and the ``--model-role`` flag that binds it.
    """
    for role in unbound_roles(spec, scale, bound):
        raise ModelRoleError(_unbound_message(spec, scale, role))


def require_known_roles(specs: Sequence[TaskSpec], scale: str, bound: Mapping[str, object]) -> None:
    """Fail when a bound role (``--model-role``) is one that none of ``specs`` uses at ``scale``: a
    mistyped role would otherwise be ignored.

    Raises:
        ModelRoleError: Names the role and the roles the tasks do use.
    """
    used = {r.role for spec in specs for r in spec.model_roles(scale)}
    for role in sorted(set(bound) - used):
        elsewhere = sorted({s for spec in specs for m in spec.models if m.role == role
                            for s in spec.scales if m.used_at(s)})
        names = ", ".join(spec.name for spec in specs)
        hint = f"; {role} is used at scale {', '.join(elsewhere)}" if elsewhere else ""
        raise ModelRoleError(
            f"--model-role {role}: {names} at scale {scale!r} has no model role {role!r} "
            f"(its roles: {', '.join(sorted(used)) or 'none'}{hint})")


def resolve_models(spec: TaskSpec, scale: str, bindings: Mapping[str, str | Model] | None = None) -> dict[str, Model]:
    """Bind each model role that ``scale`` uses to an Inspect model.

    Order: an explicit binding (``--model-role ROLE=MODEL``), then the role bound in the running
    Inspect eval, then the role's ``default`` in ``task.yaml``.

    Raises:
        ModelRoleError: A role is bound nowhere; the message says how to bind it.
    """
    bound = dict(bindings or {})
    models: dict[str, Model] = {}
    for role in spec.model_roles(scale):
        if role.role in bound:
            models[role.role] = get_model(bound[role.role])
            continue
        try:
            models[role.role] = get_model(role=role.role, default=role.default, required=role.default is None)
        except Exception as error:
            raise ModelRoleError(
                f"{_unbound_message(spec, scale, role)} ({type(error).__name__}: {error})"
            ) from None
    return models


def parse_model_roles(pairs: list[str]) -> dict[str, str]:
    """``ROLE=MODEL`` pairs (``--model-role``) to a mapping.

    Raises:
        ValueError: A pair is not ``ROLE=MODEL``.
    """
    roles: dict[str, str] = {}
    for pair in pairs:
        role, sep, model = pair.partition("=")
        if not sep or not role.strip() or not model.strip():
            raise UserError(f"--model-role {pair!r} is not ROLE=MODEL (e.g. codemodel=openai/gpt-4o-mini)")
        roles[role.strip()] = model.strip()
    return roles
