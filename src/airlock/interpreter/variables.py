"""Variables the host defines before a program starts, and what a value from outside carries.

Why a seam of its own: LangGraph runs hand the program its graph state (``context_vars``) with
the sender's metadata. Loading it through a pseudo tool call made it a policy-checked call that a
default-deny policy refused, and sent it through the tool-result options (``wrap_tool_result``
wrapped it in a result object, ``detect_tool_errors`` could read the state as an error). A
variable is bound in the program's globals instead, with the sender's metadata plus the one
rule every value from outside obeys (``outside_meta``, shared with tool results).
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any, Mapping

from airlock.meta import NEUTRAL, NON_EXECUTABLE_TAG, Meta, StrSet

from .flow import UNTRUSTED, mm
from .options import RunOptions
from .values import Value, intern_meta, wrap_json

@dataclass(frozen=True, slots=True)
class Variable:
    """Plain JSON and the metadata its sender gave it (producers, consumers, tags)."""

    value: Any
    meta: Meta = field(default=NEUTRAL)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "meta": self.meta.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Variable":
        meta = data.get("meta")
        return cls(data.get("value"), Meta.from_json(meta if isinstance(meta, dict) else None))


def outside_meta(options: RunOptions, meta: Meta) -> Meta:
    """What every value that enters from outside carries, whoever sent it: untrusted provenance,
    and ``__non_executable`` with non-executable memory (a tool result, a context variable)."""
    meta = mm(meta, UNTRUSTED)
    if options.non_executable_memory:
        meta = mm(meta, Meta(tags=StrSet.of([NON_EXECUTABLE_TAG])))
    return meta


def bind(variables: Mapping[str, Variable] | None, options: RunOptions, taken: Mapping[str, Any]) -> dict[str, Value]:
    """The program's starting globals. Raises ``ValueError`` for a name a program could not use
    or that would shadow a tool (the host then fails the run, naming it)."""
    out: dict[str, Value] = {}
    for name, var in (variables or {}).items():
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("__"):
            raise ValueError(f"{name!r} cannot be a program variable")
        if name in taken:
            raise ValueError(f"the variable {name!r} would shadow the tool of that name")
        out[name] = wrap_json(var.value, intern_meta(outside_meta(options, var.meta)))
    return out


__all__ = ["Variable", "bind", "outside_meta"]
