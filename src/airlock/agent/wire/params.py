"""Request parameters in dual-LLM mode: one table per API that is both the allow list and the mapping.

In dual-LLM mode no model answers the client directly: the planner (PLLM) writes a program and
the quarantined reader (QLLM) answers ``parse_with_ai``/``verify_hypothesis``. A request field
therefore either reaches one or both of those upstream calls, or is read by Airlock itself
(the conversation, the tools, streaming), or is honoured by what the engine already does (one
tool call per answer satisfies ``parallel_tool_calls``), or cannot apply. The last kind is a
400 naming the field: a client that asks for ``response_format`` or a hosted tool and silently
gets something else would act on an answer it did not ask for.

Which role gets what (the README's "Request parameters in dual-LLM mode" repeats it):

* sampling and budget — ``temperature``, ``top_p``, ``top_k``, ``seed``, ``max_tokens`` /
  ``max_completion_tokens`` / ``max_output_tokens``, ``reasoning_effort`` / ``reasoning`` /
  ``thinking`` — go to **both** roles: each is "the model" the client is paying for, and a cap
  or an effort level the QLLM ignored would bill the client for what it turned down;
* attribution — ``metadata``, ``user``, ``safety_identifier`` — goes to **both** roles, so every
  upstream call made for the request carries it;
* ``stop`` / ``stop_sequences`` go to the **PLLM only**: its text is the turn's answer, while a
  QLLM answer cut at a stop sequence would be invalid JSON and fail schema validation.

Values are checked here (types, ranges, enums) so a bad one is a precise 400 before any model
is called, and forwarded under the same name: the upstream call of a dual-LLM turn uses the
route's own API (every provider of a route serves that route's API, ``api.routing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from airlock.agent.wire.errors import WireError
from airlock.agent.wire.fields import kind_of
from airlock.providers.registry import ApiFormat

PLLM, QLLM, AUX = "pllm", "qllm", "aux"
BOTH = frozenset({PLLM, QLLM})
PLANNER = frozenset({PLLM})
Reader = Callable[[Any, str], Any]


@dataclass(frozen=True, slots=True)
class Param:
    """How one request field is handled. ``roles`` empty: Airlock itself reads or satisfies it
    (``check`` still validates it); otherwise the checked value is sent to those roles' calls."""

    check: Reader
    roles: frozenset[str] = frozenset()
    endpoint_types: frozenset[str] | None = None  # None: every endpoint type


@dataclass(slots=True)
class LlmParams:
    """The client's parameters per role, as body fields of ``api`` (the upstream call's API)."""

    api: ApiFormat
    by_role: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_role(self, role: str, api: ApiFormat) -> dict[str, Any]:
        """``role`` is PLLM, QLLM or AUX (the tool filter, plan selector and reviewer: helper calls
        that answer in JSON, so they get only what both roles get — never a stop sequence)."""
        if role == AUX:
            pllm, qllm = self.by_role.get(PLLM) or {}, self.by_role.get(QLLM) or {}
            fields = {k: v for k, v in pllm.items() if k in qllm}
        else:
            fields = self.by_role.get(role) or {}
        if fields and ApiFormat(api) is not self.api:
            # Cannot happen with today's routes (every provider of a route serves its API); fail
            # closed rather than drop the client's settings if a route ever translates.
            raise ValueError(f"request parameters of {self.api.value} cannot be sent to a {ApiFormat(api).value} call")
        return fields


# -- readers: each returns the checked value or raises WireError naming the field -------------


def _any(value: Any, param: str) -> Any:
    return value


def _number(lo: float, hi: float) -> Reader:
    def read(value: Any, param: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise WireError(param, f"expected a number from {lo:g} to {hi:g}, got {_show(value)}")
        return value
    return read


def _int(lo: int) -> Reader:
    def read(value: Any, param: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise WireError(param, f"expected an integer >= {lo}, got {_show(value)}")
        return value
    return read


def _bool(value: Any, param: str) -> Any:
    if not isinstance(value, bool):
        raise WireError(param, f"expected a boolean, got {kind_of(value)}")
    return value


def _one_of(*allowed: Any, why: str = "") -> Reader:
    def read(value: Any, param: str) -> Any:
        if value not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            raise WireError(param, f"expected one of {shown}, got {_show(value)}{why}")
        return value
    return read


def _string(value: Any, param: str) -> Any:
    if not isinstance(value, str) or not value:
        raise WireError(param, f"expected a non-empty string, got {kind_of(value)}")
    return value


def _strings(max_n: int, *, single: bool) -> Reader:
    def read(value: Any, param: str) -> Any:
        items = [value] if single and isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items) or len(items) > max_n:
            raise WireError(param, f"expected {'a string or ' if single else ''}a list of at most {max_n} non-empty strings")
        return value
    return read


def _str_map(value: Any, param: str) -> Any:
    if not isinstance(value, dict) or len(value) > 16 or not all(isinstance(v, str) for v in value.values()):
        raise WireError(param, "expected an object of at most 16 string values")
    return value


def _anthropic_metadata(value: Any, param: str) -> Any:
    if not isinstance(value, dict) or set(value) - {"user_id"} or not isinstance(value.get("user_id", ""), (str, type(None))):
        raise WireError(param, "expected an object with an optional string 'user_id'")
    return value


EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


def _thinking(value: Any, param: str) -> Any:
    if not isinstance(value, dict) or value.get("type") not in ("enabled", "disabled"):
        raise WireError(f"{param}.type", "expected 'enabled' or 'disabled'")
    if value["type"] == "enabled":
        _int(1024)(value.get("budget_tokens"), f"{param}.budget_tokens")
        extra = set(value) - {"type", "budget_tokens"}
    else:
        extra = set(value) - {"type"}
    if extra:
        raise WireError(f"{param}.{sorted(extra)[0]}", "unknown field")
    return value


def _reasoning(value: Any, param: str) -> Any:
    if not isinstance(value, dict):
        raise WireError(param, f"expected an object, got {kind_of(value)}")
    for key in value:
        if key == "effort":
            if value[key] is not None:
                _one_of(*EFFORTS)(value[key], f"{param}.effort")
        elif key in ("summary", "generate_summary"):
            if value[key] is not None:
                raise WireError(f"{param}.{key}", "reasoning summaries cannot apply in dual-LLM mode: the answer is "
                                                  "the program's result, no model's reasoning is returned")
        else:
            raise WireError(f"{param}.{key}", "unknown field")
    return value


def _stream_options(value: Any, param: str) -> Any:
    if value is None:
        return value
    if not isinstance(value, dict):
        raise WireError(param, f"expected an object, got {kind_of(value)}")
    for key in value:
        if key != "include_usage":
            raise WireError(f"{param}.{key}", "is not supported in dual-LLM mode")
        _bool(value[key], f"{param}.{key}")
    return value


_AUTO_ONLY = " (dual-LLM mode: the planner's program decides which tools run)"


def _anthropic_tool_choice(value: Any, param: str) -> Any:
    if not isinstance(value, dict) or value.get("type") != "auto":
        raise WireError(f"{param}.type", f"only 'auto' is supported{_AUTO_ONLY}")
    if set(value) - {"type", "disable_parallel_tool_use"}:
        raise WireError(param, "unknown field")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- the tables -----------------------------------------------------------------------------

_READ = Param(_any)  # parsed by wire.parse / the agent, with their own precise errors
_LANG_GRAPH = Param(_any, endpoint_types=frozenset({"lang-graph"}))  # the LangGraph executor's inputs
_TEMPERATURE, _TOP_P = Param(_number(0, 2), BOTH), Param(_number(0, 1), BOTH)
_MAX = Param(_int(1), BOTH)
# The sequrity client sends ``timeout`` in the body ("maximum request duration"): the dual-LLM
# agent holds the whole turn to it (a 504 past it, the session unchanged).
TIMEOUT = "timeout"
_TIMEOUT = Param(_number(0.001, 86400))

CHAT_PARAMS: dict[str, Param] = {
    "model": _READ, "messages": _READ, "tools": _READ, "stream": _READ,
    "stream_options": Param(_stream_options),
    "tool_choice": Param(_one_of(None, "auto", why=_AUTO_ONLY)),
    "parallel_tool_calls": Param(_bool),  # the engine emits one call per answer: satisfies both values
    "n": Param(_one_of(None, 1, why=" (dual-LLM mode runs one program per request)")),
    "temperature": _TEMPERATURE, "top_p": _TOP_P,
    "max_tokens": _MAX, "max_completion_tokens": _MAX,
    "reasoning_effort": Param(_one_of(*EFFORTS), BOTH),
    "seed": Param(_int(-(2**63)), BOTH),
    "stop": Param(_strings(4, single=True), PLANNER),
    "metadata": Param(_str_map, BOTH), "user": Param(_string, BOTH), "safety_identifier": Param(_string, BOTH),
    "user_provided_program": _LANG_GRAPH, "context_vars": _LANG_GRAPH, TIMEOUT: _TIMEOUT,
}

MESSAGES_PARAMS: dict[str, Param] = {
    "model": _READ, "messages": _READ, "tools": _READ, "stream": _READ, "system": _READ,
    "tool_choice": Param(_anthropic_tool_choice),
    "max_tokens": _MAX,
    "temperature": Param(_number(0, 1), BOTH), "top_p": _TOP_P, "top_k": Param(_int(1), BOTH),
    "thinking": Param(_thinking, BOTH),
    "stop_sequences": Param(_strings(64, single=False), PLANNER),
    "metadata": Param(_anthropic_metadata, BOTH),
    "user_provided_program": _LANG_GRAPH, "context_vars": _LANG_GRAPH, TIMEOUT: _TIMEOUT,
}

RESPONSES_PARAMS: dict[str, Param] = {
    "model": _READ, "input": _READ, "instructions": _READ, "tools": _READ, "stream": _READ,
    "previous_response_id": _READ,
    "tool_choice": Param(_one_of(None, "auto", why=_AUTO_ONLY)),
    "parallel_tool_calls": Param(_bool),
    "store": Param(_one_of(None, False, why=" (Airlock keeps the session itself; it does not store responses "
                                            "for retrieval, and previous_response_id works without it)")),
    "temperature": _TEMPERATURE, "top_p": _TOP_P, "max_output_tokens": _MAX,
    "reasoning": Param(_reasoning, BOTH),
    "metadata": Param(_str_map, BOTH), "user": Param(_string, BOTH), "safety_identifier": Param(_string, BOTH),
    TIMEOUT: _TIMEOUT,
}

PARAMS: dict[ApiFormat, dict[str, Param]] = {
    ApiFormat.CHAT_COMPLETIONS: CHAT_PARAMS,
    ApiFormat.MESSAGES: MESSAGES_PARAMS,
    ApiFormat.RESPONSES: RESPONSES_PARAMS,
}


def llm_params(api: ApiFormat | str, body: dict[str, Any], endpoint_type: str = "chat") -> LlmParams:
    """Check every field of a dual-LLM request body against the API's table; return what each
    role's upstream calls carry. Raises :class:`WireError` naming the first field that cannot apply."""
    api = ApiFormat(api)
    table = PARAMS[api]
    out = LlmParams(api, {PLLM: {}, QLLM: {}})
    for name, value in body.items():
        spec = table.get(name)
        if spec is None or (spec.endpoint_types is not None and endpoint_type not in spec.endpoint_types):
            raise WireError(name, f"is not supported in dual-LLM mode on the {api.value} API; Airlock rejects it "
                                  f"rather than ignore it (supported: {', '.join(sorted(k for k in table if _open(table[k], endpoint_type)))})")
        if value is None and spec.roles:
            continue  # an explicit null is "not given", as the providers read it
        checked = spec.check(value, name)
        for role in spec.roles:
            out.by_role[role][name] = checked
    return out


def _open(spec: Param, endpoint_type: str) -> bool:
    return spec.endpoint_types is None or endpoint_type in spec.endpoint_types


__all__ = ["AUX", "BOTH", "PLLM", "QLLM", "PARAMS", "PLANNER", "TIMEOUT", "LlmParams", "Param", "llm_params"]
