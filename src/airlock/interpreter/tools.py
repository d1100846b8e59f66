"""Tool descriptions and the processing of tool results (parse, detect errors, transform, wrap)."""

from __future__ import annotations

import json
import re as _pyre
from dataclasses import dataclass, field
from typing import Any, Callable

import re2

# Matches tool output that reads as a failure: a leading "Error:"/"Exception"/"Failed...",
# a Python traceback, or a JSON object whose first key is "error".
DEFAULT_ERROR_PATTERN = (
    r"(?is)^\s*(?:\[?(?:error|exception|fatal|failed|failure)\b)"
    r"|traceback \(most recent call last\)"
    r"|^\s*\{\s*\"(?:error|err|exception)\"\s*:"
)


@dataclass
class ToolSpec:
    """An external tool from the request: parameters JSON schema, optional output schema."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    description: str = ""

    @property
    def param_names(self) -> list[str]:
        props = (self.parameters or {}).get("properties") or {}
        return list(props.keys())

    @property
    def required(self) -> list[str]:
        return list((self.parameters or {}).get("required") or [])

    @property
    def accepts_extra(self) -> bool:
        params = self.parameters or {}
        if not params.get("properties"):
            return True
        return bool(params.get("additionalProperties", False))


@dataclass
class InternalTool:
    """An internal tool: a callable taking plain keyword arguments, run inside the interpreter
    (``set_policy``'s check, ``complete_turn``), or — ``host=True`` — a call the host answers, as
    it answers a client's tool (``parse_with_ai``: the quarantined LLM is network I/O). A host
    tool's result is recorded like a tool result and is untrusted."""

    name: str
    fn: Callable[..., Any] | None
    param_names: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    host: bool = False

    @classmethod
    def from_callable(cls, name: str, fn: Callable[..., Any]) -> "InternalTool":
        import inspect

        names: list[str] = []
        required: list[str] = []
        try:
            sig = inspect.signature(fn)
            for p in sig.parameters.values():
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY):
                    names.append(p.name)
                    if p.default is p.empty:
                        required.append(p.name)
        except (TypeError, ValueError):
            pass
        return cls(name, fn, names, required)


class ToolFn:
    """A tool as a program value (callable by name)."""

    __slots__ = ("name", "spec", "internal")

    def __init__(self, name: str, spec: ToolSpec | None, internal: InternalTool | None) -> None:
        self.name = name
        self.spec = spec
        self.internal = internal

    @property
    def param_names(self) -> list[str]:
        return self.internal.param_names if self.internal else self.spec.param_names  # type: ignore[union-attr]

    @property
    def required(self) -> list[str]:
        return self.internal.required if self.internal else self.spec.required  # type: ignore[union-attr]

    @property
    def accepts_extra(self) -> bool:
        if self.internal:
            return not self.internal.param_names
        return self.spec.accepts_extra  # type: ignore[union-attr]

    #: Calling a tool never changes the program's containers (its arguments are serialised).
    may_mutate = False

    def __repr__(self) -> str:
        return f"<tool {self.name}>"


# ------------------------------------------------------------------------------------------------
# Result processing
# ------------------------------------------------------------------------------------------------

_CODEX_TEXT = _pyre.compile(
    r"\A\s*Exit code:\s*(-?\d+)\s*\n(?:Wall time:[^\n]*\n)?(?:Total output lines:[^\n]*\n)?Output:\s*\n?(.*)\Z",
    _pyre.S,
)


def codex_transform(raw: Any) -> tuple[Any, int | None]:
    """Strip the Codex CLI metadata around a shell tool's output: ``(output, exit_code)``.

    Codex CLI reports shell results either as JSON ``{"output": ..., "metadata": {"exit_code":
    ..., "duration_seconds": ...}}`` or as text starting ``Exit code: N`` / ``Wall time: ...`` /
    ``Output:``. Anything else passes through unchanged with no exit code.
    """
    if isinstance(raw, str):
        s = raw.strip()
        if s.startswith("{"):
            try:
                obj = json.loads(s)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                return codex_transform(obj)
        mt = _CODEX_TEXT.match(raw)
        if mt:
            return mt.group(2), int(mt.group(1))
        return raw, None
    if isinstance(raw, dict) and "output" in raw and isinstance(raw.get("metadata"), dict):
        code = raw["metadata"].get("exit_code")
        return raw["output"], code if isinstance(code, int) else None
    return raw, None


_RX_CACHE: dict[str, Any] = {}


def error_regex(pattern: str | None):
    pat = pattern or DEFAULT_ERROR_PATTERN
    rx = _RX_CACHE.get(pat)
    if rx is None:
        opts = re2.Options()
        opts.max_mem = 8 << 20
        opts.log_errors = False
        rx = re2.compile(pat, opts)
        if len(_RX_CACHE) > 64:
            _RX_CACHE.clear()
        _RX_CACHE[pat] = rx
    return rx


def looks_like_error(text: str, pattern: str | None, max_len: int | None) -> bool:
    if max_len is not None and max_len >= 0:
        text = text[:max_len]
    return error_regex(pattern).search(text) is not None


def parse_result(raw: Any, output_schema: dict | None, strict: bool) -> tuple[Any, str | None]:
    """Turn a raw tool result into a value: ``(value, error_message_or_None)``.

    * non-string results are already data;
    * with an output schema whose type is ``"string"``, the text is kept as is;
    * with another output schema the text must be JSON (an error otherwise);
    * without an output schema: strict mode keeps the text, non-strict mode tries JSON and falls
      back to the text.
    """
    if not isinstance(raw, str):
        return raw, None
    if output_schema:
        if output_schema.get("type") == "string":
            return raw, None
        try:
            return json.loads(raw), None
        except ValueError as e:
            if strict:
                return raw, f"tool result is not valid JSON for its output schema: {e}"
            return raw, None
    if strict:
        return raw, None
    s = raw.strip()
    if not s or s[0] not in '{["-0123456789tfn':
        return raw, None
    try:
        return json.loads(s), None
    except (ValueError, RecursionError):
        return raw, None


def result_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
