"""``PolicySpec``: a session's policy as plain, frozen data, and ``build_policy`` to run it.

Programs will run in worker processes, so what a worker needs to rebuild the session's policy
must cross a process boundary as JSON; compiled closures cannot. ``PolicySpec.to_json`` /
``from_json`` round-trip exactly, and ``build_policy`` caches compiled stacks per spec (and
``compile_policy`` caches each layer), so rebuilding per program run costs one dict lookup.

Layer order is authority order. ``layers[0]`` is the base (``key``, or ``header`` when an
unlocked key's policy was replaced by the header's) and carries the deciding presets; every
later layer is additional (``header`` under a lock, then ``planner`` for each ``set_policy``)
and restrict-only — see ``stack.PolicyStack``. A ``planner`` layer is never the base:
``set_policy`` is restrict-only whatever the key says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, cast

from .errors import PolicyError
from .evaluator import CompiledPolicy, compile_policy
from .presets import MODES, BranchingMetaPolicy, PolicyPresets
from .stack import LayerAuthority, PolicyStack

Language = Literal["sqrt", "cedar"]
Mode = Literal["standard", "strict", "custom"]
AUTHORITIES: tuple[LayerAuthority, ...] = ("key", "header", "planner")

# Additional layers decide nothing by default (no rule → abstain) and add no preset rules or
# tags of their own: those belong to the base layer, once.
ADDITIONAL_PRESETS = PolicyPresets(default_allow=True, default_allow_enforcement_level="soft",
                                   enable_non_executable_memory=False, enable_llm_blocked_tag=False)


@dataclass(frozen=True, slots=True)
class LayerSpec:
    authority: LayerAuthority
    sources: tuple[str, ...] = ()
    language: Language = "sqrt"
    presets: PolicyPresets = field(default=ADDITIONAL_PRESETS)
    mode: Mode = "standard"
    fail_fast: bool = True

    def __post_init__(self) -> None:
        if self.authority not in AUTHORITIES:
            raise PolicyError(f"unknown policy authority {self.authority!r}: expected key, header or planner")
        if self.language not in ("sqrt", "cedar"):
            raise PolicyError(f"unknown policy language {self.language!r}: expected 'sqrt' or 'cedar'")
        if self.mode not in MODES:
            raise PolicyError(f"unknown policy mode {self.mode!r}: expected one of {', '.join(MODES)}")
        if not isinstance(self.sources, tuple) or not all(isinstance(s, str) for s in self.sources):
            raise PolicyError("layer sources must be a tuple of strings")

    @property
    def has_code(self) -> bool:
        return any(s.strip() for s in self.sources)

    def compile(self) -> CompiledPolicy:
        return compile_policy(self.sources or ("",), self.language, presets=self.presets,
                              fail_fast=self.fail_fast, mode=self.mode)

    def to_json(self) -> dict[str, Any]:
        return {"authority": self.authority, "sources": list(self.sources), "language": self.language,
                "presets": presets_to_json(self.presets), "mode": self.mode, "fail_fast": self.fail_fast}

    @classmethod
    def from_json(cls, data: Any) -> "LayerSpec":
        if not isinstance(data, dict):
            raise PolicyError("a policy layer must be an object")
        unknown = sorted(set(data) - {"authority", "sources", "language", "presets", "mode", "fail_fast"})
        if unknown:
            raise PolicyError(f"unknown policy layer field(s): {', '.join(unknown)}")
        sources = data.get("sources", [])
        if not isinstance(sources, list):
            raise PolicyError("layer sources must be a list of strings")
        fail_fast = data.get("fail_fast", True)
        if not isinstance(fail_fast, bool):
            raise PolicyError("layer fail_fast must be true or false")
        return cls(cast(LayerAuthority, data.get("authority")), tuple(sources),
                   cast(Language, data.get("language", "sqrt")), PolicyPresets.from_value(data.get("presets")),
                   cast(Mode, data.get("mode", "standard")), fail_fast)


@dataclass(frozen=True, slots=True)
class PolicySpec:
    layers: tuple[LayerSpec, ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise PolicyError("a policy needs a base layer")
        if self.layers[0].authority == "planner":
            raise PolicyError("a planner policy is restrict-only and cannot be the base layer")
        if any(layer.authority == "key" for layer in self.layers[1:]):
            raise PolicyError("the key policy can only be the base layer")

    @property
    def base(self) -> LayerSpec:
        return self.layers[0]

    def with_layer(self, layer: LayerSpec) -> "PolicySpec":
        return PolicySpec((*self.layers, layer))

    def to_json(self) -> dict[str, Any]:
        return {"layers": [layer.to_json() for layer in self.layers]}

    @classmethod
    def from_json(cls, data: Any) -> "PolicySpec":
        if not isinstance(data, dict) or not isinstance(data.get("layers"), list) or set(data) != {"layers"}:
            raise PolicyError('a policy spec must be {"layers": [...]}')
        return cls(tuple(LayerSpec.from_json(layer) for layer in data["layers"]))


def presets_to_json(p: PolicyPresets) -> dict[str, Any]:
    b: BranchingMetaPolicy = p.branching_meta_policy
    return {
        "default_allow": p.default_allow,
        "default_allow_enforcement_level": p.default_allow_enforcement_level,
        "enable_non_executable_memory": p.enable_non_executable_memory,
        "enable_llm_blocked_tag": p.enable_llm_blocked_tag,
        "llm_blocked_tag_enforcement_level": p.llm_blocked_tag_enforcement_level,
        "branching_meta_policy": {"mode": b.mode, "producers": sorted(b.producers), "tags": sorted(b.tags),
                                  "consumers": sorted(b.consumers)},
    }


class LayerError(PolicyError):
    """A layer's code does not compile; ``authority`` says whose code it is."""

    def __init__(self, authority: LayerAuthority, error: PolicyError) -> None:
        super().__init__(error.errors)
        self.authority = authority


@lru_cache(maxsize=512)
def build_policy(spec: PolicySpec) -> PolicyStack:
    """The runnable stack for ``spec``. Raises ``LayerError`` naming the layer whose code fails."""
    layers: list[tuple[LayerAuthority, CompiledPolicy]] = []
    for layer in spec.layers:
        if layer is not spec.base and not layer.has_code:
            continue  # an additional layer without code restricts nothing
        try:
            layers.append((layer.authority, layer.compile()))
        except PolicyError as exc:
            raise LayerError(layer.authority, exc) from None
    nothing = not any(layer.has_code for layer in spec.layers) and spec.base.presets.default_allow
    return PolicyStack(layers, enforces_nothing=nothing)


def warm_up() -> None:
    """Build the SQRT parser's LALR tables and the preset-only stack now: ~70 ms that the first
    dual-LLM session would otherwise pay (measured: first request 104 ms vs 5 ms later)."""
    build_policy(PolicySpec((LayerSpec("key", ()),)))


__all__ = ["ADDITIONAL_PRESETS", "Language", "LayerError", "LayerSpec", "Mode", "PolicySpec", "build_policy",
           "presets_to_json", "warm_up"]
