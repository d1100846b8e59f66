"""Pydantic models for the three configuration headers: ``X-Features``, ``X-Policy``, ``X-Config``.

The field names, enums and ranges follow the Sequrity Control reference (sequrity 0.4.2).
Two kinds of objects live here, and the difference matters for layering (see ``resolver``):

* **Settings objects** (``XFeatures``, ``XPolicy``, ``PolicyPresets``, ``XConfig``, ``FsmConfig``,
  the prompt sections, ``ResponseFormat``): every field defaults to ``None`` meaning "not given",
  so a header only overrides what it names. Server defaults live in ``defaults.py``.
* **Value objects** (``Classifier``, ``Blocker``, ``PolicyCode``, ``BranchingMetaPolicy``): they
  carry their own defaults and always replace the previous value as a whole, because mixing e.g.
  a header's policy code with a key's policy language would produce nonsense.

Every model forbids unknown fields and validates strictly (no ``"5"`` -> 5, no ``1`` -> ``true``):
a security configuration should fail loudly rather than guess. Models are frozen so a resolved
configuration cannot be changed by the code that consumes it.
"""

from __future__ import annotations

import re2
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_serializer, field_validator

AgentArch: TypeAlias = Literal["single-llm", "dual-llm"]
ClassifierName: TypeAlias = Literal[
    "pii_redaction", "toxicity_filter", "healthcare_topic_guardrail", "finance_topic_guardrail"
]
BlockerName: TypeAlias = Literal["url_blocker", "file_blocker"]
Enforcement: TypeAlias = Literal["hard", "soft"]
PolicyMode: TypeAlias = Literal["standard", "strict", "custom"]
PolicyLanguage: TypeAlias = Literal["sqrt", "cedar"]
InternalTool: TypeAlias = Literal["parse_with_ai", "verify_hypothesis", "set_policy", "complete_turn"]
DebugInfoLevel: TypeAlias = Literal["minimal", "normal", "extra"]
ClearSessionMeta: TypeAlias = Literal["never", "every_attempt", "every_turn"]
HistoryMismatchPolicy: TypeAlias = Literal["reject", "restart_turn", "continue"]
DetectToolErrors: TypeAlias = Literal["none", "regex", "llm"]
ToolResultTransform: TypeAlias = Literal["none", "codex"]
ContextVarVisibility: TypeAlias = Literal["none", "basic-notext", "basic-executable", "all-executable", "all"]
InlineRole: TypeAlias = Literal["assistant", "tool", "developer", "system"]


def _reduced_grammar(value: Any) -> Any:
    """The reference client sends a boolean; our server default is the string ``"text"`` (the
    reduced grammar rendered as text). Accept both; consumers test truthiness."""
    if value is None or isinstance(value, bool) or value == "text":
        return value
    raise ValueError("Input should be true, false or 'text'")


ReducedGrammar = Annotated[bool | str | None, BeforeValidator(_reduced_grammar)]
PositiveInt = Annotated[int, Field(ge=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --------------------------------------------------------------------------- X-Features


class Classifier(_Model):
    """A content classifier ("tagger") run on tool-call arguments and results."""

    name: ClassifierName
    threshold: float = Field(0.5, ge=0.0, le=1.0, allow_inf_nan=False)
    # Free text in the reference ("strict", "high sensitivity", ...); overrides the threshold.
    mode: str | None = None


class Blocker(_Model):
    """A content blocker ("constraint") that redacts URLs or file paths."""

    name: BlockerName


class XFeatures(_Model):
    """``X-Features``: architecture switch plus classifiers and blockers."""

    agent_arch: AgentArch | None = None
    content_classifiers: list[Classifier] | None = None
    content_blockers: list[Blocker] | None = None


# --------------------------------------------------------------------------- X-Policy


class BranchingMetaPolicy(_Model):
    """Which metadata may influence control flow (``if``/``while`` conditions) in dual-LLM."""

    mode: Literal["allow", "deny"] = "deny"
    producers: frozenset[str] = Field(default_factory=frozenset, strict=False)
    tags: frozenset[str] = Field(default_factory=frozenset, strict=False)
    consumers: frozenset[str] = Field(default_factory=frozenset, strict=False)

    @field_serializer("producers", "tags", "consumers")
    def _sorted(self, value: frozenset[str]) -> list[str]:
        return sorted(value)  # deterministic output for storage and comparison


class PolicyPresets(_Model):
    """Built-in policies the engine adds around the user's code."""

    default_allow: bool | None = None
    default_allow_enforcement_level: Enforcement | None = None
    enable_non_executable_memory: bool | None = None
    branching_meta_policy: BranchingMetaPolicy | None = None
    enable_llm_blocked_tag: bool | None = None
    llm_blocked_tag_enforcement_level: Enforcement | None = None


class PolicyCode(_Model):
    """User policy source and its language."""

    code: str = ""
    language: PolicyLanguage = "sqrt"


class XPolicy(_Model):
    """``X-Policy``: policy mode, code and engine behaviour."""

    mode: PolicyMode | None = None
    codes: PolicyCode | None = None
    auto_gen: bool | None = None
    fail_fast: bool | None = None
    presets: PolicyPresets | None = None

    @field_validator("codes", mode="before")
    @classmethod
    def _code_string(cls, value: Any) -> Any:
        """The REST docs show ``"codes": "<sqrt source>"``; treat a bare string as SQRT code."""
        return {"code": value} if isinstance(value, str) else value


# --------------------------------------------------------------------------- X-Config


def _check_regex(pattern: str) -> str:
    try:
        re2.compile(pattern)
    except re2.error as exc:
        # Tool results are untrusted text, so patterns run on RE2 (linear time); reject what it can't run.
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"invalid regular expression for RE2: {reason}") from None
    return pattern


Regex = Annotated[str, BeforeValidator(lambda v: _check_regex(v) if isinstance(v, str) else v)]


# FSM limits whose reference text gives ``null`` a meaning of its own ("If null, unlimited turns
# are allowed", "If null, no limit is enforced"; no clearing is the default of the N-attempts
# clearing): an explicit ``null`` there *is* the value, and it overrides a key's saved limit. Every
# other field reads ``null`` as "not given" (the reference's "When not set, the server default is").
NULL_IS_UNLIMITED: frozenset[str] = frozenset(
    {"max_n_turns", "max_tool_calls_per_step", "detect_tool_error_max_result_length", "clear_history_every_n_attempts"}
)
# Limits the reference gives no null meaning: "unlimited" would be unsafe and "the default" not
# what was asked, so an explicit ``null`` is a 400.
NULL_REJECTED: frozenset[str] = frozenset({"max_pllm_steps", "max_pllm_failed_steps"})


class FsmConfig(_Model):
    """Session state-machine knobs. The first three apply to both architectures, the rest to
    dual-LLM only (single-LLM ignores them, as the reference does). ``null`` handling:
    ``NULL_IS_UNLIMITED`` and ``NULL_REJECTED`` above."""

    min_num_tools_for_filtering: int | None = Field(None, ge=2)
    clear_session_meta: ClearSessionMeta | None = None
    max_n_turns: PositiveInt | None = None
    history_mismatch_policy: HistoryMismatchPolicy | None = None
    clear_history_every_n_attempts: PositiveInt | None = None
    disable_rllm: bool | None = None
    enable_multistep_planning: bool | None = None
    enabled_internal_tools: list[InternalTool] | None = None
    prune_failed_steps: bool | None = None
    force_to_cache: list[Regex] | None = None
    max_pllm_steps: PositiveInt | None = None
    max_pllm_failed_steps: PositiveInt | None = None
    max_tool_calls_per_step: PositiveInt | None = None
    reduced_grammar_for_rllm_review: ReducedGrammar = None
    retry_on_policy_violation: bool | None = None
    wrap_tool_result: bool | None = None
    detect_tool_errors: DetectToolErrors | None = None
    detect_tool_error_regex_pattern: Regex | None = None
    detect_tool_error_max_result_length: PositiveInt | None = None
    strict_tool_result_parsing: bool | None = None
    tool_result_transform: ToolResultTransform | None = None

    @field_validator(*sorted(NULL_REJECTED), mode="before")
    @classmethod
    def _no_null_limit(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("null is not allowed for this limit (the reference gives it no unlimited meaning); "
                             "give a number, or leave the field out for the server default")
        return value

    def explicit_nulls(self) -> list[str]:
        """The ``NULL_IS_UNLIMITED`` fields this object sets to ``null`` explicitly."""
        return sorted(n for n in NULL_IS_UNLIMITED & self.model_fields_set if getattr(self, n) is None)


class LlmPrompt(_Model):
    """Prompt template selection shared by every LLM role."""

    flavor: str | None = None
    version: str | None = None


class PllmPrompt(LlmPrompt):
    """Planning-LLM prompt: what the planner is shown of the conversation."""

    clarify_ambiguous_queries: bool | None = None
    context_var_visibility: ContextVarVisibility | None = None
    query_inline_roles: list[InlineRole] | None = None
    query_role_name_overrides: dict[str, str] | None = None
    query_include_tool_calls: bool | None = None
    query_include_tool_args: bool | None = None
    query_include_tool_results: bool | None = None
    debug_info_level: DebugInfoLevel | None = None


class RllmPrompt(LlmPrompt):
    """Review-LLM prompt."""

    debug_info_level: DebugInfoLevel | None = None


class TllmPrompt(LlmPrompt):
    """Tool-filtering LLM prompt."""

    add_tool_description: bool | None = None
    add_tool_input_schema: bool | None = None


class PromptConfig(_Model):
    """Per-LLM prompt overrides."""

    pllm: PllmPrompt | None = None
    rllm: RllmPrompt | None = None
    grllm: LlmPrompt | None = None
    qllm: LlmPrompt | None = None
    tllm: TllmPrompt | None = None
    tagllm: LlmPrompt | None = None
    policy_llm: LlmPrompt | None = None
    error_detector_llm: LlmPrompt | None = None


class ResponseFormat(_Model):
    """Dual-LLM response shaping. ``stream_thoughts`` is in the REST docs, not the client model."""

    strip_response_content: bool | None = None
    stream_thoughts: bool | None = None
    include_program: bool | None = None
    include_policy_check_history: bool | None = None
    include_namespace_snapshot: bool | None = None


class XConfig(_Model):
    """``X-Config``: fine-grained FSM, prompt and response-format settings."""

    fsm: FsmConfig | None = None
    prompt: PromptConfig | None = None
    response_format: ResponseFormat | None = None


HEADER_MODELS: dict[str, type[_Model]] = {"X-Features": XFeatures, "X-Policy": XPolicy, "X-Config": XConfig}
