"""What a run may do (``Limits``) and how it treats tools and metadata (``RunOptions``).

Both are plain data so a run can be described to a worker process as JSON (``to_json`` /
``from_json``) and reproduced there exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

FINAL_VAR = "final_return_value"
Mode = Literal["standard", "strict", "custom"]
MODES: tuple[str, ...] = ("standard", "strict", "custom")


@dataclass
class Limits:
    """Hard limits of one run. Every construct charges them where its work happens (see
    ``budget.Budget``); sizes are checked before an allocation, from the size it will have."""

    max_steps: int = 1_000_000
    max_loop_iterations: int = 100_000
    max_recursion: int = 50
    max_str_len: int = 4_000_000
    max_collection_len: int = 200_000
    wall_time_s: float = 10.0
    max_int_bits: int = 16_384
    max_walk_nodes: int = 2_000_000
    max_print_chars: int = 200_000
    max_tool_calls: int = 10_000
    max_regex_len: int = 10_000
    #: Memory the run may add to its process (RSS growth, checked before each allocation from the
    #: allocation's computed size; None: off). In a worker process this is that process's growth.
    max_memory_mb: int | None = 512

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Limits":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass
class RunOptions:
    limits: Limits = field(default_factory=Limits)
    #: ``standard`` closes explicit flows; ``strict`` and ``custom`` also implicit ones (see
    #: ``flow.py`` and docs/security-model.md). Planner-visible provenance is always tracked
    #: through control flow, whatever the mode.
    mode: Mode = "standard"
    # fsm tool-result options (X-Config)
    wrap_tool_result: bool = False
    # "none" | "regex" | "llm": with "llm" the caller runs its detector when the result arrives and
    # passes is_error= to record_result (so the verdict is recorded and replayed).
    detect_tool_errors: str = "none"
    detect_tool_error_regex_pattern: str | None = None
    detect_tool_error_max_result_length: int | None = None
    strict_tool_result_parsing: bool = False
    tool_result_transform: str = "none"  # "none" | "codex"
    # metadata of tool results
    non_executable_memory: bool = False  # tag every tool result "__non_executable"
    tool_producer: bool = True  # add the tool's name to a result's producers
    tool_tag: bool = False  # add "__tool/<name>" to a result's tags
    #: Tools whose ``{"is_sequrity_var": true, "combine_meta": "replace"}`` wrapper may drop the
    #: metadata a result inherits from its arguments (an operator setting, never a client's):
    #: without it a wrapper can add metadata but not declassify.
    declassify_tools: frozenset[str] = frozenset()
    # policy
    stop_on_soft_deny: bool = True
    final_var: str = FINAL_VAR

    @property
    def tracks_implicit(self) -> bool:
        return self.mode in ("strict", "custom")

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["limits"] = self.limits.to_json()
        out["declassify_tools"] = sorted(self.declassify_tools)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "RunOptions":
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["limits"] = Limits.from_json(data.get("limits"))
        kw["declassify_tools"] = frozenset(data.get("declassify_tools") or ())
        if kw.get("mode") not in MODES:
            kw["mode"] = "standard"
        return cls(**kw)
