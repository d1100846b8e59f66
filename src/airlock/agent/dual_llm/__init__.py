"""Dual-LLM (CaMeL) engine: a planner writes a program, a sandboxed interpreter runs it, policies
check every tool call, untrusted data is only read by a quarantined LLM.

``DualLLMEngine.run(conv, config, state, ...)`` is the whole contract with the HTTP glue: it
takes an API-neutral ``Conversation`` and the session's plain-JSON ``state`` (mutated in place)
and returns an ``AgentOutput`` (a tool call for the client, or the final content). See
``engine`` for the state layout and ``notes/dual_llm.md`` for the design.
"""

from .engine import STATE_VERSION, DualLLMEngine

__all__ = ["DualLLMEngine", "STATE_VERSION"]
