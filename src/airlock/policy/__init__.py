"""``airlock.policy`` — the policy engine: SQRT (and Cedar) policies checked on every tool call.

A pure library (no HTTP). The pipeline is parser → AST → compiler (names, types, RE2
patterns) → closures, kept in separate modules so each can be tested and read on its own:

* ``sqrt.lark`` / ``parser.py`` — grammar and lark→AST, with actionable syntax errors;
* ``ast.py`` — the typed tree; ``compiler.py`` — type checks and closures;
* ``evaluator.py`` — ``CompiledPolicy`` and the decision procedure (documented there);
* ``decision.py`` — ``Decision``/``FiredRule``, what goes into ``policy_check_history``;
* ``presets.py`` — internal presets and modes; ``cedar.py`` — Cedar via cedarpy;
* ``authority.py`` — ``PolicySpec`` (a session's policy layers as JSON-able data) and
  ``build_policy``; ``stack.py`` — ``PolicyStack``, the layers behind the interpreter's hook;
  ``restrict.py`` — how additional layers' restrictions ride in ordinary metadata;
* ``cli.py`` — ``airlock policy check`` / ``airlock policy test``.

Typical use by the interpreter, for each tool call::

    policy = compile_policy(code, presets=presets_dict, fail_fast=True, mode="standard")
    decision = policy.before_call(tool, args, session)      # session before + check
    if decision.denied: stop with decision.message
    ... run the tool ...
    meta = policy.apply_result(tool, args, Tagged(value, initial_result_meta(args)), session)
    policy.update_session(tool, "after", args, session, Tagged(value, meta))
"""

from .authority import ADDITIONAL_PRESETS, LayerError, LayerSpec, PolicySpec, build_policy, warm_up
from .decision import DENIAL_HEADLINE, Decision, FiredRule, Verdict
from .errors import ErrorItem, PolicyError
from .evaluator import CompiledPolicy, compile_policy, initial_result_meta
from .parser import parse
from airlock.meta import NON_EXECUTABLE_TAG

from .presets import (
    LLM_BLOCKED_TAG,
    BranchingMetaPolicy,
    PolicyPresets,
)
from .stack import PolicyStack

__all__ = [
    "ADDITIONAL_PRESETS",
    "BranchingMetaPolicy",
    "CompiledPolicy",
    "DENIAL_HEADLINE",
    "Decision",
    "ErrorItem",
    "FiredRule",
    "LayerError",
    "LayerSpec",
    "LLM_BLOCKED_TAG",
    "NON_EXECUTABLE_TAG",
    "PolicyError",
    "PolicyPresets",
    "PolicySpec",
    "PolicyStack",
    "Verdict",
    "build_policy",
    "warm_up",
    "compile_policy",
    "initial_result_meta",
    "parse",
]
